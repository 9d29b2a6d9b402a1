"""Key-encapsulation mechanisms: classical, post-quantum and hybrid, one interface.

>>> from pqe2ee.hazmat.kem import get_kem
>>> kem = get_kem("X25519MLKEM768")
>>> key = kem.generate()                            # a KEMPrivateKey
>>> ss, ct = key.public_key().encapsulate()
>>> key.decapsulate(ct) == ss
True

=====================  =========  =====  ======  ====  ==========================================
name                   mode       pk     ct      ss    layout
=====================  =========  =====  ======  ====  ==========================================
X25519                 classical  32     32      32    RFC 7748, DH as KEM
P-256 / P-384          classical  65/97  65/97   32/48 uncompressed point, x-coordinate
ML-KEM-512/768/1024    pq         FIPS 203 §8; sk = d || z (64)
X25519MLKEM768         hybrid     1216   1120    64    ML-KEM first (TLS 0x11EC)
X-Wing                 hybrid     1216   1120    32    draft-connolly-cfrg-xwing-kem-10
SecP256r1MLKEM768      hybrid     1249   1153    64    P-256 first (TLS 0x11EB)
SecP384r1MLKEM1024     hybrid     1665   1665    80    P-384 first (TLS 0x11ED)
=====================  =========  =====  ======  ====  ==========================================

**One registry.**  :data:`REGISTRY` has one :class:`KEMEntry` per KEM: its name, class,
TLS NamedGroup, pqe2ee handshake code point and how to build it.  Everything else reads
it: :func:`get_kem`, :func:`kem_names`, :func:`available_kems`, and the handshake's
suite table (:data:`pqe2ee.handshake.suites.KEM_IDS`).  Adding a KEM means adding its
row here (and its class, if it is a new construction).

**Two ways to call a KEM**, one implementation (the bytes calls are one-line wrappers):

- *Key objects*, in ``cryptography``'s names: :meth:`KEM.generate`,
  :meth:`KEM.from_seed_bytes`, :meth:`KEM.from_public_bytes` give a
  :class:`KEMPrivateKey` / :class:`KEMPublicKey`, with ``encapsulate()``,
  ``decapsulate(ct)``, ``public_bytes_raw()``, ``private_bytes_raw()``.  A key is parsed
  and validated once (about 25 µs for ML-KEM), so use these for any key used more than
  once; every library caller (handshake, HPKE, age, benchmarks) does.
- *Bytes in, bytes out*: :meth:`KEM.generate_keypair`, :meth:`KEM.derive_keypair`,
  ``KEM.encapsulate(pk)``, ``KEM.decapsulate(sk, ct)``.  For one-shot use, interop and
  known-answer tests, where keys arrive and leave as bytes; each call parses its key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from pqe2ee.exceptions import UnsupportedAlgorithm
from pqe2ee.hazmat.kem._base import KEM, KEMPrivateKey, KEMPublicKey
from pqe2ee.hazmat.kem.concat import ConcatHybridKEM
from pqe2ee.hazmat.kem.dh import ECDHKEM, X25519KEM
from pqe2ee.hazmat.kem.mlkem import MLKEM, PARAMETER_SETS
from pqe2ee.hazmat.kem.xwing import XWingKEM

__all__ = [
    "KEM",
    "REGISTRY",
    "KEMEntry",
    "KEMInfo",
    "KEMPrivateKey",
    "KEMPublicKey",
    "available_kems",
    "get_kem",
    "kem_names",
]

_Build = Callable[[str, str | None], KEM[Any, Any]]


@dataclass(frozen=True)
class KEMEntry:
    """One KEM of the registry: what pqe2ee knows of it without building it.

    :param name: the canonical name, as :func:`get_kem` takes it.
    :param kind: the class its objects are; gives :attr:`mode` and :attr:`spec`.
    :param tls_group: its TLS NamedGroup code point, where there is one.
    :param handshake_code: its code point in pqe2ee's handshake (docs/protocol.md §1: the
        TLS group, or for X-Wing its HPKE KEM id), or None if the handshake does not
        offer it.
    :param build: ``build(name, backend)`` makes the KEM object on ``backend`` (None: the
        first backend that has it); raises :class:`UnsupportedAlgorithm` when none does.
    """

    name: str
    kind: type[KEM[Any, Any]]
    tls_group: int | None
    handshake_code: int | None
    build: _Build

    @property
    def mode(self) -> str:
        """``"classical"``, ``"pq"`` or ``"hybrid"``: what the key exchange rests on."""
        return self.kind.mode

    @property
    def spec(self) -> str:
        """Where the byte layout is defined."""
        return self.kind.spec


def _concat(*parts: str) -> _Build:
    """A TLS-style hybrid over registered KEMs, concatenated in this order."""
    return lambda name, b: ConcatHybridKEM(name, [_make(p, b) for p in parts])


#: Every KEM pqe2ee knows, available here or not.  Order matters: within a mode, the
#: handshake prefers the earlier KEM (it is the order of its suite list).
REGISTRY: tuple[KEMEntry, ...] = (
    KEMEntry("X25519", X25519KEM, 0x001D, 0x001D, lambda n, b: X25519KEM()),
    KEMEntry("P-256", ECDHKEM, 0x0017, None, lambda n, b: ECDHKEM(n, ec.SECP256R1())),
    KEMEntry("P-384", ECDHKEM, 0x0018, None, lambda n, b: ECDHKEM(n, ec.SECP384R1())),
    KEMEntry("ML-KEM-512", MLKEM, 0x0200, None, MLKEM),
    KEMEntry("ML-KEM-768", MLKEM, 0x0201, 0x0201, MLKEM),
    KEMEntry("ML-KEM-1024", MLKEM, 0x0202, 0x0202, MLKEM),
    KEMEntry("X25519MLKEM768", ConcatHybridKEM, 0x11EC, 0x11EC, _concat("ML-KEM-768", "X25519")),
    KEMEntry("X-Wing", XWingKEM, None, 0x647A, lambda n, b: XWingKEM(MLKEM("ML-KEM-768", b))),
    KEMEntry("SecP256r1MLKEM768", ConcatHybridKEM, 0x11EB, 0x11EB, _concat("P-256", "ML-KEM-768")),
    KEMEntry("SecP384r1MLKEM1024", ConcatHybridKEM, 0x11ED, None, _concat("P-384", "ML-KEM-1024")),
)
_ENTRIES = {e.name: e for e in REGISTRY}

_ALIASES = {
    "XWING": "X-Wing",
    "MLKEM768-X25519": "X-Wing",
    "MLKEM768X25519": "X-Wing",
    "X25519KYBER768": None,  # the pre-standard draft; refused explicitly below
}


def kem_names() -> list[str]:
    """Every KEM name pqe2ee knows, available here or not, in registry order."""
    return list(_ENTRIES)


def _canonical(name: str) -> str:
    if name in _ENTRIES:
        return name
    key = name.upper().replace("_", "-")
    for known in _ENTRIES:
        if known.upper() == key:
            return known
    if key in _ALIASES:
        target = _ALIASES[key]
        if target is None:
            raise ValueError(f"{name} is a pre-standard draft KEM; use X25519MLKEM768")
        return target
    raise ValueError(f"unknown KEM {name!r}; known: {', '.join(_ENTRIES)}")


@cache
def _make(name: str, backend: str | None) -> KEM[Any, Any]:
    return _ENTRIES[name].build(name, backend)


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


def _sizes_without_backend(entry: KEMEntry) -> tuple[int, int, int, int, int]:
    """``(pk, sk, ct, ss, seed)`` of a KEM no backend here runs, where known (ML-KEM's
    come from FIPS 203 §8), else zeros."""
    if entry.kind is MLKEM:
        _, pk, ct = PARAMETER_SETS[entry.name]
        return pk, MLKEM.private_key_size, ct, MLKEM.shared_secret_size, MLKEM.seed_size
    return 0, 0, 0, 0, 0


def available_kems(*, backend: str | None = None) -> list[KEMInfo]:
    """Every known KEM, with whether it runs here and, if not, why."""
    rows = []
    for entry in REGISTRY:
        try:
            kem = get_kem(entry.name, backend=backend)
        except UnsupportedAlgorithm as exc:
            pk, sk, ct, ss, seed = _sizes_without_backend(entry)
            rows.append(
                KEMInfo(
                    entry.name,
                    entry.mode,
                    pk,
                    sk,
                    ct,
                    ss,
                    seed,
                    entry.tls_group,
                    entry.spec,
                    None,
                    False,
                    str(exc),
                )
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
                entry.tls_group,
                kem.spec,
                kem.backend,
                True,
                "",
            )
        )
    return rows
