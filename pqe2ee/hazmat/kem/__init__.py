"""Key-encapsulation mechanisms: classical, post-quantum and hybrid, one interface.

>>> from pqe2ee.hazmat.kem import get_kem
>>> kem = get_kem("X25519MLKEM768")
>>> pk, sk = kem.generate_keypair()
>>> ss, ct = kem.encapsulate(pk)
>>> kem.decapsulate(sk, ct) == ss
True

=====================  =======  =====  ======  ====  =====================================
name                   mode     pk     ct      ss    layout
=====================  =======  =====  ======  ====  =====================================
X25519                 classic  32     32      32    RFC 7748, DH as KEM
P-256 / P-384          classic  65/97  65/97   32/48 uncompressed point, x-coordinate
ML-KEM-512/768/1024    pq       FIPS 203 §8; sk = d || z (64)
X25519MLKEM768         hybrid   1216   1120    64    ML-KEM first (TLS 0x11EC)
SecP256r1MLKEM768      hybrid   1249   1153    64    P-256 first (TLS 0x11EB)
SecP384r1MLKEM1024     hybrid   1665   1665    80    P-384 first (TLS 0x11ED)
X-Wing                 hybrid   1216   1120    32    draft-connolly-cfrg-xwing-kem-10
=====================  =======  =====  ======  ====  =====================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pqe2ee.exceptions import UnsupportedAlgorithm
from pqe2ee.hazmat.kem._base import KEM, KEMPrivateKey, KEMPublicKey
from pqe2ee.hazmat.kem.concat import ConcatHybridKEM
from pqe2ee.hazmat.kem.dh import X25519KEM, p256, p384
from pqe2ee.hazmat.kem.mlkem import MLKEM
from pqe2ee.hazmat.kem.xwing import XWingKEM

__all__ = [
    "KEM",
    "KEMInfo",
    "KEMPrivateKey",
    "KEMPublicKey",
    "available_kems",
    "get_kem",
    "kem_names",
]

_Factory = Callable[[str | None], KEM[Any, Any]]

_FACTORIES: dict[str, _Factory] = {
    "X25519": lambda b: X25519KEM(),
    "P-256": lambda b: p256(),
    "P-384": lambda b: p384(),
    "ML-KEM-512": lambda b: MLKEM("ML-KEM-512", b),
    "ML-KEM-768": lambda b: MLKEM("ML-KEM-768", b),
    "ML-KEM-1024": lambda b: MLKEM("ML-KEM-1024", b),
    "X25519MLKEM768": lambda b: ConcatHybridKEM(
        "X25519MLKEM768", [MLKEM("ML-KEM-768", b), X25519KEM()], 0x11EC
    ),
    "SecP256r1MLKEM768": lambda b: ConcatHybridKEM(
        "SecP256r1MLKEM768", [p256(), MLKEM("ML-KEM-768", b)], 0x11EB
    ),
    "SecP384r1MLKEM1024": lambda b: ConcatHybridKEM(
        "SecP384r1MLKEM1024", [p384(), MLKEM("ML-KEM-1024", b)], 0x11ED
    ),
    "X-Wing": lambda b: XWingKEM(MLKEM("ML-KEM-768", b)),
}

_ALIASES = {
    "XWING": "X-Wing",
    "MLKEM768-X25519": "X-Wing",
    "MLKEM768X25519": "X-Wing",
    "X25519KYBER768": None,  # the pre-standard draft; refused explicitly below
}


def kem_names() -> list[str]:
    """Every KEM name pqe2ee knows, available here or not."""
    return list(_FACTORIES)


def _canonical(name: str) -> str:
    if name in _FACTORIES:
        return name
    key = name.upper().replace("_", "-")
    for known in _FACTORIES:
        if known.upper() == key:
            return known
    if key in _ALIASES:
        target = _ALIASES[key]
        if target is None:
            raise ValueError(f"{name} is a pre-standard draft KEM; use X25519MLKEM768")
        return target
    raise ValueError(f"unknown KEM {name!r}; known: {', '.join(_FACTORIES)}")


@cache
def _make(name: str, backend: str | None) -> KEM[Any, Any]:
    return _FACTORIES[name](backend)


def get_kem(name: str, *, backend: str | None = None) -> KEM[Any, Any]:
    """The KEM called ``name`` (case-insensitive), on ``backend`` or the first that has it.

    :raises ValueError: no KEM has that name.
    :raises UnsupportedAlgorithm: it exists but no (or not the named) backend runs it here.
    :raises BackendUnavailable: the named backend cannot be loaded here.
    """
    return _make(_canonical(name), backend)


@dataclass(frozen=True)
class KEMInfo:
    """One row of :func:`available_kems`: sizes, mode, who serves it, and why not."""

    name: str
    mode: str
    public_key_size: int
    private_key_size: int
    ciphertext_size: int
    shared_secret_size: int
    seed_size: int
    tls_group: int | None
    spec: str
    backend: str | None
    available: bool
    reason: str


_STATIC = {
    # sizes known without a backend, so unavailable rows can still show them
    "ML-KEM-512": ("pq", 800, 64, 768, 32, 64, 0x0200, "FIPS 203"),
}


def available_kems(*, backend: str | None = None) -> list[KEMInfo]:
    """Every known KEM, with whether it runs here and, if not, why."""
    rows = []
    for name in _FACTORIES:
        try:
            kem = get_kem(name, backend=backend)
        except UnsupportedAlgorithm as exc:
            mode, pk, sk, ct, ss, seed, group, spec = _STATIC.get(
                name, ("pq", 0, 0, 0, 0, 0, None, "")
            )
            rows.append(
                KEMInfo(name, mode, pk, sk, ct, ss, seed, group, spec, None, False, str(exc))
            )
            continue
        rows.append(
            KEMInfo(
                kem.name,
                kem.mode,
                kem.public_key_size,
                kem.private_key_size,
                kem.ciphertext_size,
                kem.shared_secret_size,
                kem.seed_size,
                kem.tls_group,
                kem.spec,
                kem.backend,
                True,
                "",
            )
        )
    return rows
