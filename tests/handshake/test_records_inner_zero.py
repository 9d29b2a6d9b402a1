"""Regression (found by fuzz/records.py): a record of inner type 0 must be fatal on the
C bulk path as on the one-record path.

``pqe2ee_records_open`` says "no control record" with type 0, so a record whose inner
type was 0 used to be consumed and dropped without a word: a peer's unknown record type
vanished instead of failing the connection (docs/protocol.md §7: unknown inner type is
fatal).  Now the C loop stops before it and the one-record path rejects it.
"""

from __future__ import annotations

import os

import pytest

from pqe2ee import _binding
from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Config, Policy
from pqe2ee.handshake import record as rec
from pqe2ee.handshake.events import DataReceived
from pqe2ee.hazmat import records
from tests.handshake.util import identity, pair, run

pytestmark = pytest.mark.skipif(not _binding.CORE_AVAILABLE, reason=_binding.CORE_ERROR)
AEADS = ["chacha20-poly1305", "aes-256-gcm"]


@pytest.mark.parametrize("aead", AEADS)
def test_c_open_stops_before_inner_type_zero(aead: str) -> None:
    secret = os.urandom(32)
    sender, receiver = rec.RecordCipher(aead, secret), rec.RecordCipher(aead, secret)
    wire = sender.seal(rec.INNER_DATA, b"abc") + sender.seal(0, b"hidden")
    out = bytearray(64)
    consumed, produced, n, ctype, _clen, ok = records.open_records(
        aead, receiver._key, receiver._iv, wire, out, first_seq=0, max_frame=rec.MAX_ENCRYPTED
    )
    assert ok
    assert (n, produced, ctype) == (1, 3, 0)  # the data record only
    assert consumed == len(wire) - len(sender.seal(0, b"hidden"))
    assert bytes(out[:3]) == b"abc"
    assert b"hidden" not in out  # the unopened record's plaintext was wiped


@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("content", [b"", b"hidden"])
def test_connection_rejects_inner_type_zero(aead: str, content: bytes) -> None:
    policy = Policy.for_mode("classical", identity().kind, aead=aead)
    client, server = pair(Config(policy=policy), Config(identity=identity(), policy=policy))
    assert run(client, server).client_done
    client.send_data(b"abc")
    assert client._transport.write is not None
    wire = client.data_to_send() + client._transport.write.seal(0, content)
    client.close()
    server.receive_data(wire + client.data_to_send())
    assert server.next_event() == DataReceived(b"abc")
    with pytest.raises(RemoteProtocolError, match="unknown inner record type 0x00"):
        while server.next_event() is not NEED_DATA:
            pass
