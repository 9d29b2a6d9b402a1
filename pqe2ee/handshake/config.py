"""What one side brings to a handshake: identity, policy, pins, PSK, channel binding."""

from __future__ import annotations

from dataclasses import dataclass, field

from pqe2ee.exceptions import IdentityRejected
from pqe2ee.handshake.identity import Identity, PublicIdentity
from pqe2ee.handshake.known_peers import KnownPeers, check_peer_name
from pqe2ee.handshake.suites import Policy

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """Configuration of one side of a connection.

    :param identity: this side's signing identity (required for a server; a client
        needs one only when the server asks for it).
    :param policy: accepted suites and ``require_pq``.
    :param peer_fingerprints: when non-empty, the peer's identity must have one of these
        fingerprints (pinning); otherwise any identity that verifies is accepted, subject
        to ``known_peers``.
    :param known_peers: a trust-on-first-use file.  With ``peer_name`` the peer is
        filed under that name (a client filing its server under ``"host:port"``,
        :meth:`KnownPeers.check`); without, by fingerprint (a server's clients, which
        send no name and whose address is no name: :meth:`KnownPeers.check_client`;
        the server must then set ``require_client_identity``, or an anonymous client
        would never be checked).
    :param peer_name: the name the peer is filed under (e.g. ``"host:port"``).
    :param accept_new_peers: with ``known_peers`` and no ``peer_name``: record every
        client not yet in the file, instead of only the first one into an empty file.
    :param require_client_identity: server: ask the client to authenticate (mutual auth).
    :param psk: optional pre-shared key mixed into the first HKDF-Extract (32+ bytes).
    :param psk_identity: the name both sides know the PSK by (sent in the clear).
    :param channel_binding: optional bytes both sides know (e.g. an outer TLS
        exporter value); they seed the transcript, so a mismatch fails the handshake.
    """

    identity: Identity | None = None
    policy: Policy = field(default_factory=Policy)
    peer_fingerprints: frozenset[bytes] = frozenset()
    known_peers: KnownPeers | None = None
    peer_name: str | None = None
    accept_new_peers: bool = False
    require_client_identity: bool = False
    psk: bytes | None = None
    psk_identity: bytes = b""
    channel_binding: bytes = b""

    def __post_init__(self) -> None:
        if self.psk is not None and len(self.psk) < 32:
            raise ValueError("a pre-shared key must be at least 32 bytes")
        if (self.psk is None) != (self.psk_identity == b""):
            raise ValueError("psk and psk_identity go together")
        if len(self.psk_identity) > 255:
            raise ValueError("psk_identity must be at most 255 bytes")
        if any(len(fp) != 32 for fp in self.peer_fingerprints):
            raise ValueError("peer fingerprints are 32 bytes (see parse_fingerprint)")
        if self.peer_name is not None:
            check_peer_name(self.peer_name)
        if self.accept_new_peers and (self.known_peers is None or self.peer_name is not None):
            raise ValueError("accept_new_peers needs known_peers without a peer_name")

    def check_for(self, role: str) -> None:
        """Refuse a configuration that cannot work in ``role``."""
        if role != "server":
            if self.known_peers is not None and not self.peer_name:
                raise ValueError(
                    "a client's known_peers needs a peer_name to file the server under"
                )
            return
        if self.known_peers is not None and not self.require_client_identity:
            raise ValueError(
                "a server with known_peers must set require_client_identity: "
                "an anonymous client would never be checked against the file"
            )
        if self.identity is None:
            raise ValueError("a server needs an identity")
        kind = self.identity.kind
        if not any(s.auth is kind for s in self.policy.effective_suites()):
            raise ValueError(f"the server's policy has no suite for a {kind.value} identity")

    def check_peer(self, identity: PublicIdentity) -> None:
        """Accept the peer's verified identity, or raise.

        :raises IdentityRejected: a kind not accepted, not a pinned fingerprint, or
            (:class:`KnownPeerMismatch`) not what the known-peers file says.
        :raises TrustStoreError: the known-peers file could not be read or written; the
            peer is not accepted.
        """
        if identity.kind not in self.policy.accept_peer_auth:
            raise IdentityRejected(f"peer identity kind {identity.kind.value} is not accepted")
        if self.peer_fingerprints and identity.fingerprint() not in self.peer_fingerprints:
            raise IdentityRejected(
                f"peer identity {identity.fingerprint().hex()} is not the pinned one"
            )
        if self.known_peers is None:
            return
        if self.peer_name is not None:
            self.known_peers.check(self.peer_name, identity)
        else:
            self.known_peers.check_client(identity, accept_new=self.accept_new_peers)
