"""The pqe2ee handshake: a sans-IO, authenticated, hybrid post-quantum key exchange.

See docs/protocol.md for the wire format and the security argument.

>>> from pqe2ee.handshake import Config, Connection, Identity
>>> server = Connection(Config(identity=Identity.generate()), "server")
>>> client = Connection(Config(), "client")
"""

from pqe2ee.handshake.config import Config, PeerCheck
from pqe2ee.handshake.connection import Alert, Connection, FixedRandomness, Role, State
from pqe2ee.handshake.events import (
    NEED_DATA,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeComplete,
)
from pqe2ee.handshake.identity import (
    Identity,
    PublicIdentity,
    format_fingerprint,
    parse_fingerprint,
    safety_number,
)
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
    "PeerCheck",
    "Policy",
    "PublicIdentity",
    "Role",
    "State",
    "Suite",
    "default_suites",
    "format_fingerprint",
    "parse_fingerprint",
    "safety_number",
]
