"""What the adapters hand the protocol: identities on disk and known peers.

The sans-IO handshake (:mod:`pqe2ee.handshake`) never opens a file; this package does,
and reaches the handshake only through ``Config(identity=...)`` and the
``Config(check_peer=...)`` callback (:meth:`KnownPeers.server_check`,
:meth:`KnownPeers.client_check`).
"""

from pqe2ee.trust.keyfile import (
    change_passphrase,
    is_protected,
    load_identity,
    load_public_identity,
    save_identity,
    save_public_identity,
)
from pqe2ee.trust.known_peers import (
    KnownPeer,
    KnownPeers,
    check_peer_name,
    default_known_peers_path,
)

__all__ = [
    "KnownPeer",
    "KnownPeers",
    "change_passphrase",
    "check_peer_name",
    "default_known_peers_path",
    "is_protected",
    "load_identity",
    "load_public_identity",
    "save_identity",
    "save_public_identity",
]
