"""The pqe2ee handshake: a sans-IO, authenticated, hybrid post-quantum key exchange.

See docs/protocol.md for the wire format and the security argument.

>>> from pqe2ee.handshake import Config, Connection, Identity
>>> server = Connection(Config(identity=Identity.generate()), "server")
>>> client = Connection(Config(), "client")
"""

from pqe2ee.handshake.config import Config
from pqe2ee.handshake.connection import Alert, Connection, FixedRandomness, Role, State
from pqe2ee.handshake.events import (
    NEED_DATA,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeComplete,
)
from pqe2ee.handshake.identity import Identity, PublicIdentity, parse_fingerprint, safety_number
from pqe2ee.handshake.keyfile import (
    load_identity,
    load_public_identity,
    save_identity,
    save_public_identity,
)
from pqe2ee.handshake.known_peers import KnownPeers, default_known_peers_path
from pqe2ee.handshake.suites import AuthKind, Policy, Suite, default_suites

__all__ = [
    "NEED_DATA",
    "Alert",
    "AuthKind",
    "Config",
    "Connection",
    "ConnectionClosed",
    "DataReceived",
    "Event",
    "FixedRandomness",
    "HandshakeComplete",
    "Identity",
    "KnownPeers",
    "Policy",
    "PublicIdentity",
    "Role",
    "State",
    "Suite",
    "default_known_peers_path",
    "default_suites",
    "load_identity",
    "load_public_identity",
    "parse_fingerprint",
    "safety_number",
    "save_identity",
    "save_public_identity",
]
