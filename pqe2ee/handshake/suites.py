"""Suites (KEM x authentication kind x AEAD) and the policy that orders them.

See docs/protocol.md §1.  A suite is named by three ``u16`` code points: the KEM by its
TLS NamedGroup (X-Wing by its HPKE id), the authentication kind by its TLS
SignatureScheme, the AEAD by its HPKE id.  ``require_pq`` drops every suite whose KEM
has no ML-KEM part; the signed transcript makes the offer tamper-evident (§8.5).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pqe2ee.hazmat import aead as _aead
from pqe2ee.hazmat.kem import REGISTRY as _KEM_REGISTRY

__all__ = [
    "AEAD_IDS",
    "AUTH_IDS",
    "KEM_IDS",
    "MODES",
    "AuthKind",
    "Policy",
    "Suite",
    "default_suites",
]

MODES = ("classical", "hybrid", "pq")

#: KEM name -> (handshake code point, mode), for every KEM the KEM registry
#: (:data:`pqe2ee.hazmat.kem.REGISTRY`) gives a handshake code point: hybrids first, then
#: pq, then classical, each in registry order.
KEM_IDS: dict[str, tuple[int, str]] = {
    e.name: (e.handshake_code, e.mode)
    for mode in ("hybrid", "pq", "classical")
    for e in _KEM_REGISTRY
    if e.mode == mode and e.handshake_code is not None
}

#: The KEM each mode uses unless told otherwise.
MODE_DEFAULT_KEM = {"classical": "X25519", "hybrid": "X25519MLKEM768", "pq": "ML-KEM-768"}


class AuthKind(enum.Enum):
    """How an identity proves itself: it signs (one classical scheme, one post-quantum,
    or both: hybrid), or, for ``kem``, it decapsulates (a static X-Wing key: only its
    holder derives the keys the peer encapsulated to it; docs/protocol.md §6.2)."""

    ED25519 = "ed25519"
    ML_DSA_65 = "ml-dsa-65"
    HYBRID = "hybrid"
    KEM = "kem"

    @property
    def code(self) -> int:
        """This kind's code point in a suite (§1)."""
        return AUTH_IDS[self]

    @property
    def post_quantum(self) -> bool:
        """Whether a signature of this kind resists a quantum computer (ML-DSA, alone
        or in the hybrid)."""
        return self is not AuthKind.ED25519

    @property
    def signs(self) -> bool:
        """Whether this kind authenticates by signature (IdentityVerify); ``kem``
        authenticates by decapsulation, confirmed by the Finished MAC."""
        return self is not AuthKind.KEM

    @classmethod
    def from_code(cls, code: int) -> AuthKind:
        """The kind with code point ``code``; :class:`ValueError` for an unknown one."""
        for kind, value in AUTH_IDS.items():
            if value == code:
                return kind
        raise ValueError(f"unknown authentication kind 0x{code:04x}")


AUTH_IDS: dict[AuthKind, int] = {
    AuthKind.ED25519: 0x0807,
    AuthKind.ML_DSA_65: 0x0905,
    AuthKind.HYBRID: 0xFE00,
    AuthKind.KEM: 0xFE01,
}

#: AEAD name -> code point (its HPKE AEAD id, from :mod:`pqe2ee.hazmat.aead`): the AEADs
#: the handshake offers, in this order of preference.
AEAD_IDS: dict[str, int] = {
    name: _aead.by_name(name).aead_id for name in ("chacha20-poly1305", "aes-256-gcm")
}

_KEM_BY_ID = {code: name for name, (code, _) in KEM_IDS.items()}
_AEAD_BY_ID = {code: name for name, code in AEAD_IDS.items()}


@dataclass(frozen=True)
class Suite:
    """One (KEM, authentication kind, AEAD) choice."""

    kem: str
    auth: AuthKind
    aead: str

    def __post_init__(self) -> None:
        if self.kem not in KEM_IDS:
            raise ValueError(f"KEM {self.kem!r} is not usable in a handshake")
        if self.aead not in AEAD_IDS:
            raise ValueError(f"unknown AEAD {self.aead!r}; choose from {', '.join(AEAD_IDS)}")

    # Derived once per suite: a server matches every suite of its policy against the
    # client's offer on each handshake.
    @functools.cached_property
    def mode(self) -> str:
        """``classical``, ``hybrid`` or ``pq``."""
        return KEM_IDS[self.kem][1]

    @functools.cached_property
    def has_pq(self) -> bool:
        """Whether the key exchange includes ML-KEM."""
        return self.mode != "classical"

    @functools.cached_property
    def codes(self) -> tuple[int, int, int]:
        """The suite's (KEM, auth, AEAD) code points, as on the wire (§1)."""
        return KEM_IDS[self.kem][0], self.auth.code, AEAD_IDS[self.aead]

    def encode(self) -> bytes:
        """The six bytes of the suite on the wire."""
        kem, auth, aead = self.codes
        return kem.to_bytes(2, "big") + auth.to_bytes(2, "big") + aead.to_bytes(2, "big")

    @classmethod
    def from_codes(cls, kem: int, auth: int, aead: int) -> Suite | None:
        """The suite for three code points, or None if any is unknown (peers may offer
        suites this version does not know; they are skipped, not an error)."""
        if kem not in _KEM_BY_ID or aead not in _AEAD_BY_ID:
            return None
        try:
            kind = AuthKind.from_code(auth)
        except ValueError:
            return None
        return cls(_KEM_BY_ID[kem], kind, _AEAD_BY_ID[aead])

    def __str__(self) -> str:
        return f"{self.kem}+{self.auth.value}+{self.aead}"


def default_suites(
    modes: Sequence[str] = ("hybrid", "pq", "classical"),
    auth: Iterable[AuthKind] = (
        AuthKind.ED25519,
        AuthKind.HYBRID,
        AuthKind.ML_DSA_65,
        AuthKind.KEM,
    ),
    aeads: Sequence[str] = ("chacha20-poly1305", "aes-256-gcm"),
) -> list[Suite]:
    """Every combination, ordered by mode, then KEM, then auth kind, then AEAD."""
    kinds = list(auth)
    out: list[Suite] = []
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        for kem, (_, kem_mode) in KEM_IDS.items():
            if kem_mode != mode:
                continue
            out.extend(Suite(kem, kind, aead) for kind in kinds for aead in aeads)
    return out


@dataclass(frozen=True)
class Policy:
    """Which suites a side accepts, best first, and what it insists on.

    :param suites: accepted suites in preference order (a server picks the first of its
        own list that the client offered).
    :param require_pq: refuse any suite without ML-KEM, with :class:`DowngradeError`.
    :param key_share_kems: KEMs a client sends a key share for up front (default: the
        KEM of its first suite); others cost a HelloRetryRequest round trip.
    :param accept_peer_auth: authentication kinds accepted from the peer's identity
        (default: any).
    :param allow_classical_client_identity: server: accept a classical (Ed25519) client
        identity even when this server authenticates post-quantum.  Off by default: a
        server whose own identity is post-quantum asks as much of its clients, since a
        forged classical client signature would otherwise be the weak link of mutual
        authentication (docs/protocol.md §5).
    """

    suites: tuple[Suite, ...] = field(default_factory=lambda: tuple(default_suites()))
    require_pq: bool = False
    key_share_kems: tuple[str, ...] = ()
    accept_peer_auth: frozenset[AuthKind] = frozenset(AuthKind)
    allow_classical_client_identity: bool = False

    def __post_init__(self) -> None:
        if not self.suites:
            raise ValueError("a policy needs at least one suite")
        if len(self.suites) > 64:
            raise ValueError("a policy may list at most 64 suites")
        if len(set(self.suites)) != len(self.suites):
            raise ValueError("a policy lists a suite twice")
        if self.require_pq and not any(s.has_pq for s in self.suites):
            raise ValueError("require_pq is set but no suite has ML-KEM")
        for kem in self.key_share_kems:
            if kem not in KEM_IDS:
                raise ValueError(f"KEM {kem!r} is not usable in a handshake")

    @classmethod
    def for_mode(
        cls,
        mode: str,
        auth: AuthKind | None = None,
        *,
        kem: str | None = None,
        require_pq: bool = False,
        aead: str | None = None,
    ) -> Policy:
        """A policy of one mode (``classical``, ``hybrid``, ``pq``), optionally one KEM,
        one auth kind and one AEAD: what the benchmarks and the CLI's ``--mode`` use."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        kem = kem or MODE_DEFAULT_KEM[mode]
        if KEM_IDS.get(kem, (0, ""))[1] != mode:
            raise ValueError(f"KEM {kem} is not a {mode} KEM")
        kinds = [auth] if auth else list(AuthKind)
        aeads = [aead] if aead else list(AEAD_IDS)
        suites = tuple(Suite(kem, k, a) for k in kinds for a in aeads)
        return cls(suites=suites, require_pq=require_pq)

    @classmethod
    def from_options(
        cls, mode: str | None = None, kem: str | None = None, require_pq: bool = False
    ) -> Policy:
        """The policy that ``--mode`` / ``--kem`` / ``--require-pq`` (or the same keys in a
        config file) ask for: one mode (optionally one KEM), or the default list.

        :raises ValueError: an unknown mode or KEM, or a KEM without a mode.
        """
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        if kem is not None and kem not in KEM_IDS:
            raise ValueError(f"unknown KEM {kem!r}; choose from {', '.join(KEM_IDS)}")
        if mode:
            return cls.for_mode(mode, kem=kem, require_pq=require_pq)
        if kem:
            raise ValueError("a KEM choice needs a mode (--mode, or mode in a config file)")
        return cls(require_pq=require_pq)

    def effective_suites(self) -> list[Suite]:
        """The suites this side will actually use (``require_pq`` applied)."""
        return list(self._effective)

    @functools.cached_property
    def _effective(self) -> tuple[Suite, ...]:
        return tuple(s for s in self.suites if s.has_pq or not self.require_pq)

    def share_kems(self) -> list[str]:
        """KEMs a client sends key shares for, at most four."""
        kems = list(self.key_share_kems) or [self.effective_suites()[0].kem]
        return kems[:4]
