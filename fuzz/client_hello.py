"""The server parsing what a client sends first: ClientHello (and the second hello
after a HelloRetryRequest), from arbitrary bytes cut at fuzz-chosen points.

Input: a byte that picks the server (modulo 4: the default policy with an Ed25519
identity; ``require_pq`` with a PSK and mutual authentication; a hybrid Ed25519 +
ML-DSA-65 identity; a ``kem`` identity asking for the client's, which opens early
identities and encapsulates to them), a control byte (bit 7: end the stream after the
bytes; bits 0-6: feed them in pieces of that many bytes, 0 = all at once), then the bytes
from the "client".

Properties: only :class:`Pqe2eeError` subclasses escape ``receive_data`` and
``next_event``; no event at all comes out (no bytes can complete a handshake whose
key exchange the server just made up, so never ``HandshakeComplete``); once the
connection failed it stays failed, raising the same error.
"""

from __future__ import annotations

from fuzz._common import Input, chunks
from pqe2ee.exceptions import Pqe2eeError
from pqe2ee.handshake import NEED_DATA, AuthKind, Config, Connection, Identity, Policy, State

#: Made once: the servers' signing keys come from fixed seeds.
SERVER_CONFIG = Config(identity=Identity(AuthKind.ED25519, [bytes(range(32))]))
PSK = bytes(range(100, 132))
SERVERS = (
    SERVER_CONFIG,
    Config(
        identity=SERVER_CONFIG.identity,
        policy=Policy(require_pq=True),
        require_client_identity=True,
        psk=PSK,
        psk_identity=b"psk-1",
    ),
    Config(identity=Identity(AuthKind.HYBRID, [bytes(range(32)), bytes(range(32, 64))])),
    Config(identity=Identity(AuthKind.KEM, [bytes(range(64, 96))]), require_client_identity=True),
)


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
    config = SERVERS[source.u8() % len(SERVERS)]
    control = source.u8()
    pieces = chunks(source.rest(), control & 0x7F)
    if control & 0x80:
        pieces.append(b"")  # the end of the stream
    server = Connection(config, "server")
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
