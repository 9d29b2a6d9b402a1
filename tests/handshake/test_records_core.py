"""The C bulk record path against the Python one: same bytes, same verdicts."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pqe2ee import _binding
from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Connection
from pqe2ee.handshake import record as rec
from pqe2ee.handshake.events import DataReceived
from tests.handshake.util import pair, run

pytestmark = pytest.mark.skipif(not _binding.CORE_AVAILABLE, reason=_binding.CORE_ERROR)


def _twins(aead: str) -> tuple[rec.RecordCipher, rec.RecordCipher]:
    secret = os.urandom(32)
    c, py = rec.RecordCipher(aead, secret), rec.RecordCipher(aead, secret)
    py.bulk = False
    return c, py


@pytest.mark.parametrize("aead", ["chacha20-poly1305", "aes-256-gcm"])
@settings(max_examples=25, deadline=None)
@given(
    size=st.sampled_from([0, 1, 4095, 4096, 65535, 65536, 65537, 3 * 65536 + 5]),
    seq=st.integers(0, 2**40),
)
def test_c_and_python_seal_identically(aead: str, size: int, seq: int) -> None:
    c, py = _twins(aead)
    c.seq = py.seq = seq
    data = os.urandom(size)
    c.bulk = True
    sealed_c = c.seal_many(rec.INNER_DATA, data) if size >= rec.BULK_MIN else None
    sealed_py = py.seal_many(rec.INNER_DATA, data)
    if sealed_c is not None:
        assert sealed_c == sealed_py
        assert c.seq == py.seq
    # and the C opener reads the Python records back
    reader = rec.FrameReader()
    reader.feed(sealed_py)
    opener = rec.RecordCipher(aead, c._secret)
    opener.seq = seq
    opened = opener.open_many(reader)
    assert opened is not None
    assert opened[0] == data
    assert opened[1] is None
    assert reader.buffered == 0


def test_open_many_stops_at_control_records_and_incomplete_frames() -> None:
    sender, _ = _twins("chacha20-poly1305")
    receiver = rec.RecordCipher("chacha20-poly1305", sender._secret)
    wire = sender.seal_many(rec.INNER_DATA, b"a" * 5000) + sender.seal(
        rec.INNER_KEY_UPDATE, b"\x00"
    )
    wire += sender.seal_many(rec.INNER_DATA, b"b" * 10)
    reader = rec.FrameReader()
    reader.feed(wire[:-3])  # the last frame is incomplete
    data, control = receiver.open_many(reader)  # type: ignore[misc]
    assert data == b"a" * 5000
    assert control == (rec.INNER_KEY_UPDATE, b"\x00")
    assert receiver.open_many(reader) is None  # the incomplete frame waits
    reader.feed(wire[-3:])
    assert receiver.open_many(reader) == (b"b" * 10, None)


def _connected(aead: str = "chacha20-poly1305") -> tuple[Connection, Connection]:
    from pqe2ee.handshake import AuthKind, Config, Policy
    from tests.handshake.util import identity

    policy = Policy.for_mode("hybrid", AuthKind.ED25519, aead=aead)
    client, server = pair(Config(policy=policy), Config(identity=identity(), policy=policy))
    out = run(client, server)
    assert out.client_done and out.server_done
    return client, server


@pytest.mark.parametrize("aead", ["chacha20-poly1305", "aes-256-gcm"])
def test_tampered_record_in_a_bulk_read_releases_only_what_came_before(aead: str) -> None:
    client, server = _connected(aead)
    client.send_data(os.urandom(3 * 65536 + 100))  # four records, sealed in C
    wire = bytearray(client.data_to_send())
    second_record = 4 + 65536 + 17 + 4 + 100  # a byte inside the second record's body
    wire[second_record] ^= 0x01
    server.receive_data(bytes(wire))
    got = []
    with pytest.raises(RemoteProtocolError, match="record failed authentication"):
        while (event := server.next_event()) is not NEED_DATA:
            got.append(event)
    assert [len(e.data) for e in got if isinstance(e, DataReceived)] == [65536]


def test_bulk_transfer_with_key_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec, "RECORD_LIMIT", 5)
    client, server = _connected()
    payload = os.urandom(40 * 65536 + 3)
    client.send_data(payload)
    server.receive_data(client.data_to_send())
    got = bytearray()
    while (event := server.next_event()) is not NEED_DATA:
        got += event.data  # type: ignore[union-attr]
    assert got == payload
    assert client._transport.write is not None and client._transport.write.seq <= 5


def test_data_before_an_alert_in_one_bulk_read_is_released_first() -> None:
    """Bulk and one-record paths agree: authenticated data, then the peer's alert."""
    client, server = _connected()
    client.send_data(b"x" * 10_000)
    assert client._transport.write is not None
    wire = client.data_to_send() + client._transport.write.seal(rec.INNER_ALERT, bytes([1]))
    server.receive_data(wire)
    first = server.next_event()
    assert isinstance(first, DataReceived)
    assert first.data == b"x" * 10_000
    with pytest.raises(RemoteProtocolError, match="the peer aborted: handshake failure"):
        server.next_event()
