"""The handshake's states and its transition table, as data (in the style of h11's
``_state.py``).

:data:`TRANSITIONS` lists, for each state, the handshake messages accepted there and the
states each may lead to.  Everything it does not list is refused: the connection moves
to ``ERROR`` and the peer gets an ``unexpected message`` alert.  The handlers that act on
a message (:mod:`pqe2ee.handshake.client`, :mod:`~pqe2ee.handshake.server`,
:mod:`~pqe2ee.handshake.peer_auth`) return the next state, which must be one listed here;
a handler that raises changes no state, so a refused message leaves no trace.
"""

from __future__ import annotations

import enum

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import messages as m

__all__ = [
    "PLAINTEXT_MESSAGES",
    "TRANSITIONS",
    "Alert",
    "Fail",
    "Role",
    "State",
    "fail",
]


class Role(enum.Enum):
    """Which side of the connection this is: the client sends the first flight."""

    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Where a connection is.  ``CONNECTED`` carries application data both ways."""

    CLIENT_WAIT_SH = enum.auto()
    CLIENT_WAIT_EE = enum.auto()
    CLIENT_WAIT_EARLY_KEM_CT = enum.auto()
    CLIENT_WAIT_IDENTITY = enum.auto()
    CLIENT_WAIT_IDENTITY_VERIFY = enum.auto()
    CLIENT_WAIT_FINISHED = enum.auto()
    CLIENT_WAIT_KEM_CT = enum.auto()
    SERVER_WAIT_CH = enum.auto()
    SERVER_WAIT_CH2 = enum.auto()
    SERVER_WAIT_KEM_CT = enum.auto()
    SERVER_WAIT_IDENTITY = enum.auto()
    SERVER_WAIT_IDENTITY_VERIFY = enum.auto()
    SERVER_WAIT_FINISHED = enum.auto()
    CONNECTED = enum.auto()
    CLOSED = enum.auto()
    ERROR = enum.auto()


class Alert(enum.IntEnum):
    """Alert codes (docs/protocol.md §7)."""

    HANDSHAKE_FAILURE = 1
    NO_COMMON_SUITE = 2
    DOWNGRADE = 3
    IDENTITY_REFUSED = 4
    DECODE_ERROR = 5
    BAD_RECORD_MAC = 6
    INTERNAL_ERROR = 7
    UNKNOWN_PSK = 8
    UNEXPECTED_MESSAGE = 9
    PROTOCOL_VERSION = 10


_S = State

#: (state, handshake message type) -> the states handling that message may lead to.
#: Nothing else is accepted anywhere.
TRANSITIONS: dict[tuple[State, int], frozenset[State]] = {
    (_S.CLIENT_WAIT_SH, m.MSG_HELLO_RETRY): frozenset({_S.CLIENT_WAIT_SH}),
    (_S.CLIENT_WAIT_SH, m.MSG_SERVER_HELLO): frozenset({_S.CLIENT_WAIT_EE}),
    # a server known by its kem identity sends no Identity: straight to its Finished
    # (or, having asked for the client's early identity, a KemCiphertext first)
    (_S.CLIENT_WAIT_EE, m.MSG_ENCRYPTED_EXTENSIONS): frozenset(
        {_S.CLIENT_WAIT_IDENTITY, _S.CLIENT_WAIT_EARLY_KEM_CT, _S.CLIENT_WAIT_FINISHED}
    ),
    (_S.CLIENT_WAIT_EARLY_KEM_CT, m.MSG_KEM_CIPHERTEXT): frozenset({_S.CLIENT_WAIT_FINISHED}),
    # a kem server's Identity is answered with a KemCiphertext, then its Finished
    (_S.CLIENT_WAIT_IDENTITY, m.MSG_IDENTITY): frozenset(
        {_S.CLIENT_WAIT_IDENTITY_VERIFY, _S.CLIENT_WAIT_FINISHED}
    ),
    (_S.CLIENT_WAIT_IDENTITY_VERIFY, m.MSG_IDENTITY_VERIFY): frozenset({_S.CLIENT_WAIT_FINISHED}),
    # a client with a kem identity sends it and waits for the server's KemCiphertext
    (_S.CLIENT_WAIT_FINISHED, m.MSG_FINISHED): frozenset({_S.CONNECTED, _S.CLIENT_WAIT_KEM_CT}),
    (_S.CLIENT_WAIT_KEM_CT, m.MSG_KEM_CIPHERTEXT): frozenset({_S.CONNECTED}),
    (_S.SERVER_WAIT_CH, m.MSG_CLIENT_HELLO): frozenset(
        {
            _S.SERVER_WAIT_CH2,
            _S.SERVER_WAIT_KEM_CT,
            _S.SERVER_WAIT_IDENTITY,
            _S.SERVER_WAIT_FINISHED,
        }
    ),
    (_S.SERVER_WAIT_CH2, m.MSG_CLIENT_HELLO): frozenset(
        {_S.SERVER_WAIT_KEM_CT, _S.SERVER_WAIT_IDENTITY, _S.SERVER_WAIT_FINISHED}
    ),
    (_S.SERVER_WAIT_KEM_CT, m.MSG_KEM_CIPHERTEXT): frozenset(
        {_S.SERVER_WAIT_IDENTITY, _S.SERVER_WAIT_FINISHED}
    ),
    (_S.SERVER_WAIT_IDENTITY, m.MSG_IDENTITY): frozenset(
        {_S.SERVER_WAIT_IDENTITY_VERIFY, _S.SERVER_WAIT_FINISHED}
    ),
    # a client that has no identity to send goes straight to Finished: always refused
    (_S.SERVER_WAIT_IDENTITY, m.MSG_FINISHED): frozenset(),
    (_S.SERVER_WAIT_IDENTITY_VERIFY, m.MSG_IDENTITY_VERIFY): frozenset({_S.SERVER_WAIT_FINISHED}),
    (_S.SERVER_WAIT_FINISHED, m.MSG_FINISHED): frozenset({_S.CONNECTED}),
}

#: The messages sent in the clear, one per frame; every other one is encrypted.
PLAINTEXT_MESSAGES = frozenset({m.MSG_CLIENT_HELLO, m.MSG_HELLO_RETRY, m.MSG_SERVER_HELLO})


class Fail(Exception):
    """Internal: a refusal on its way to :meth:`Connection.next_event`, which turns it
    into the alert for the peer and the exception of class ``cls`` for the caller."""

    def __init__(self, alert: Alert, message: str, cls: type[RemoteProtocolError]) -> None:
        super().__init__(message)
        self.alert = alert
        self.cls = cls


def fail(alert: Alert, message: str, cls: type[RemoteProtocolError] = RemoteProtocolError) -> Fail:
    """A :class:`Fail` to raise: ``alert`` to the peer, ``cls(message)`` to the caller."""
    return Fail(alert, message, cls)
