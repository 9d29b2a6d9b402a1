"""Record padding on the C data path (docs/protocol.md §10): what the socket pump seals
falls into the buckets of the connection's policy, what it opens is stripped of the
peer's padding, a flipped padding byte fails closed, and a plaintext of zeros only is
refused.  Runs under ASan/UBSan too (`make sanitize`)."""

from __future__ import annotations

import os
import socket

import pytest

from pqe2ee import _binding
from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import Config, Connection, ConnectionClosed, DataReceived, Policy
from pqe2ee.handshake import record as rec
from pqe2ee.hazmat import core
from pqe2ee.hazmat.padding import Padding
from pqe2ee.hazmat.pump import BUFFER_MIN, Pump, PumpBuffer
from pqe2ee.io.socket_pump import Outcome
from tests.handshake.test_padding import promised
from tests.handshake.util import identity, pair, run
from tests.io.test_socket_pump import (
    _expect_failure,
    _recv_exactly,
    data_of,
    events_from,
    pumped,
)

pytestmark = pytest.mark.skipif(not core.AVAILABLE, reason=core.ERROR)
TAG = rec.TAG


def established(client_pad: str, server_pad: str = "none") -> tuple[Connection, Connection]:
    policy = Policy.for_mode("classical", identity().kind, aead="chacha20-poly1305")
    client, server = pair(
        Config(policy=policy, padding=client_pad),
        Config(identity=identity(), policy=policy, padding=server_pad),
    )
    outcome = run(client, server)
    assert outcome.client_done and outcome.server_done
    return client, server


def read_frame(sock: socket.socket) -> bytes:
    header = _recv_exactly(sock, 4)
    assert header[0] == rec.CT_ENCRYPTED
    return header + _recv_exactly(sock, int.from_bytes(header[1:], "big"))


@pytest.mark.parametrize("policy", ["padme", "block:256", "none"])
def test_records_the_pump_seals_for_messages_1_to_2000_fall_into_the_buckets(policy: str) -> None:
    client, server = established(policy)
    with pumped(client) as (a, far):
        a.start()
        for n in range(1, 2001):
            message = os.urandom(n)
            a.app.sendall(message)
            got = b""
            while len(got) < n:  # one frame per message in practice; each is checked
                frame = read_frame(far)
                server.receive_data(frame)
                event = server.next_event()
                assert isinstance(event, DataReceived)
                assert promised(policy, len(event.data), len(frame) - 4 - TAG), (n, len(frame))
                got += event.data
            assert got == message
        a.app.shutdown(socket.SHUT_WR)
        close = read_frame(far)  # sealed by the Connection, padded by the same policy
        assert len(close) - 4 - TAG == Padding.parse(policy).padded_length(1)
        server.receive_data(close)
        assert isinstance(server.next_event(), ConnectionClosed)
        server.close()
        far.sendall(server.data_to_send())
        assert a.result() is Outcome.DONE


@pytest.mark.parametrize("policy", ["padme", "block:256", "block:65536"])
def test_the_pump_strips_the_peers_padding(policy: str) -> None:
    client, server = established("none", policy)
    sent = [b"a", bytes(300), b"tail\x00\x00", os.urandom(70000), bytes(1)]
    with pumped(client) as (a, far):
        a.start()
        for data in sent:
            server.send_data(data)
        server.update_keys(request_peer=True)  # a control record, padded, amid the data
        server.send_data(b"after the update")
        far.sendall(server.data_to_send())
        expected = b"".join(sent) + b"after the update"
        assert _recv_exactly(a.app, len(expected)) == expected
        a.app.shutdown(socket.SHUT_WR)
        events = events_from(server, far)  # the answered key update, then the close
        assert data_of(events) == b"" and isinstance(events[-1], ConnectionClosed)
        server.close()
        far.sendall(server.data_to_send())
        assert a.result() is Outcome.DONE


def test_a_small_pump_buffer_still_carries_the_largest_padding() -> None:
    # block:65536 makes every record 64 KiB, sixteen times the pump's buffer
    client, server = established("block:65536")
    with pumped(client, buffer_size=BUFFER_MIN) as (a, far):
        a.start()
        data = os.urandom(100_000)
        a.app.sendall(data)
        a.app.shutdown(socket.SHUT_WR)
        events = events_from(server, far)
        assert data_of(events) == data
        server.close()
        far.sendall(server.data_to_send())
        assert a.result() is Outcome.DONE


def test_a_flipped_padding_byte_fails_closed() -> None:
    client, server = established("none", "block:256")
    secret = b"SECRET-" + os.urandom(8).hex().encode()
    server.send_data(b"authentic")
    first = server.data_to_send()
    server.send_data(secret)
    second = bytearray(server.data_to_send())
    second[4 + len(secret) + 10] ^= 0x01  # inside the padding
    with pumped(client) as (a, far):
        got = _expect_failure(a, far, first + bytes(second))
    assert secret not in got and got in (b"", b"authentic")


def test_a_plaintext_of_zeros_is_refused_through_the_pump() -> None:
    client, server = established("none")
    server.send_data(b"authentic")
    assert server._transport.write is not None
    wire = server.data_to_send() + server._transport.write.seal(0, bytes(30))
    with pumped(client) as (a, far):
        a.start()
        far.sendall(wire)
        error = a.result()
        assert isinstance(error, RemoteProtocolError) and "no inner type" in str(error)
        a.app.setblocking(False)
        assert a.app.recv(100) == b"authentic"
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_padding_is_set_before_any_record_or_refused() -> None:
    pump = Pump("chacha20-poly1305", buffer_size=BUFFER_MIN)
    try:
        handle = pump._live()
        with pytest.raises(ValueError, match="refused the padding"):
            _binding.pump.pump_set_padding(handle, mode=_binding.records.PAD_BLOCK, block=0)
        assert pump.push(PumpBuffer.SESSION_OUT, b"x")
        with pytest.raises(ValueError, match="refused the padding"):
            _binding.pump.pump_set_padding(handle, mode=_binding.records.PAD_PADME, block=1)
    finally:
        pump.free()
