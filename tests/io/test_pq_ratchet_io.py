"""The post-quantum ratchet (docs/protocol.md §9) through the adapters: the C socket pump
on both ends driving steps while data flows both ways (whole and in tiny pieces), the
pump's byte budget, SecureSocket and the asyncio streams, and the automatic triggers."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from typing import Any

import pytest

from pqe2ee.exceptions import LocalProtocolError
from pqe2ee.handshake import Config, Connection, DataReceived
from pqe2ee.handshake.record import MAX_PLAINTEXT
from pqe2ee.hazmat import core
from pqe2ee.io import aio, wrap_socket
from pqe2ee.io.pq_rekey import PqRekeyTrigger
from pqe2ee.io.socket_pump import Outcome, SocketPump
from tests.handshake.util import identity
from tests.io.test_socket_pump import established, read_all

WAIT = 30.0


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except BlockingIOError:
        pass


class PumpEnd:
    """One end: a Connection, its pump in a thread, an app socket, a wake pipe that
    asks the pump's thread to start a ratchet step between two runs."""

    def __init__(self, conn: Connection, wire: socket.socket, **kwargs: Any) -> None:
        self.conn = conn
        self.app, plain = socket.socketpair()
        self.app.settimeout(WAIT)
        self._plain = plain
        self.pump = SocketPump(conn, plain, wire, **kwargs)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.started = 0
        self.asks = 0
        self.outcome: list[Any] = []
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            while True:
                outcome = self.pump.run(WAIT, self.wake_r)
                if outcome is not Outcome.WAKE:
                    self.outcome.append(outcome)
                    return
                _drain(self.wake_r)
                if not self.conn.pq_rekey_in_progress and self.conn.state.name == "CONNECTED":
                    self.pump.start_pq_rekey()
                    self.started += 1
        except Exception as exc:
            self.outcome.append(exc)

    def ask_for_a_step(self) -> None:
        os.write(self.wake_w, b"!")

    def result(self) -> Any:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the pump did not return"
        return self.outcome[0]

    def close(self) -> None:
        self.pump.release()
        for s in (self.app, self._plain):
            s.close()
        os.close(self.wake_r)
        os.close(self.wake_w)


def _relay(src: socket.socket, dst: socket.socket, rng: random.Random | None) -> None:
    """The network: whole reads, or (with ``rng``) pieces of 1..7 bytes."""
    try:
        while data := src.recv(1 << 16):
            if rng is None:
                dst.sendall(data)
                continue
            pos = 0
            while pos < len(data):
                n = rng.randint(1, 7)
                dst.sendall(data[pos : pos + n])
                pos += n
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _pumps_both_ways(
    size: int, *, tiny_pieces: bool, ask_every: int, **kwargs: Any
) -> tuple[Connection, Connection, PumpEnd, PumpEnd]:
    client, server = established()
    wire_a, far_a = socket.socketpair()
    wire_b, far_b = socket.socketpair()
    a, b = PumpEnd(client, wire_a, **kwargs), PumpEnd(server, wire_b, **kwargs)
    rng = random.Random(13) if tiny_pieces else None
    threads = [
        threading.Thread(target=_relay, args=(far_a, far_b, rng), daemon=True),
        threading.Thread(target=_relay, args=(far_b, far_a, rng), daemon=True),
    ]
    got: dict[str, bytes] = {}
    threads += [
        threading.Thread(target=lambda: got.update(b=read_all(b.app)), daemon=True),
        threading.Thread(target=lambda: got.update(a=read_all(a.app)), daemon=True),
    ]
    payload = {"a": os.urandom(size), "b": os.urandom(size)}

    def write(end: PumpEnd, data: bytes, offset: int) -> None:
        for i, pos in enumerate(range(0, len(data), 8192)):
            end.app.sendall(data[pos : pos + 8192])
            if ask_every and i % ask_every == offset:
                before = end.conn.pq_rekeys
                end.ask_for_a_step()
                # go on writing only once a step (this end's, or the peer's that it met
                # answering) completed: every ask gives one step, however slow the wire
                # (unless the peer has closed meanwhile: then no step can start)
                deadline = time.monotonic() + WAIT
                while (
                    end.conn.pq_rekeys == before
                    and end.conn.state.name == "CONNECTED"
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.001)
                end.asks += end.conn.pq_rekeys != before
        end.app.shutdown(socket.SHUT_WR)

    threads += [
        threading.Thread(target=write, args=(a, payload["a"], 0), daemon=True),
        threading.Thread(target=write, args=(b, payload["b"], ask_every // 2), daemon=True),
    ]
    try:
        a.thread.start()
        b.thread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        assert a.result() is Outcome.DONE and b.result() is Outcome.DONE
        assert got["b"] == payload["a"] and got["a"] == payload["b"]
    finally:
        for end in (a, b):
            end.close()
        for s in (wire_a, far_a, wire_b, far_b):
            s.close()
    return client, server, a, b


pump = pytest.mark.skipif(not core.AVAILABLE, reason=core.ERROR)


@pump
@pytest.mark.parametrize("tiny_pieces", [False, True])
def test_pumps_on_both_ends_run_steps_while_data_flows(tiny_pieces: bool) -> None:
    """Both ends start steps (they cross at times) while 1-2 MB flow each way: every
    byte arrives in order, and both Connections agree on the steps."""
    size = (256 << 10) if tiny_pieces else (2 << 20)
    client, server, a, b = _pumps_both_ways(size, tiny_pieces=tiny_pieces, ask_every=8)
    asked = size // 8192 // 8
    # each end asked this often; all but the asks after the peer's close met a step
    assert a.asks + b.asks >= asked
    assert client.pq_rekeys >= a.asks and server.pq_rekeys >= b.asks
    assert a.started + b.started >= a.asks  # each ask met a step (crossing ones too)
    # a step still outstanding when one end closed completes on at most one side
    assert abs(client.pq_rekeys - server.pq_rekeys) <= 1


@pump
def test_the_pumps_byte_budget_starts_steps_between_data() -> None:
    """Both pumps with a byte budget: steps run while 2 MB flow each way, none asked."""
    client, server, a, b = _pumps_both_ways(
        2 << 20, tiny_pieces=False, ask_every=0, pq_rekey_bytes=200_000
    )
    assert a.started == b.started == 0
    assert min(client.pq_rekeys, server.pq_rekeys) >= 1


@pump
def test_the_byte_budget_stops_the_pump_at_the_first_record_past_it() -> None:
    """The share leaves after at least the budget and less than a record beyond it."""
    budget = 100_000
    client, server = established()
    app, plain = socket.socketpair()
    wire, far = socket.socketpair()
    for s in (app, far):
        s.settimeout(WAIT)
    p = SocketPump(client, plain, wire, pq_rekey_bytes=budget)
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(p.run(WAIT)), daemon=True)
    try:
        thread.start()
        app.sendall(os.urandom(3 * budget))
        app.shutdown(socket.SHUT_WR)
        stream = read_all(far)
        data_before_share = 0
        answered = False
        pos = 0
        while pos < len(stream):
            n = int.from_bytes(stream[pos + 1 : pos + 4], "big")
            server.receive_data(stream[pos : pos + 4 + n])
            pos += 4 + n
            while isinstance(event := server.next_event(), DataReceived):
                if not answered:
                    data_before_share += len(event.data)
            answered = answered or server.pq_rekey_in_progress
        assert answered
        assert budget <= data_before_share < budget + MAX_PLAINTEXT
        server.close()
        far.sendall(server.data_to_send())  # the ciphertext, then the close
        far.shutdown(socket.SHUT_WR)
        thread.join(WAIT)
        assert done == [Outcome.DONE]
        assert client.pq_rekeys == 1  # the pump handed the ciphertext to the Connection
    finally:
        p.release()
        for s in (app, plain, wire, far):
            s.close()


@pump
def test_pump_start_refuses_a_second_step() -> None:
    client, _server = established()
    a, b = socket.socketpair()
    p = SocketPump(client, a, b)
    try:
        p.start_pq_rekey()
        with pytest.raises(LocalProtocolError, match="in progress"):
            p.start_pq_rekey()
    finally:
        p.release()
        a.close()
        b.close()


# ---------------------------------------------------------------------------- SecureSocket
def test_secure_socket_steps_by_bytes_and_by_hand() -> None:
    a, b = socket.socketpair()
    served: dict[str, Any] = {}

    def serve() -> None:
        with wrap_socket(b, Config(identity=identity()), server_side=True) as s:
            total = 0
            while data := s.recv(1 << 16):
                s.sendall(data[:10])  # an answer per chunk: the client reads too
                total += len(data)
            served.update(total=total, rekeys=s.pq_rekeys)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with wrap_socket(a, Config(), pq_rekey_bytes=50_000) as c:
        c.settimeout(WAIT)
        back = 0
        for i in range(40):
            c.sendall(bytes([i]) * 10_000)
            back += len(c.recv(1 << 16))
        c.start_pq_rekey()
        c.sendall(b"x")
        while back < 40 * 10:
            back += len(c.recv(1 << 16))
        c.shutdown_write()
        while c.recv(1 << 16):
            pass
        rekeys = c.pq_rekeys
    thread.join(WAIT)
    assert served["total"] == 400_001
    assert rekeys >= 5 and abs(served["rekeys"] - rekeys) <= 1


# ---------------------------------------------------------------------------- asyncio
def test_asyncio_streams_step_while_echoing() -> None:
    async def main() -> tuple[int, int]:
        server_rekeys: list[int] = []

        async def echo(reader: aio.SecureReader, writer: aio.SecureWriter) -> None:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
            server_rekeys.append(writer.pq_rekeys)
            writer.close()

        server = await aio.start_server(echo, "127.0.0.1", 0, Config(identity=identity()))
        port = server.sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection("127.0.0.1", port, Config())
        for i in range(12):
            if i % 3 == 0:
                writer.start_pq_rekey()
            writer.write(bytes([i]) * 5000)
            assert await reader.readexactly(5000) == bytes([i]) * 5000
        writer.write_eof()
        assert await reader.read() == b""
        rekeys = writer.pq_rekeys
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return rekeys, server_rekeys[0]

    client_rekeys, server_rekeys = asyncio.run(main())
    assert client_rekeys == 4 and server_rekeys == 4


# ---------------------------------------------------------------------------- triggers
def test_trigger_by_time_and_bytes_and_never_on_an_idle_session() -> None:
    from tests.handshake.util import pair, run

    client, server = pair()
    assert run(client, server).client_done
    now = [100.0]
    trigger = PqRekeyTrigger(client, after=10.0, nbytes=1000, clock=lambda: now[0])
    now[0] += 11
    assert not trigger.due()  # idle since the handshake: nothing to protect
    client.send_data(b"a" * 10)
    assert trigger.due() and trigger.poll() and client.pq_rekey_in_progress
    assert not trigger.due()  # in progress
    assert run(client, server).error is None and client.pq_rekeys == 1
    server.send_data(b"b")
    run(client, server)
    assert not trigger.due()  # the step reset the clock
    now[0] += 5
    assert trigger.seconds_left() == pytest.approx(5.0)
    client.send_data(b"c" * 1000)
    assert trigger.due()  # the byte budget, before the time
    with pytest.raises(ValueError, match="positive"):
        PqRekeyTrigger(client, after=0)
    with pytest.raises(ValueError, match="at least 1"):
        PqRekeyTrigger(client, nbytes=0)
