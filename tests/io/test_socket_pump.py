"""The C socket pump (csrc/pump.c through pqe2ee.io.socket_pump): bytes both ways, half-close,
control records handed back to the Connection, the key-update limit, fail-closed opening,
wake, idle and reset.  Runs under ASan/UBSan too (`make sanitize`)."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from pqe2ee.exceptions import LocalProtocolError, RemoteProtocolError
from pqe2ee.handshake import (
    NEED_DATA,
    Config,
    Connection,
    ConnectionClosed,
    DataReceived,
    Policy,
)
from pqe2ee.handshake import record as rec
from pqe2ee.hazmat import core
from pqe2ee.hazmat import records as bulk
from pqe2ee.hazmat.pump import Pump, PumpBuffer, PumpFlag, PumpResult, PumpStatus
from pqe2ee.io.socket_pump import BUFFER_SIZE, Outcome, SideError, SocketPump
from tests.handshake.util import identity, pair, run

pytestmark = pytest.mark.skipif(not core.AVAILABLE, reason=core.ERROR)

WAIT = 30.0  # a bound for socket reads, so a broken pump fails a test instead of hanging


def established(aead: str = "chacha20-poly1305") -> tuple[Connection, Connection]:
    """A client and a server Connection past their handshake, events read."""
    policy = Policy(suites=tuple(s for s in Policy().suites if s.aead == aead))
    client, server = pair(Config(policy=policy), Config(identity=identity(), policy=policy))
    outcome = run(client, server)
    assert outcome.client_done and outcome.server_done
    return client, server


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Two ends of a loopback TCP connection (resets need TCP, not a socketpair)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
    return a, b


@dataclass
class Side:
    """One pump with its app socket (the plaintext peer) and its session socket."""

    pump: SocketPump
    app: socket.socket
    wire: socket.socket
    outcome: list[Any] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self, timeout: float | None = WAIT, wake_fd: int = -1) -> None:
        def main() -> None:
            try:
                self.outcome.append(self.pump.run(timeout, wake_fd))
            except Exception as exc:
                self.outcome.append(exc)

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()

    def result(self) -> Any:
        assert self.thread is not None
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the pump did not return"
        return self.outcome[0]


@contextmanager
def pumped(
    conn: Connection, *, tcp: bool = False, buffer_size: int = BUFFER_SIZE
) -> Iterator[tuple[Side, socket.socket]]:
    """A pump for ``conn`` (buffers of ``buffer_size``); yields it and the far end of its
    session socket."""
    make: Callable[[], tuple[socket.socket, socket.socket]] = tcp_pair if tcp else socket.socketpair
    app, plain = make()
    wire, far = make()
    for s in (app, far):
        s.settimeout(WAIT)
    side = Side(SocketPump(conn, plain, wire, buffer_size=buffer_size), app, wire)
    try:
        yield side, far
    finally:
        if side.thread is not None:
            side.thread.join(WAIT)
        side.pump.release()
        for s in (app, plain, wire, far):
            s.close()


def read_all(sock: socket.socket) -> bytes:
    out = bytearray()
    while chunk := sock.recv(1 << 20):
        out += chunk
    return bytes(out)


def events_from(conn: Connection, sock: socket.socket) -> list[Any]:
    """Feed ``conn`` everything ``sock`` delivers until its end; the events."""
    events: list[Any] = []
    while True:
        data = sock.recv(1 << 20)
        conn.receive_data(data)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, ConnectionClosed):
                return events
        if not data:  # pragma: no cover - next_event raised already
            return events


def data_of(events: list[Any]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, DataReceived))


# ------------------------------------------------------------------ two pumps, two apps
def test_two_pumps_carry_big_and_tiny_writes_both_ways_then_end_cleanly() -> None:
    client, server = established()
    big = os.urandom(3 * (1 << 20) + 7)
    with pumped(client) as (a, wire_a), pumped(server) as (b, wire_b):
        relay = [
            threading.Thread(target=_forward, args=(wire_a, wire_b), daemon=True),
            threading.Thread(target=_forward, args=(wire_b, wire_a), daemon=True),
        ]
        for t in relay:
            t.start()
        a.start()
        b.start()
        got: dict[str, bytes] = {}
        readers = [  # both apps read while they write: each direction is held back alone
            threading.Thread(target=lambda: got.update(b=read_all(b.app)), daemon=True),
            threading.Thread(target=lambda: got.update(a=read_all(a.app)), daemon=True),
        ]
        for t in readers:
            t.start()
        for i in range(200):  # tiny writes, one byte to a few
            a.app.sendall(bytes([i]) * (i % 5 + 1))
        a.app.sendall(big)
        a.app.shutdown(socket.SHUT_WR)
        b.app.sendall(big[::-1])
        for i in range(100):
            b.app.sendall(b"z" * (i % 3))
        b.app.shutdown(socket.SHUT_WR)
        for t in readers:
            t.join(WAIT)
        tiny = b"".join(bytes([i]) * (i % 5 + 1) for i in range(200))
        assert got["b"] == tiny + big
        assert got["a"] == big[::-1] + b"".join(b"z" * (i % 3) for i in range(100))
        assert a.result() is Outcome.DONE and b.result() is Outcome.DONE
        assert a.pump.to_session == len(tiny + big) == b.pump.to_plain
        # the Connections kept count: their sequence numbers moved with the pump's
        assert client._transport.write is not None and server._transport.read is not None
        assert client._transport.write.seq == server._transport.read.seq > 50


def _forward(src: socket.socket, dst: socket.socket) -> None:
    """The network between two pumps (end of stream passed on as a half-close)."""
    try:
        while data := src.recv(1 << 16):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# ------------------------------------------------------------------ one pump, a Python peer
def test_half_close_from_the_plain_side_sends_the_close_and_keeps_reading() -> None:
    client, server = established()
    with pumped(client) as (a, far):
        a.start()
        a.app.sendall(b"request")
        a.app.shutdown(socket.SHUT_WR)
        events = events_from(server, far)  # up to the close record
        assert data_of(events) == b"request"
        server.send_data(b"the answer, after the client's close")
        server.close()
        far.sendall(server.data_to_send())
        far.shutdown(socket.SHUT_WR)
        assert read_all(a.app) == b"the answer, after the client's close"
        assert a.result() is Outcome.DONE


def test_half_close_from_the_session_side_passes_a_fin_and_keeps_sending() -> None:
    client, server = established()
    with pumped(client) as (a, far):
        a.start()
        server.send_data(b"hello, then my close")
        server.close()
        far.sendall(server.data_to_send())
        assert read_all(a.app) == b"hello, then my close"  # the close became a FIN
        a.app.sendall(b"still going the other way")
        a.app.shutdown(socket.SHUT_WR)
        events = events_from(server, far)
        assert data_of(events) == b"still going the other way"
        far.shutdown(socket.SHUT_WR)
        assert a.result() is Outcome.DONE


def test_nothing_after_the_peers_close_reaches_the_plain_side() -> None:
    client, server = established()
    secret = b"SECRET-" + os.urandom(8).hex().encode()
    server.send_data(b"last words")
    server.close()
    assert server._transport.write is not None
    after = server._transport.write.seal(rec.INNER_DATA, secret)  # a peer that goes on anyway
    with pumped(client) as (a, far):
        a.start()
        far.sendall(server.data_to_send() + after)
        assert read_all(a.app) == b"last words"
        a.app.shutdown(socket.SHUT_WR)
        far.shutdown(socket.SHUT_WR)
        assert a.result() is Outcome.DONE


def test_key_update_mid_stream_goes_through_the_connection() -> None:
    client, server = established()
    assert client._transport.read is not None
    first_read_key = client._transport.read.lend(sending=False).key
    with pumped(client) as (a, far):
        a.start()
        server.send_data(b"before the update;")
        server.update_keys(request_peer=True)
        server.send_data(b"after it")
        far.sendall(server.data_to_send())
        assert _recv_exactly(a.app, 26) == b"before the update;after it"
        a.app.sendall(b"answer under the client's new key")
        a.app.shutdown(socket.SHUT_WR)
        events = events_from(server, far)
        assert data_of(events) == b"answer under the client's new key"
        server.close()
        far.sendall(server.data_to_send())
        assert read_all(a.app) == b""
        assert a.result() is Outcome.DONE
    assert client._transport.read.lend(sending=False).key != first_read_key
    assert (
        server._transport.read is not None and server._transport.read.seq > 0
    )  # it read the client's update


def test_the_send_limit_brings_a_key_update_from_python(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 4)  # a key update is due every 4 records
    payload = [os.urandom(100 + i) for i in range(12)]
    with pumped(client) as (a, far):
        a.start()
        for piece in payload:  # each write its own record, as the pump reads them
            a.app.sendall(piece)
            server.receive_data(far.recv(1 << 16))
        a.app.shutdown(socket.SHUT_WR)
        events = events_from(server, far)
        assert data_of(events) == b"".join(payload)
        server.close()
        far.sendall(server.data_to_send())
        assert a.result() is Outcome.DONE
    assert (
        client._transport.write is not None and client._transport.write.seq <= 4
    )  # rekeyed, more than once


def _run(
    pump: Pump, plain: socket.socket, wire: socket.socket, flags: PumpFlag, ms: int
) -> PumpResult:
    return pump.run(plain_fd=plain.fileno(), session_fd=wire.fileno(), flags=flags, timeout_ms=ms)


def test_the_core_stops_at_the_send_limit() -> None:
    pump = Pump("chacha20-poly1305", buffer_size=1 << 16)
    pump.set_key(sending=True, key=bytes(32), iv=bytes(12), seq=10, limit=12)
    app, plain = socket.socketpair()
    wire, far = socket.socketpair()
    try:
        plain.setblocking(False)
        wire.setblocking(False)
        for _ in range(2):
            app.sendall(b"x")
            result = _run(pump, plain, wire, PumpFlag.READ_PLAIN, 1000)
            if result.status is PumpStatus.SEND_LIMIT:
                break
            assert result.status is PumpStatus.TIMEOUT
        assert result.status is PumpStatus.SEND_LIMIT
        assert result.send_seq == 12
        assert pump.take_all(PumpBuffer.SESSION_OUT) == b""
    finally:
        pump.free()
        for s in (app, plain, wire, far):
            s.close()


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        assert chunk, "the stream ended early"
        out += chunk
    return bytes(out)


# ------------------------------------------------------------------ fail closed
def _two_records(server: Connection, secret: bytes) -> tuple[bytes, bytes]:
    server.send_data(b"authentic")
    first = server.data_to_send()
    server.send_data(secret)
    return first, server.data_to_send()


def _expect_failure(a: Side, far: socket.socket, wire_bytes: bytes, end: bool = False) -> bytes:
    a.start()
    far.sendall(wire_bytes)
    if end:
        far.shutdown(socket.SHUT_WR)
    error = a.result()
    assert isinstance(error, RemoteProtocolError), error
    a.app.setblocking(False)
    try:
        return a.app.recv(1 << 20)
    except BlockingIOError:
        return b""


def test_a_tampered_tag_delivers_nothing_of_that_record() -> None:
    client, server = established()
    secret = b"SECRET-" + os.urandom(8).hex().encode()
    first, second = _two_records(server, secret)
    tampered = second[:-1] + bytes([second[-1] ^ 1])  # the plaintext would decrypt fine
    with pumped(client) as (a, far):
        got = _expect_failure(a, far, first + tampered)
    assert secret not in got and got in (b"", b"authentic")


def test_a_bad_record_length_fails_closed() -> None:
    client, server = established()
    first, _ = _two_records(server, b"x")
    with pumped(client) as (a, far):
        got = _expect_failure(a, far, first + b"\x17\x00\x00\x05" + bytes(5))
    assert got in (b"", b"authentic")


def test_a_truncated_session_is_an_error_not_an_end() -> None:
    client, server = established()
    secret = b"SECRET-" + os.urandom(8).hex().encode()
    first, second = _two_records(server, secret)
    with pumped(client) as (a, far):
        got = _expect_failure(a, far, first + second[:-5], end=True)
    assert secret not in got


@pytest.mark.parametrize("seed", range(8))
def test_garbage_gives_only_remote_protocol_error(seed: int) -> None:
    client, _ = established()
    garbage = bytes((seed * 37 + i * 101) % 256 for i in range(300))
    with pumped(client) as (a, far):
        got = _expect_failure(a, far, garbage, end=True)
    assert got == b""


# ------------------------------------------------------------------ wake, idle, reset
def test_the_wake_fd_brings_the_pump_back() -> None:
    client, _ = established()
    wake_r, wake_w = os.pipe()
    try:
        with pumped(client) as (a, _far):
            a.start(timeout=None, wake_fd=wake_r)
            os.write(wake_w, b"!")
            assert a.result() is Outcome.WAKE
    finally:
        os.close(wake_r)
        os.close(wake_w)


def test_idle_for_the_timeout_returns() -> None:
    client, _ = established()
    with pumped(client) as (a, _far):
        a.start(timeout=0.05)
        assert a.result() is Outcome.TIMEOUT


def test_a_reset_on_the_plain_side_is_a_side_error() -> None:
    client, _ = established()
    with pumped(client, tcp=True) as (a, far):
        a.start()
        a.app.sendall(b"partial request")
        assert far.recv(100)  # the pump is carrying it
        a.app.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        a.app.close()
        error = a.result()
    assert isinstance(error, SideError) and error.side == "plain"
    assert isinstance(error.error, ConnectionResetError)


def test_a_reset_of_the_session_is_a_side_error() -> None:
    client, _ = established()
    with pumped(client, tcp=True) as (a, far):
        a.start()
        far.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        far.close()
        error = a.result()
    assert isinstance(error, SideError) and error.side == "session"


# ------------------------------------------------------------------ the hand-over
def test_bytes_the_connection_held_past_the_handshake_go_first() -> None:
    client, server = established()
    server.send_data(b"read ahead with the handshake;")
    client.receive_data(server.data_to_send())
    server.send_data(b"then from the socket")
    with pumped(client) as (a, far):
        a.start()
        far.sendall(server.data_to_send())
        assert _recv_exactly(a.app, 50) == b"read ahead with the handshake;then from the socket"
        server.close()
        far.sendall(server.data_to_send())
        a.app.shutdown(socket.SHUT_WR)
        assert read_all(a.app) == b""
        far.shutdown(socket.SHUT_WR)
        assert a.result() is Outcome.DONE


def test_only_an_established_healthy_connection_can_be_lent() -> None:
    client, server = pair(Config(), Config(identity=identity()))
    with pytest.raises(LocalProtocolError):
        client.lend_traffic_keys()  # no handshake yet
    run(client, server)
    client.receive_data(b"\x17\x00\x00\x05" + bytes(5))
    with pytest.raises(RemoteProtocolError):
        client.next_event()
    with pytest.raises(LocalProtocolError):
        client.lend_traffic_keys()  # failed


@pytest.mark.parametrize("aead", ["chacha20-poly1305", "aes-256-gcm"])
def test_both_aeads_round_trip(aead: str) -> None:
    client, server = established(aead)
    assert client.suite is not None and client.suite.aead == aead
    with pumped(client) as (a, far):
        a.start()
        server.send_data(b"down" * 5000)
        far.sendall(server.data_to_send())
        assert _recv_exactly(a.app, 20000) == b"down" * 5000
        a.app.sendall(b"up" * 5000)
        a.app.shutdown(socket.SHUT_WR)
        assert data_of(events_from(server, far)) == b"up" * 5000
        server.close()
        far.sendall(server.data_to_send())
        assert read_all(a.app) == b""
        assert a.result() is Outcome.DONE


def test_record_state_repr_has_no_key() -> None:
    client, _ = established()
    send, receive, _ = client.lend_traffic_keys()
    assert send is not None and receive is not None
    for state in (send, receive):
        assert state.key.hex() not in repr(state) and str(state.key) not in repr(state)


def test_binding_refuses_bad_pump_arguments() -> None:
    with pytest.raises(ValueError, match="record size"):
        Pump("chacha20-poly1305", record_size=0, buffer_size=1 << 16)
    with pytest.raises(ValueError, match="max frame"):
        Pump("chacha20-poly1305", max_frame=bulk.MAX_FRAME + 1, buffer_size=1 << 16)
    with pytest.raises(ValueError, match="buffer size"):
        Pump("chacha20-poly1305", buffer_size=100)
    with pytest.raises(ValueError, match="unknown cipher"):
        Pump("rot13", buffer_size=1 << 16)
    pump = Pump("aes-256-gcm", buffer_size=1 << 12)
    try:
        with pytest.raises(ValueError, match="key must be 32"):
            pump.set_key(sending=True, key=bytes(31), iv=bytes(12), seq=0, limit=1)
        with pytest.raises(ValueError, match="seq <= limit"):
            pump.set_key(sending=True, key=bytes(32), iv=bytes(12), seq=5, limit=4)
        assert pump.push(PumpBuffer.SESSION_OUT, b"x" * 100)
        assert not pump.push(PumpBuffer.SESSION_OUT, b"x" * (1 << 20))  # bounded
        assert pump.take_all(PumpBuffer.SESSION_OUT) == b"x" * 100
        with pytest.raises(ValueError, match="file descriptors"):
            pump.run(plain_fd=-1, session_fd=-1, flags=PumpFlag(0), timeout_ms=0)
    finally:
        pump.free()
    with pytest.raises(ValueError, match="freed"):
        pump.take_all(PumpBuffer.SESSION_OUT)


@pytest.mark.parametrize("aead", ["chacha20-poly1305", "aes-256-gcm"])
def test_the_core_reports_a_tag_failure_itself_and_keeps_no_plaintext(aead: str) -> None:
    """At the binding: ERR_TAG from the C loop (not a record handed back to Python), and
    fail closed: the plaintext not yet written (here the good record's too) is dropped."""
    sealer = rec.RecordCipher(aead, os.urandom(32))
    state = sealer.lend(sending=False)
    good = sealer.seal(rec.INNER_DATA, b"authentic")
    bad = sealer.seal(rec.INNER_DATA, b"SECRET")
    bad[-1] ^= 1
    pump = Pump(aead, buffer_size=1 << 16)
    app, plain = socket.socketpair()
    wire, far = socket.socketpair()
    try:
        pump.set_key(sending=False, key=state.key, iv=state.iv, seq=0, limit=(1 << 64) - 1)
        assert pump.push(PumpBuffer.SESSION_IN, bytes(good + bad))
        plain.setblocking(False)
        wire.setblocking(False)
        result = _run(pump, plain, wire, PumpFlag.READ_SESSION, 1000)
        assert result.status is PumpStatus.ERR_TAG
        assert result.recv_seq == 1 and result.pending_plain == 0
        app.setblocking(False)
        with pytest.raises(BlockingIOError):
            app.recv(100)
    finally:
        pump.free()
        for s in (app, plain, wire, far):
            s.close()


def test_records_from_python_still_fit_when_the_session_reader_stops() -> None:
    """A session reader that stops must not leave the close (or a key update) without
    room: the pump keeps 4 KiB of its session output for them."""
    pump = Pump("chacha20-poly1305", buffer_size=1 << 16)
    app, plain = socket.socketpair()
    wire, far = socket.socketpair()  # far never reads
    try:
        pump.set_key(sending=True, key=bytes(32), iv=bytes(12), seq=0, limit=1 << 40)
        for s in (app, plain, wire):
            s.setblocking(False)
        for _ in range(50):  # bounded: until every buffer on the way is full
            sent = 0
            with contextlib.suppress(BlockingIOError):
                for _ in range(1000):
                    sent += app.send(bytes(1 << 12))
            result = _run(pump, plain, wire, PumpFlag.READ_PLAIN, 100)
            assert result.status is PumpStatus.TIMEOUT
            if sent == 0 and result.plain_read == 0:
                break
        assert result.pending_session > 1 << 15  # stuck: the reader takes nothing
        assert pump.push(PumpBuffer.SESSION_OUT, bytes(4000))
    finally:
        pump.free()
        for s in (app, plain, wire, far):
            s.close()


# ------------------------------------------------------------------ hostile bytes, limits
HOSTILE = [bytes.fromhex("16005fff"), bytes.fromhex("15000002"), b"\x16"]


@pytest.mark.parametrize("junk", HOSTILE, ids=lambda b: b.hex())
def test_a_plaintext_frame_stops_the_pump_at_its_first_byte(junk: bytes) -> None:
    """Four unauthenticated bytes once made the pump and the Connection hand an
    incomplete frame back and forth forever, never polling: now the first byte fails the
    session, well within the pump's own timeout."""
    client, server = established()
    server.send_data(b"authentic")
    with pumped(client) as (a, far):
        a.start(timeout=5.0)  # a pump that waited for the body would time out instead
        far.sendall(server.data_to_send() + junk)
        error = a.result()
        assert isinstance(error, RemoteProtocolError), error
        assert "after keys were set" in str(error)
    with pytest.raises(RemoteProtocolError):
        client.next_event()  # the Connection itself failed, with its alert queued


def _core_pump(limit: int) -> Pump:
    pump = Pump("chacha20-poly1305", buffer_size=1 << 16)
    pump.set_key(sending=False, key=bytes(32), iv=bytes(12), seq=0, limit=limit)
    return pump


def _core_record(seq: int, content: bytes) -> bytes:
    out = bytearray(bulk.sealed_size(len(content)))
    bulk.seal_records(
        "chacha20-poly1305", bytes(32), bytes(12), content, out,
        first_seq=seq, inner_type=rec.INNER_DATA,
    )  # fmt: skip
    return bytes(out)


@contextmanager
def _core_sockets() -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    app, plain = socket.socketpair()
    wire, far = socket.socketpair()
    try:
        plain.setblocking(False)
        wire.setblocking(False)
        yield plain, wire, far
    finally:
        for s in (app, plain, wire, far):
            s.close()


def test_the_core_fails_on_a_byte_that_cannot_start_a_record() -> None:
    pump = _core_pump(1 << 40)
    try:
        with _core_sockets() as (plain, wire, far):
            far.sendall(b"\x16")
            result = _run(pump, plain, wire, PumpFlag.READ_SESSION, 5000)
            assert result.status is PumpStatus.ERR_TYPE
            assert result.buffered_session == 1  # left for the caller to report
    finally:
        pump.free()


def test_the_core_hands_back_only_whole_records_at_the_receive_limit() -> None:
    record = _core_record(1, b"past the limit")
    pump = _core_pump(1)
    try:
        with _core_sockets() as (plain, wire, far):
            far.sendall(_core_record(0, b"in time") + record[:9])
            result = _run(pump, plain, wire, PumpFlag.READ_SESSION, 300)
            # half a record past the limit is waited for (poll), not handed back
            assert result.status is PumpStatus.TIMEOUT
            assert result.opened_records == 1 and result.recv_seq == 1
            far.sendall(record[9:])
            result = _run(pump, plain, wire, PumpFlag.READ_SESSION, 5000)
            assert result.status is PumpStatus.RECV_LIMIT
            assert result.control_len == len(record)
            assert pump.take(PumpBuffer.SESSION_IN, len(record)) == record
    finally:
        pump.free()


def test_a_sender_that_never_updates_its_key_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 4)
    assert server._transport.write is not None
    wire_bytes = b"".join(
        bytes(server._transport.write.seal(rec.INNER_DATA, b"%d;" % i)) for i in range(6)
    )
    with pumped(client) as (a, far):
        a.start()
        far.sendall(wire_bytes)
        error = a.result()
        assert isinstance(error, RemoteProtocolError) and "usage limit" in str(error), error
        a.app.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            assert b"4;" not in a.app.recv(1 << 16)


def test_a_key_update_at_the_receive_limit_goes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 4)
    pieces = [b"%02d;" % i for i in range(14)]
    with pumped(client) as (a, far):
        a.start()
        for piece in pieces:  # the server updates its key every 4 records, honestly
            server.send_data(piece)
            far.sendall(server.data_to_send())
        assert _recv_exactly(a.app, 3 * len(pieces)) == b"".join(pieces)
        server.close()
        far.sendall(server.data_to_send())
        a.app.shutdown(socket.SHUT_WR)
        assert read_all(a.app) == b""
        assert a.result() is Outcome.DONE
