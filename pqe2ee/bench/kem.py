"""KEM costs: key generation, encapsulation, decapsulation, public-key parsing.

Each operation is measured the way a protocol uses it: ``keygen`` makes a fresh key
pair (including the public-key bytes), ``encaps`` encapsulates to an already parsed
public key, ``decaps`` decapsulates with an already loaded private key, and ``parse``
validates received public-key bytes (for ML-KEM the FIPS 203 §7.2 check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pqe2ee.backends import BACKEND_NAMES, get_backend
from pqe2ee.bench.timing import Timing, interleaved
from pqe2ee.exceptions import BackendUnavailable, UnsupportedAlgorithm
from pqe2ee.hazmat.kem import KEM, get_kem, kem_names

OPS = ("keygen", "encaps", "decaps", "parse")


@dataclass(frozen=True)
class KEMResult:
    """The timing of one operation (``OPS``) of one KEM on one backend."""

    kem: str
    mode: str
    backend: str
    op: str
    timing: Timing


def kem_operations(kem: KEM[Any, Any]) -> dict[str, Callable[[], object]]:
    """The four operations of one KEM as zero-argument callables."""
    key = kem.generate()
    pk = key.public_key()
    pk_raw = pk.public_bytes_raw()
    pub = kem.from_public_bytes(pk_raw)
    _, ct = pub.encapsulate()
    return {
        "keygen": kem.generate_keypair,
        "encaps": pub.encapsulate,
        "decaps": lambda: key.decapsulate(ct),
        "parse": lambda: kem.from_public_bytes(pk_raw),
    }


def loadable_kems(
    names: Iterable[str] | None = None, backends: Iterable[str] | None = None
) -> list[KEM[Any, Any]]:
    """Every (KEM, backend) pair that runs here; classical KEMs once."""
    out: list[KEM[Any, Any]] = []
    seen: set[tuple[str, str]] = set()
    for backend in backends or BACKEND_NAMES:
        try:
            get_backend(backend)
        except BackendUnavailable:
            continue
        for name in names or kem_names():
            try:
                kem = get_kem(name, backend=backend)
            except UnsupportedAlgorithm:
                continue
            if (kem.name, kem.backend) not in seen:
                seen.add((kem.name, kem.backend))
                out.append(kem)
    return out


def measure(kems: list[KEM[Any, Any]], rounds: int = 15) -> list[KEMResult]:
    """Time every op of every KEM, all interleaved."""
    labels: list[tuple[KEM[Any, Any], str]] = []
    calls: list[Callable[[], object]] = []
    for kem in kems:
        for op, fn in kem_operations(kem).items():
            labels.append((kem, op))
            calls.append(fn)
    timings = interleaved(calls, rounds=rounds)
    return [
        KEMResult(kem.name, kem.mode, kem.backend, op, t)
        for (kem, op), t in zip(labels, timings, strict=True)
    ]
