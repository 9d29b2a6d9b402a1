"""The post-quantum ratchet inside a session (docs/protocol.md §9): steps started by
either side, data flowing both ways throughout (byte at a time too), crossing starts,
every record out of turn or malformed, tampering and replay, the flood bound, and the
property itself: after a step, the old keys (and any number of key updates of the old
secrets) open nothing on the wire."""

from __future__ import annotations

import hashlib

import pytest

from pqe2ee.exceptions import LocalProtocolError, RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Config, Connection, DataReceived, Policy
from pqe2ee.handshake import record as rec
from pqe2ee.handshake.keyschedule import derive_secret, update_secret
from pqe2ee.handshake.ratchet import MAX_PQ_REKEYS_IN_A_ROW, ratchet_kem
from pqe2ee.handshake.state import Alert
from pqe2ee.handshake.suites import KEM_IDS
from pqe2ee.hazmat.kdf import hkdf_extract
from pqe2ee.hazmat.kem import get_kem
from tests.handshake.util import identity, pair, run, split_tlv


def established(kem: str | None = None, aead: str | None = None) -> tuple[Connection, Connection]:
    suites = tuple(
        s
        for s in Policy().suites
        if (kem is None or s.kem == kem) and (aead is None or s.aead == aead)
    )
    policy = Policy(suites=suites)
    client, server = pair(Config(policy=policy), Config(identity=identity(), policy=policy))
    outcome = run(client, server)
    assert outcome.client_done and outcome.server_done
    return client, server


def deliver(dst: Connection, data: bytes, *, byte_at_a_time: bool = False) -> bytes:
    """Feed ``data`` to ``dst``; return the application data it released."""
    got = bytearray()
    if not data:
        return b""  # (an empty feed would mean the end of the stream)
    chunks = [data[i : i + 1] for i in range(len(data))] if byte_at_a_time else [data]
    for chunk in chunks:
        dst.receive_data(chunk)
        while (event := dst.next_event()) is not NEED_DATA:
            if isinstance(event, DataReceived):
                got += event.data
    return bytes(got)


def sealed(conn: Connection, inner: int, content: bytes) -> bytes:
    """A record of ``inner`` type sealed under ``conn``'s live sending key, as a
    misbehaving peer (holding its own keys) would send it."""
    write = conn._transport.write
    assert write is not None
    return bytes(write.seal(inner, content))


def expect_fatal(dst: Connection, data: bytes, alert: Alert, words: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        deliver(dst, data)
    assert info.value.alert == alert
    assert words in str(info.value)


# ---------------------------------------------------------------------------- steps
@pytest.mark.parametrize("initiator", ["client", "server"])
def test_a_step_completes_on_both_sides_and_data_goes_on(initiator: str) -> None:
    client, server = established()
    a, b = (client, server) if initiator == "client" else (server, client)
    before = (client._transport.write._secret, server._transport.write._secret)  # type: ignore[union-attr]
    a.start_pq_rekey()
    assert a.pq_rekey_in_progress
    with pytest.raises(LocalProtocolError, match="already in progress"):
        a.start_pq_rekey()
    a.send_data(b"under the old key")
    assert deliver(b, a.data_to_send()) == b"under the old key"  # b answered
    assert b.pq_rekey_in_progress
    b.send_data(b"b's new key")
    assert deliver(a, b.data_to_send()) == b"b's new key"  # ciphertext, then data
    assert a.pq_rekeys == 1 and not a.pq_rekey_in_progress
    a.send_data(b"a's new key")
    assert deliver(b, a.data_to_send()) == b"a's new key"  # switch, then data
    assert b.pq_rekeys == 1 and not b.pq_rekey_in_progress
    after = (client._transport.write._secret, server._transport.write._secret)  # type: ignore[union-attr]
    assert before[0] != after[0] and before[1] != after[1]
    assert client._transport.write._secret == server._transport.read._secret  # type: ignore[union-attr]
    assert server._transport.write._secret == client._transport.read._secret  # type: ignore[union-attr]
    # sequence numbers restarted under the new secrets: one data record each way
    assert client._transport.write.seq == 1 and server._transport.write.seq == 1  # type: ignore[union-attr]


def test_many_steps_with_key_updates_between() -> None:
    client, server = established()
    for i in range(6):
        (client if i % 2 else server).start_pq_rekey()
        client.update_keys(request_peer=True)
        client.send_data(b"c%d" % i)
        server.send_data(b"s%d" % i)
        outcome = run(client, server)
        assert outcome.error is None
        assert client.pq_rekeys == server.pq_rekeys == i + 1
    assert not client.pq_rekey_in_progress and not server.pq_rekey_in_progress


@pytest.mark.parametrize("byte_at_a_time", [False, True])
def test_under_load_every_byte_arrives_in_order(byte_at_a_time: bool) -> None:
    """Data both ways in every flight of several exchanges (with key updates mixed in),
    delivered whole or one byte at a time: nothing lost, nothing reordered."""
    client, server = established()
    sent = {"c": bytearray(), "s": bytearray()}
    got = {"c": bytearray(), "s": bytearray()}
    chunk = 3000 if byte_at_a_time else 70_000  # over a record, on the bulk path
    for i in range(24):
        for name, conn in (("c", client), ("s", server)):
            if i % 5 == (0 if name == "c" else 2) and not conn.pq_rekey_in_progress:
                conn.start_pq_rekey()
            if i % 7 == 3:
                conn.update_keys(request_peer=i % 2 == 0)
            data = hashlib.sha256(b"%s%d" % (name.encode(), i)).digest() * (chunk // 32)
            conn.send_data(data)
            sent[name] += data
        got["s"] += deliver(server, client.data_to_send(), byte_at_a_time=byte_at_a_time)
        got["c"] += deliver(client, server.data_to_send(), byte_at_a_time=byte_at_a_time)
    for _ in range(3):  # the last switch records
        got["s"] += deliver(server, client.data_to_send())
        got["c"] += deliver(client, server.data_to_send())
    assert got["s"] == sent["c"] and got["c"] == sent["s"]
    assert client.pq_rekeys == server.pq_rekeys >= 6


def test_crossing_starts_resolve_to_the_clients_exchange() -> None:
    client, server = established()
    client.start_pq_rekey()
    server.start_pq_rekey()
    client.send_data(b"c")
    server.send_data(b"s")
    c_out, s_out = client.data_to_send(), server.data_to_send()
    # the server meets the client's share with its own outstanding: it answers it
    assert deliver(server, c_out) == b"c"
    assert server.pq_rekey_in_progress and server._ratchet._private is None  # type: ignore[union-attr]
    # the client meets the server's share (ahead of its ciphertext) and ignores it
    assert deliver(client, s_out) == b"s"
    assert client.pq_rekey_in_progress and client.pq_rekeys == 0
    outcome = run(client, server)
    assert outcome.error is None
    assert client.pq_rekeys == server.pq_rekeys == 1
    assert not client.pq_rekey_in_progress and not server.pq_rekey_in_progress
    client.send_data(b"after")
    server.send_data(b"after too")
    assert deliver(server, client.data_to_send()) == b"after"
    assert deliver(client, server.data_to_send()) == b"after too"


@pytest.mark.parametrize(
    ("kem", "expected"),
    [("X25519", "X25519MLKEM768"), ("ML-KEM-1024", "ML-KEM-1024"), ("X-Wing", "X-Wing")],
)
def test_the_ratchet_kem(kem: str, expected: str) -> None:
    """A classical session gains a post-quantum secret; a pq one keeps its KEM."""
    client, server = established(kem)
    assert client.suite is not None and ratchet_kem(client.suite) == expected
    reader = rec.RecordCipher(client.suite.aead, server._transport.read._secret)  # type: ignore[union-attr]
    client.start_pq_rekey()
    wire = client.data_to_send()
    inner, content = reader.open(wire[:4], wire[4:])
    assert inner == rec.INNER_PQ_SHARE
    assert int.from_bytes(content[:2], "big") == KEM_IDS[expected][0]
    assert len(content) == 4 + get_kem(expected).public_key_size
    deliver(server, wire)
    assert run(client, server).error is None
    assert client.pq_rekeys == server.pq_rekeys == 1


# ---------------------------------------------------------------------------- the property
def test_old_keys_cannot_open_records_after_a_step() -> None:
    """Capture both directions' traffic secrets before a step (as an attacker who stole
    them would); after it, no record on the wire opens under them, nor under any of
    their next 100 key updates, at any of the first sequence numbers; nor under what an
    attacker who also holds the ratchet root and reads the exchange could derive
    without the KEM secret.  The new secrets open the same records (the check can
    fail)."""
    client, server = established()
    assert client.suite is not None
    aead = client.suite.aead
    old = [client._transport.write._secret, server._transport.write._secret]  # type: ignore[union-attr]
    root = client._ratchet._root  # type: ignore[union-attr]
    seq = client._transport.write.seq  # type: ignore[union-attr]
    client.start_pq_rekey()
    share_wire = client.data_to_send()
    server.update_keys()  # a key update in the old chain too, before the step
    deliver(server, share_wire)
    answer = server.data_to_send()
    deliver(client, answer)
    assert run(client, server).error is None
    assert client.pq_rekeys == server.pq_rekeys == 1
    # the attacker with the old keys reads the exchange itself...
    spy = rec.RecordCipher(aead, old[0])
    spy.seq = seq
    inner, share = spy.open(share_wire[:4], share_wire[4:])
    assert inner == rec.INNER_PQ_SHARE
    ku, ct_record = split_tlv(answer)
    spy = rec.RecordCipher(aead, old[1])
    spy.open(ku[:4], ku[4:])
    spy.update()
    inner, ct = spy.open(ct_record[:4], ct_record[4:])
    assert inner == rec.INNER_PQ_CIPHERTEXT
    # ...and, holding the old root too, every secret it could make without ss fails
    h = hashlib.sha256(share + ct).digest()
    guessed = [
        derive_secret(base, label, h)
        for guess in (b"", bytes(64), share, ct, root)
        for base in (root, hkdf_extract(root, guess))
        for label in ("c ap traffic", "s ap traffic")
    ]
    new = {"c2s": server._transport.read._secret, "s2c": client._transport.read._secret}  # type: ignore[union-attr]
    wire = {}
    for direction, src, dst in (("c2s", client, server), ("s2c", server, client)):
        for i in range(4):
            src.send_data(b"after the step %d" % i)
        src.update_keys()
        src.send_data(b"after an update")
        wire[direction] = split_tlv(src.data_to_send())
        assert len(wire[direction]) == 6
        deliver(dst, b"".join(wire[direction]))
    candidates = []
    for secret, updates in [(s, 100) for s in old] + [(g, 2) for g in guessed]:
        for _ in range(updates + 1):
            candidates.append(rec.RecordCipher(aead, secret))
            secret = update_secret(secret)
    for direction, records in wire.items():
        for record in records:
            for cipher in candidates:
                for n in range(8):
                    cipher.seq = n
                    with pytest.raises(rec.FrameError, match="authentication"):
                        cipher.open(record[:4], record[4:])
        good = rec.RecordCipher(aead, new[direction])
        opened = [good.open(r[:4], r[4:]) for r in records[:5]]
        assert [c for _, c in opened[:4]] == [b"after the step %d" % i for i in range(4)]


# ---------------------------------------------------------------------------- refusals
def _share_content(conn: Connection) -> bytes:
    assert conn.suite is not None
    kem = get_kem(ratchet_kem(conn.suite))
    public = kem.generate().public_key().public_bytes_raw()
    return KEM_IDS[kem.name][0].to_bytes(2, "big") + len(public).to_bytes(2, "big") + public


def test_tampered_share_record_is_fatal() -> None:
    client, server = established()
    client.start_pq_rekey()
    wire = bytearray(client.data_to_send())
    wire[200] ^= 1
    expect_fatal(server, bytes(wire), Alert.BAD_RECORD_MAC, "authentication")
    assert server.pq_rekeys == 0 and not server.pq_rekey_in_progress


def test_replayed_share_record_is_fatal() -> None:
    client, server = established()
    client.start_pq_rekey()
    share = client.data_to_send()
    deliver(server, share)
    assert server.pq_rekey_in_progress
    expect_fatal(server, share, Alert.BAD_RECORD_MAC, "authentication")


@pytest.mark.parametrize(
    "inner", [rec.INNER_PQ_SHARE, rec.INNER_PQ_CIPHERTEXT, rec.INNER_PQ_SWITCH]
)
def test_ratchet_records_during_the_handshake_are_fatal(inner: int) -> None:
    """A ratchet record where the server's encrypted flight belongs, sealed under this
    handshake's server key (as a server, or anyone with that key, would)."""
    client, server = pair()
    server.receive_data(client.data_to_send())
    server.next_event()
    hello = split_tlv(server.data_to_send())[0]
    assert hello[0] == rec.CT_HANDSHAKE  # ServerHello; the encrypted flight is dropped
    assert server.suite is not None
    forged = rec.RecordCipher(server.suite.aead, server._hs.s_hs).seal(
        inner, _share_content(server)
    )
    expect_fatal(client, hello + bytes(forged), Alert.UNEXPECTED_MESSAGE, "during the handshake")


@pytest.mark.parametrize(
    ("inner", "words"),
    [
        (rec.INNER_PQ_CIPHERTEXT, "ciphertext with no share out"),
        (rec.INNER_PQ_SWITCH, "switch with no exchange"),
    ],
)
def test_ciphertext_or_switch_with_nothing_outstanding_is_fatal(inner: int, words: str) -> None:
    client, server = established()
    content = b"" if inner == rec.INNER_PQ_SWITCH else b"\x00\x01\x00"
    expect_fatal(server, sealed(client, inner, content), Alert.UNEXPECTED_MESSAGE, words)


def test_a_second_share_before_the_switch_is_fatal() -> None:
    client, server = established()
    client.start_pq_rekey()
    deliver(server, client.data_to_send())
    second = sealed(client, rec.INNER_PQ_SHARE, _share_content(client))
    expect_fatal(server, second, Alert.UNEXPECTED_MESSAGE, "second post-quantum rekey share")


def test_a_second_server_share_while_the_clients_is_out_is_fatal() -> None:
    client, server = established()
    client.start_pq_rekey()
    server.start_pq_rekey()
    deliver(client, server.data_to_send())  # crossing: ignored once
    assert client.pq_rekey_in_progress
    again = sealed(server, rec.INNER_PQ_SHARE, _share_content(server))
    expect_fatal(client, again, Alert.UNEXPECTED_MESSAGE, "while ours is outstanding")


def test_the_server_answering_never_switches_on_a_ciphertext() -> None:
    """A server that abandoned its share for the client's refuses a ciphertext for the
    abandoned one (it has no share out any more)."""
    client, server = established()
    server.start_pq_rekey()
    client.start_pq_rekey()
    deliver(server, client.data_to_send())
    bogus = sealed(client, rec.INNER_PQ_CIPHERTEXT, b"\x00\x01\x00")
    expect_fatal(server, bogus, Alert.UNEXPECTED_MESSAGE, "ciphertext with no share out")


def _bad_shares(conn: Connection) -> list[tuple[bytes, str]]:
    good = _share_content(conn)
    other = KEM_IDS["ML-KEM-1024"][0].to_bytes(2, "big") + good[2:]
    # X25519MLKEM768: the ML-KEM key comes first; a first coefficient of 0xFFF >= q
    not_reduced = good[:4] + b"\xff\x0f" + good[6:]
    return [
        (other, "for KEM 0x"),
        (good[:-1], "malformed"),
        (good + b"\x00", "malformed"),
        (good[:2] + (len(good) - 5).to_bytes(2, "big") + good[4:-1], "wrong key length"),
        (not_reduced, "7.2"),
        (b"\x11", "malformed"),
    ]


@pytest.mark.parametrize("case", range(6))
def test_malformed_share_is_fatal(case: int) -> None:
    client, server = established("X25519MLKEM768")
    content, words = _bad_shares(client)[case]
    expect_fatal(server, sealed(client, rec.INNER_PQ_SHARE, content), Alert.DECODE_ERROR, words)
    assert not server.pq_rekey_in_progress


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "malformed"), (b"\x00\x05abc", "malformed"), (b"\x00\x03abc", "ciphertext must be")],
)
def test_malformed_ciphertext_is_fatal(content: bytes, words: str) -> None:
    client, server = established()
    client.start_pq_rekey()
    client.data_to_send()  # the share never arrives; the server "answers" badly
    expect_fatal(
        client, sealed(server, rec.INNER_PQ_CIPHERTEXT, content), Alert.DECODE_ERROR, words
    )


def test_switch_with_content_is_fatal() -> None:
    client, server = established()
    client.start_pq_rekey()
    deliver(server, client.data_to_send())
    expect_fatal(server, sealed(client, rec.INNER_PQ_SWITCH, b"x"), Alert.DECODE_ERROR, "content")


def test_ratchet_records_after_the_peers_close_are_fatal() -> None:
    client, server = established()
    close = sealed(client, rec.INNER_CLOSE, b"")
    share = sealed(client, rec.INNER_PQ_SHARE, _share_content(client))
    expect_fatal(server, close + share, Alert.UNEXPECTED_MESSAGE, "after the peer's close")


# ---------------------------------------------------------------------------- limits
def test_start_needs_an_open_established_connection() -> None:
    client, server = pair()
    with pytest.raises(LocalProtocolError, match="connected, open"):
        client.start_pq_rekey()
    client, server = established()
    client.close()
    with pytest.raises(LocalProtocolError, match="connected, open"):
        client.start_pq_rekey()
    deliver(server, client.data_to_send())
    with pytest.raises(LocalProtocolError, match="connected, open"):
        server.start_pq_rekey()  # the peer has closed: its answer could never come


def test_flood_bound_holds_both_ways() -> None:
    """64 steps in a row with no data are fine; the sender refuses a 65th; a peer that
    sends one anyway is cut off; data between steps resets the count."""
    client, server = established()
    for _ in range(MAX_PQ_REKEYS_IN_A_ROW):
        client.start_pq_rekey()
        assert run(client, server).error is None
    assert server.pq_rekeys == MAX_PQ_REKEYS_IN_A_ROW
    with pytest.raises(LocalProtocolError, match="in a row"):
        client.start_pq_rekey()
    client._transport.pq_shares_sent_in_a_row = 0  # a hostile peer skips its own check
    client.start_pq_rekey()
    expect_fatal(server, client.data_to_send(), Alert.UNEXPECTED_MESSAGE, "no data between")

    client, server = established()
    for i in range(MAX_PQ_REKEYS_IN_A_ROW + 6):
        if i % 50 == 49:
            client.send_data(b"data between")
        client.start_pq_rekey()
        assert run(client, server).error is None
    assert client.pq_rekeys == MAX_PQ_REKEYS_IN_A_ROW + 6


def test_a_side_that_closed_does_not_answer() -> None:
    client, server = established()
    client.start_pq_rekey()
    server.close()
    share = client.data_to_send()
    deliver(client, server.data_to_send())  # the server's close
    deliver(server, share)
    assert server.data_to_send() == b""  # no ciphertext after its close
    assert client.pq_rekeys == server.pq_rekeys == 0


def test_bytes_since_pq_rekey_counts_both_ways_and_resets() -> None:
    client, server = established()
    client.send_data(b"x" * 1000)
    server.send_data(b"y" * 10)
    assert run(client, server).error is None
    assert client.bytes_since_pq_rekey == (1000, 10)
    assert server.bytes_since_pq_rekey == (10, 1000)
    server.start_pq_rekey()
    assert run(client, server).error is None
    assert client.bytes_since_pq_rekey == server.bytes_since_pq_rekey == (0, 0)
