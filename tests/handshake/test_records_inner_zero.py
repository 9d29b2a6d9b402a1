"""Regression (found by fuzz/records.py), restated for record padding (docs/protocol.md
§10.1): a record without an inner type must be fatal on the C bulk path as on the
one-record path, and zeros that are content must never be taken for padding.

``pqe2ee_records_open`` says "no control record" with type 0, so a record whose inner
type was 0 used to be consumed and dropped without a word.  With padding, trailing zero
bytes are padding and the inner type is the last nonzero byte: a plaintext of zeros
only has no inner type, and the C loop must stop before it (the one-record path refuses
it) rather than make it vanish; content that ends in zeros, followed by its real inner
type, must come out whole on both paths, padded or not.
"""

from __future__ import annotations

import os

import pytest

from pqe2ee import _binding
from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Config, Policy
from pqe2ee.handshake import record as rec
from pqe2ee.handshake.events import ConnectionClosed, DataReceived
from pqe2ee.hazmat import records
from pqe2ee.hazmat.padding import Padding
from tests.handshake.util import identity, pair, run

pytestmark = pytest.mark.skipif(not _binding.CORE_AVAILABLE, reason=_binding.CORE_ERROR)
AEADS = ["chacha20-poly1305", "aes-256-gcm"]
POLICIES = ["none", "padme", "block:64"]


def _ciphers(aead: str) -> tuple[rec.RecordCipher, rec.RecordCipher]:
    secret = os.urandom(32)
    return rec.RecordCipher(aead, secret), rec.RecordCipher(aead, secret)


def _c_open(
    receiver: rec.RecordCipher, aead: str, wire: bytes
) -> tuple[records.OpenedRecords, bytes]:
    out = bytearray(len(wire))
    opened = records.open_records(
        aead, receiver._key, receiver._iv, wire, out, first_seq=0, max_frame=rec.MAX_ENCRYPTED
    )
    return opened, bytes(out)


@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("zeros", [0, 40])
def test_c_open_stops_before_a_plaintext_of_zeros(aead: str, zeros: int) -> None:
    sender, receiver = _ciphers(aead)
    # "inner type 0" with zero content: the plaintext is zeros only, 1 or 41 of them
    first = sender.seal(rec.INNER_DATA, b"abc")
    bad = sender.seal(0, bytes(zeros))
    (consumed, produced, n, ctype, _clen, ok), out = _c_open(receiver, aead, first + bad)
    assert ok
    assert (n, produced, ctype) == (1, 3, 0)  # the data record only
    assert consumed == len(first)  # the bad record stays for the one-record path
    assert out[:3] == b"abc"


@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("zeros", [0, 40])
@pytest.mark.parametrize("behind_data", [True, False])
def test_connection_rejects_a_plaintext_of_zeros(aead: str, zeros: int, behind_data: bool) -> None:
    policy = Policy.for_mode("classical", identity().kind, aead=aead)
    client, server = pair(Config(policy=policy), Config(identity=identity(), policy=policy))
    assert run(client, server).client_done
    if behind_data:  # the bulk path opens the data, then stops before the bad record
        client.send_data(b"abc")
    assert client._transport.write is not None
    wire = client.data_to_send() + client._transport.write.seal(0, bytes(zeros))
    client.close()
    server.receive_data(wire + client.data_to_send())
    if behind_data:
        assert server.next_event() == DataReceived(b"abc")
    with pytest.raises(RemoteProtocolError, match="record has no inner type"):
        while server.next_event() is not NEED_DATA:
            pass


@pytest.mark.parametrize("aead", AEADS)
def test_inner_type_zero_with_content_reads_as_its_last_nonzero_byte(aead: str) -> None:
    # a sender that seals "type 0" after content has sent padding: the type the receiver
    # finds is the content's last byte, here 'n' (0x6e), unknown and fatal
    sender, receiver = _ciphers(aead)
    with pytest.raises(rec.FrameError, match="unknown inner record type 0x6e"):
        receiver.open(*_split(sender.seal(0, b"hidden")))


def _split(frame: bytes | bytearray) -> tuple[bytes, bytes]:
    return bytes(frame[: rec.HEADER]), bytes(frame[rec.HEADER :])


@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("policy", POLICIES)
def test_content_ending_in_zeros_round_trips_on_both_paths(aead: str, policy: str) -> None:
    sender, receiver = _ciphers(aead)
    sender.padding = Padding.parse(policy)
    data = b"abc\x00\x00\x00"
    # data ending in zeros, then a key update whose content is the single byte 0
    # (request_update = 0), then the empty close: each type is the last nonzero byte
    wire = (
        bytes(sender.seal(rec.INNER_DATA, data))
        + bytes(sender.seal(rec.INNER_KEY_UPDATE, b"\x00"))
        + bytes(sender.seal(rec.INNER_DATA, bytes(5)))
    )
    (consumed, produced, n, ctype, clen, ok), out = _c_open(receiver, aead, wire)
    assert ok and n == 2 and ctype == rec.INNER_KEY_UPDATE and clen == 1
    assert out[:produced] == data and out[produced : produced + clen] == b"\x00"
    one_by_one = []
    pos = 0
    while pos < len(wire):
        length = int.from_bytes(wire[pos + 1 : pos + rec.HEADER], "big")
        one_by_one.append(receiver.open(*_split(wire[pos : pos + rec.HEADER + length])))
        pos += rec.HEADER + length
    assert one_by_one == [
        (rec.INNER_DATA, data),
        (rec.INNER_KEY_UPDATE, b"\x00"),
        (rec.INNER_DATA, bytes(5)),
    ]
    assert consumed == len(wire) - len(sender.seal(rec.INNER_DATA, bytes(5)))


@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("policy", POLICIES)
def test_connection_delivers_zeros_and_closes_under_padding(aead: str, policy: str) -> None:
    policy_ = Policy.for_mode("classical", identity().kind, aead=aead)
    client, server = pair(
        Config(policy=policy_, padding=policy),
        Config(identity=identity(), policy=policy_, padding=policy),
    )
    assert run(client, server).client_done
    client.send_data(bytes(300))
    client.update_keys()
    client.send_data(b"x" + bytes(7000))  # the C bulk seal, padded
    client.close()
    server.receive_data(client.data_to_send())
    got = b""
    while (event := server.next_event()) is not NEED_DATA:
        if isinstance(event, DataReceived):
            got += event.data
        elif isinstance(event, ConnectionClosed):
            break
    assert isinstance(event, ConnectionClosed)
    assert got == bytes(300) + b"x" + bytes(7000)
