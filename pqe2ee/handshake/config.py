"""What one side brings to a handshake: identity, policy, pins, PSK, channel binding.

Nothing here touches a file: a trust store (``pqe2ee.trust.KnownPeers``) reaches the
handshake only as a ``check_peer`` callback supplied by the layer that owns the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pqe2ee.exceptions import IdentityRejected
from pqe2ee.handshake.identity import Identity, PublicIdentity
from pqe2ee.handshake.suites import AuthKind, Policy
from pqe2ee.hazmat.padding import NO_PADDING, Padding

__all__ = ["Config", "PeerCheck"]

#: A policy callback the adapter supplies: called once per handshake with the peer's
#: identity after its signature has verified; returns to accept, raises
#: :class:`~pqe2ee.exceptions.IdentityRejected` to refuse (the peer gets an
#: ``identity refused`` alert) or :class:`~pqe2ee.exceptions.TrustStoreError` when it
#: could not decide (fail closed: an ``internal error`` alert).
PeerCheck = Callable[[PublicIdentity], object]


@dataclass(frozen=True)
class Config:
    """Configuration of one side of a connection.

    :param identity: this side's signing identity (required for a server; a client
        needs one only when the server asks for it).
    :param policy: accepted suites and ``require_pq``.
    :param peer_fingerprints: when non-empty, the peer's identity must have one of these
        fingerprints (pinning); otherwise any identity that verifies is accepted, subject
        to ``check_peer``.
    :param check_peer: a :data:`PeerCheck` run on the peer's verified identity after
        the pins, e.g. a known-peers file's ``KnownPeers.server_check("host:port")``
        (client) or ``KnownPeers.client_check()`` (server, which must then set
        ``require_client_identity``, or an anonymous client would never be checked).
    :param require_client_identity: server: ask the client to authenticate (mutual auth).
    :param psk: optional pre-shared key mixed into the first HKDF-Extract (32+ bytes).
    :param psk_identity: the name both sides know the PSK by (sent in the clear).
    :param channel_binding: optional bytes both sides know (e.g. an outer TLS
        exporter value); they seed the transcript, so a mismatch fails the handshake.
    :param server_identity: client: the server's ``kem`` identity when it is known in
        advance (pinned, or from known peers): the client encapsulates to it in its
        first flight, so the server authenticates without an extra round trip, and a
        server that then picks any other authentication kind is refused as a downgrade
        (docs/protocol.md §6.2).
    :param padding: how this side pads the encrypted records it sends (docs/protocol.md
        §10): a :class:`~pqe2ee.hazmat.padding.Padding` or its text (``"none"``, the
        default; ``"padme"``; ``"block:N"``), kept as a ``Padding``.  Sender-only: the
        peer strips padding whatever its own policy.
    """

    identity: Identity | None = None
    policy: Policy = field(default_factory=Policy)
    peer_fingerprints: frozenset[bytes] = frozenset()
    check_peer: PeerCheck | None = None
    require_client_identity: bool = False
    psk: bytes | None = None
    psk_identity: bytes = b""
    channel_binding: bytes = b""
    server_identity: PublicIdentity | None = None
    padding: Padding | str = NO_PADDING

    def __post_init__(self) -> None:
        object.__setattr__(self, "padding", Padding.of(self.padding))
        if self.server_identity is not None:
            if self.server_identity.kind.signs:
                raise ValueError(
                    "server_identity is for kem identities (a signing server's key is "
                    "learnt in the handshake; pin it with peer_fingerprints)"
                )
            if not any(s.auth is AuthKind.KEM for s in self.policy.effective_suites()):
                raise ValueError("server_identity needs a policy with a kem suite")
        if self.psk is not None and len(self.psk) < 32:
            raise ValueError("a pre-shared key must be at least 32 bytes")
        if (self.psk is None) != (self.psk_identity == b""):
            raise ValueError("psk and psk_identity go together")
        if len(self.psk_identity) > 255:
            raise ValueError("psk_identity must be at most 255 bytes")
        if any(len(fp) != 32 for fp in self.peer_fingerprints):
            raise ValueError("peer fingerprints are 32 bytes (see parse_fingerprint)")

    def check_for(self, role: str) -> None:
        """Refuse a configuration that cannot work in ``role``."""
        if role != "server":
            return
        if self.check_peer is not None and not self.require_client_identity:
            raise ValueError(
                "a server with check_peer must set require_client_identity: "
                "an anonymous client would never be checked"
            )
        if self.identity is None:
            raise ValueError("a server needs an identity")
        kind = self.identity.kind
        if not any(s.auth is kind for s in self.policy.effective_suites()):
            raise ValueError(f"the server's policy has no suite for a {kind.value} identity")

    def accept_peer(self, identity: PublicIdentity) -> None:
        """Accept the peer's verified identity, or raise: kind, pins, then ``check_peer``.

        :raises IdentityRejected: a kind not accepted, not a pinned fingerprint, or
            refused by ``check_peer`` (e.g. :class:`KnownPeerMismatch`).
        :raises TrustStoreError: ``check_peer`` could not decide; the peer is not accepted.
        """
        if identity.kind not in self.policy.accept_peer_auth:
            raise IdentityRejected(f"peer identity kind {identity.kind.value} is not accepted")
        if self.peer_fingerprints and identity.fingerprint() not in self.peer_fingerprints:
            raise IdentityRejected(
                f"peer identity {identity.fingerprint_hex()} is not the pinned one"
            )
        if self.check_peer is not None:
            self.check_peer(identity)
