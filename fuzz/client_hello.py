"""The server parsing what a client sends first: ClientHello (and the second hello
after a HelloRetryRequest), from arbitrary bytes cut at fuzz-chosen points.

Input: one control byte (bit 7: end the stream after the bytes; bits 0-6: feed them in
pieces of that many bytes, 0 = all at once), then the bytes from the "client".

Properties: only :class:`Pqe2eeError` subclasses escape ``receive_data`` and
``next_event``; no event at all comes out (no bytes can complete a handshake whose
key exchange the server just made up, so never ``HandshakeComplete``); once the
connection failed it stays failed, raising the same error.
"""

from __future__ import annotations

from fuzz._common import Input, chunks
from pqe2ee.exceptions import Pqe2eeError
from pqe2ee.handshake import NEED_DATA, AuthKind, Config, Connection, Identity, State

#: Made once: the server's signing key (Ed25519 from a fixed seed is cheap and fixed).
SERVER_CONFIG = Config(identity=Identity(AuthKind.ED25519, [bytes(range(32))]))


def _check_failed(server: Connection, error: Pqe2eeError) -> None:
    assert server.state is State.ERROR, server.state
    for again in (lambda: server.receive_data(b"x"), server.next_event):
        try:
            again()
        except Pqe2eeError as exc:
            assert exc is error, (exc, error)
        else:
            raise AssertionError("a failed connection accepted more")


def test_one_input(data: bytes) -> None:
    source = Input(data)
    control = source.u8()
    pieces = chunks(source.rest(), control & 0x7F)
    if control & 0x80:
        pieces.append(b"")  # the end of the stream
    server = Connection(SERVER_CONFIG, "server")
    for piece in pieces:
        try:
            server.receive_data(piece)
            event = server.next_event()
        except Pqe2eeError as exc:
            _check_failed(server, exc)
            return
        assert event is NEED_DATA, f"an event from client bytes: {event!r}"
        assert not server.handshake_complete
        server.data_to_send()
