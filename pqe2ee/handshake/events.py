"""Events a :class:`~pqe2ee.handshake.Connection` hands to its caller (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

from pqe2ee.handshake.identity import PublicIdentity
from pqe2ee.handshake.suites import Suite

__all__ = ["NEED_DATA", "ConnectionClosed", "DataReceived", "Event", "HandshakeComplete"]


@dataclass(frozen=True)
class HandshakeComplete:
    """Both sides are authenticated as configured; application data may flow.

    :ivar suite: the negotiated suite.
    :ivar peer_identity: the peer's verified identity (None: a client that sent none).
    :ivar retried: whether a HelloRetryRequest round trip happened.
    """

    suite: Suite
    peer_identity: PublicIdentity | None
    retried: bool


@dataclass(frozen=True)
class DataReceived:
    """Authenticated application data from the peer."""

    data: bytes


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer sent its authenticated close: it will send nothing more."""


class _NeedData:
    """Sentinel: feed more bytes with ``receive_data`` before the next event."""

    _instance: _NeedData | None = None

    def __repr__(self) -> str:
        return "NEED_DATA"


#: What ``Connection.next_event()`` returns when it needs more bytes from the peer.
NEED_DATA = _NeedData()

#: Any event ``Connection.next_event()`` can return (besides ``NEED_DATA``).
Event = HandshakeComplete | DataReceived | ConnectionClosed
