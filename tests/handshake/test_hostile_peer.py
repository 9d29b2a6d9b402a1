"""A hostile peer, or anyone on the path, against the sans-IO core (issue 11): frames
that can never be valid after keys fail at their first byte, the receiver holds the
sender to the key-usage limits, key-update floods are bounded, unauthenticated alerts
are reported as such, a HelloRetryRequest binds the suite, and a post-quantum server
asks a post-quantum identity of its clients."""

from __future__ import annotations

import os

import pytest

from pqe2ee.exceptions import (
    DowngradeError,
    IdentityRejected,
    InvalidInput,
    LocalProtocolError,
    Pqe2eeError,
    RemoteProtocolError,
    UnauthenticatedAlert,
)
from pqe2ee.handshake import NEED_DATA, AuthKind, Config, Connection, Policy, Suite
from pqe2ee.handshake import record as rec
from pqe2ee.handshake.connection import MAX_KEY_UPDATES_IN_A_ROW, Alert, State
from pqe2ee.handshake.events import DataReceived, Event
from tests.handshake.util import drain, identity, pair, run


def established() -> tuple[Connection, Connection]:
    client, server = pair(Config(), Config(identity=identity()))
    out = run(client, server)
    assert out.client_done and out.server_done
    return client, server


def events(conn: Connection) -> list[Event]:
    got: list[Event] = []
    drain(conn, got)
    return got


def data_of(got: list[Event]) -> bytes:
    return b"".join(e.data for e in got if isinstance(e, DataReceived))


def _seal(conn: Connection, inner: int, content: bytes) -> bytes:
    """A record sealed straight under ``conn``'s write key: what a peer that ignores the
    usage limits (or any rule of send_data) would put on the wire."""
    assert conn._transport.write is not None
    return bytes(conn._transport.write.seal(inner, content))


# ------------------------------------------------------------------ first byte is enough
INJECTED = [bytes.fromhex("16005fff"), bytes.fromhex("15000002"), bytes.fromhex("16")]


@pytest.mark.parametrize("junk", INJECTED, ids=lambda b: b.hex())
@pytest.mark.parametrize("side", ["client", "server"])
def test_a_plaintext_frame_after_keys_is_fatal_at_its_first_byte(junk: bytes, side: str) -> None:
    client, server = established()
    sender, victim = (server, client) if side == "client" else (client, server)
    sender.send_data(b"authentic")
    victim.receive_data(sender.data_to_send() + junk)
    assert data_of([victim.next_event()]) == b"authentic"  # what came before still counts
    with pytest.raises(RemoteProtocolError, match=r"content type 0x1[56] after keys"):
        victim.next_event()
    assert victim.state is State.ERROR
    assert victim.data_to_send()  # an alert for the peer, under the keys
    with pytest.raises(RemoteProtocolError):  # and it stays dead
        victim.receive_data(b"\x17")


def test_one_byte_is_enough_whatever_follows_later() -> None:
    client, _ = established()
    client.receive_data(b"\x16")
    with pytest.raises(Pqe2eeError):
        client.next_event()


def test_after_the_first_server_flight_the_client_refuses_plaintext_at_once() -> None:
    # the client has handshake keys from ServerHello on: a lone 0x15 behind it is fatal
    client = Connection(Config(), "client")
    server = Connection(Config(identity=identity()), "server")
    server.receive_data(client.data_to_send())
    assert server.next_event() is NEED_DATA
    flight = server.data_to_send()
    hello_len = 4 + int.from_bytes(flight[1:4], "big")
    client.receive_data(flight[:hello_len] + b"\x15")
    with pytest.raises(RemoteProtocolError, match="after keys"):
        client.next_event()


def test_an_unknown_content_type_is_refused_at_its_first_byte_before_keys() -> None:
    server = Connection(Config(identity=identity()), "server")
    server.receive_data(b"G")  # "GET / HTTP/1.1" would never be a frame
    with pytest.raises(RemoteProtocolError, match=r"does not speak pqe2ee \(.*HTTP\)"):
        server.next_event()


# ------------------------------------------------------------------ receiver-side limits
def test_data_past_the_record_limit_without_a_key_update_is_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 8)
    wire = b"".join(_seal(server, rec.INNER_DATA, b"%d;" % i) for i in range(8))
    client.receive_data(wire)
    assert data_of(events(client)) == b"".join(b"%d;" % i for i in range(8))
    client.receive_data(_seal(server, rec.INNER_DATA, b"one too many"))
    with pytest.raises(RemoteProtocolError, match="usage limit"):
        client.next_event()


def test_data_past_the_byte_limit_without_a_key_update_is_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "BYTE_LIMIT", 1000)
    for _ in range(3):  # 0, 400, 800 bytes used before each: under the limit
        client.receive_data(_seal(server, rec.INNER_DATA, bytes(400)))
        assert len(data_of(events(client))) == 400
    client.receive_data(_seal(server, rec.INNER_DATA, bytes(400)))  # 1200 used before it
    with pytest.raises(RemoteProtocolError, match="usage limit"):
        client.next_event()


def test_the_bulk_path_does_not_open_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 8)
    assert server._transport.write is not None
    wire = bytes(
        server._transport.write.seal_many(rec.INNER_DATA, os.urandom(20 * rec.MAX_PLAINTEXT))
    )
    client.receive_data(wire)
    got: list[Event] = []
    with pytest.raises(RemoteProtocolError, match="usage limit"):
        drain(client, got)
    assert len(data_of(got)) == 8 * rec.MAX_PLAINTEXT


def test_an_honest_sender_at_a_low_limit_is_never_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 4)
    monkeypatch.setattr(rec, "BYTE_LIMIT", 3 * rec.MAX_PLAINTEXT)
    payload = os.urandom(11 * rec.MAX_PLAINTEXT + 5)
    got = bytearray()
    for i in range(0, len(payload), 30000):  # bulk and small sends alike
        server.send_data(payload[i : i + 30000])
        client.receive_data(server.data_to_send())
        got += data_of(events(client))
    for n in range(10):  # many small records, one at a time
        server.send_data(b"%d" % n)
        client.receive_data(server.data_to_send())
        got += data_of(events(client))
    assert bytes(got) == payload + b"0123456789"


def test_a_key_update_just_past_the_limit_is_still_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server = established()
    monkeypatch.setattr(rec, "RECORD_LIMIT", 2)
    client.receive_data(b"".join(_seal(server, rec.INNER_DATA, b"x") for _ in range(2)))
    assert data_of(events(client)) == b"xx"
    server.update_keys()  # sealed as record 2, the first past the limit
    server.send_data(b"fresh key")
    client.receive_data(server.data_to_send())
    assert data_of(events(client)) == b"fresh key"


# ------------------------------------------------------------------ key-update flood
def _raw_key_update(conn: Connection) -> bytes:
    """A key update that requests one back, past any limit the API keeps."""
    assert conn._transport.write is not None
    record = _seal(conn, rec.INNER_KEY_UPDATE, b"\x01")
    conn._transport.write.update()
    return record


def test_a_key_update_flood_is_answered_once_and_then_cut_off() -> None:
    client, server = established()
    for n in range(1, MAX_KEY_UPDATES_IN_A_ROW + 1):
        client.receive_data(_raw_key_update(server))
        assert events(client) == []
        answer = client.data_to_send()
        # one answer to the first request; nothing more while the client sends no data
        assert len(answer) == (4 + 1 + 1 + 16 if n == 1 else 0)
        if answer:
            server.receive_data(answer)
            assert events(server) == []
    client.receive_data(_raw_key_update(server))
    with pytest.raises(RemoteProtocolError, match="key updates with no data"):
        client.next_event()


def test_data_resets_the_key_update_count_and_the_answer() -> None:
    client, server = established()
    for round_ in range(3):
        for _ in range(MAX_KEY_UPDATES_IN_A_ROW):
            server.update_keys(request_peer=True)
        server.send_data(b"data %d" % round_)
        client.receive_data(server.data_to_send())
        assert data_of(events(client)) == b"data %d" % round_
        client.send_data(b"reply")  # data sent: the next request is answered again
        server.receive_data(client.data_to_send())
        assert data_of(events(server)) == b"reply"
    assert client._transport.write is not None
    key_before = client._transport.write.lend(sending=True).key
    server.update_keys(request_peer=True)
    client.receive_data(server.data_to_send())
    assert events(client) == []
    assert client._transport.write.lend(sending=True).key != key_before  # answered: a fresh key
    server.receive_data(client.data_to_send())
    assert events(server) == []


# ------------------------------------------------------------------ exporter
@pytest.mark.parametrize(
    ("label", "length"), [("x" * 248, 32), ("ok", 0), ("ok", 255 * 32 + 1), ("ok", -1)]
)
def test_exporter_refuses_impossible_requests_with_invalid_input(label: str, length: int) -> None:
    client, _ = established()
    with pytest.raises(InvalidInput):
        client.export_keying_material(label, b"", length)


def test_exporter_limits_are_inclusive() -> None:
    client, server = established()
    a = client.export_keying_material("x" * 247, b"ctx", 255 * 32)
    assert a == server.export_keying_material("x" * 247, b"ctx", 255 * 32)


# ------------------------------------------------------------------ alerts before keys
def test_a_plaintext_downgrade_alert_is_reported_as_unauthenticated() -> None:
    client = Connection(Config(), "client")
    client.receive_data(bytes.fromhex("1500000103"))
    with pytest.raises(UnauthenticatedAlert, match="not authenticated") as caught:
        client.next_event()
    assert not isinstance(caught.value, (DowngradeError, IdentityRejected))
    assert caught.value.alert == Alert.DOWNGRADE
    assert "downgrade" in str(caught.value)


def test_an_alert_under_application_keys_keeps_its_meaning() -> None:
    client, server = established()
    assert server._transport.write is not None
    client.receive_data(_seal(server, rec.INNER_ALERT, bytes([Alert.DOWNGRADE])))
    with pytest.raises(DowngradeError):
        client.next_event()


# ------------------------------------------------------------------ HelloRetryRequest
def test_after_a_retry_the_server_hello_must_take_the_suite_asked_for() -> None:
    hybrid = Suite("X25519MLKEM768", AuthKind.ED25519, "chacha20-poly1305")
    asked = Suite("X25519", AuthKind.ED25519, "chacha20-poly1305")
    other = Suite("X25519", AuthKind.ED25519, "aes-256-gcm")
    client = Connection(Config(policy=Policy(suites=(hybrid, asked, other))), "client")
    server = Connection(Config(identity=identity(), policy=Policy(suites=(asked, other))), "server")
    server.receive_data(client.data_to_send())
    assert server.next_event() is NEED_DATA
    client.receive_data(server.data_to_send())  # the HelloRetryRequest, for `asked`
    assert client.next_event() is NEED_DATA
    # a server that then answers with another suite sharing the KEM (same transcript)
    server._hs.config = Config(identity=identity(), policy=Policy(suites=(other,)))
    server.receive_data(client.data_to_send())
    assert server.next_event() is NEED_DATA
    assert server.suite == other
    client.receive_data(server.data_to_send())
    with pytest.raises(RemoteProtocolError, match="HelloRetryRequest asked for"):
        client.next_event()


# ------------------------------------------------------------------ post-quantum clients
def _mutual(server_kind: str, client_kind: str, **policy: object) -> tuple[object, object]:
    client, server = pair(
        Config(identity=identity(client_kind)),
        Config(
            identity=identity(server_kind),
            require_client_identity=True,
            policy=Policy(**policy),  # type: ignore[arg-type]
        ),
    )
    out = run(client, server)
    return out.client_error, out.server_error


def test_a_post_quantum_server_refuses_a_classical_client_identity() -> None:
    client_error, server_error = _mutual("ml-dsa-65", "ed25519")
    assert isinstance(server_error, IdentityRejected)
    assert "post-quantum client identity is required" in str(server_error)
    # the client finished its side; the refusal comes under application keys, authenticated
    assert isinstance(client_error, IdentityRejected)


@pytest.mark.parametrize(
    ("server_kind", "client_kind"),
    [("ml-dsa-65", "hybrid"), ("hybrid", "ml-dsa-65"), ("ed25519", "ed25519")],
)
def test_a_client_at_least_as_post_quantum_is_accepted(server_kind: str, client_kind: str) -> None:
    assert _mutual(server_kind, client_kind) == (None, None)


def test_require_pq_with_a_classical_server_identity_accepts_a_classical_client() -> None:
    assert _mutual("ed25519", "ed25519", require_pq=True) == (None, None)


def test_the_policy_can_allow_classical_clients() -> None:
    assert _mutual("hybrid", "ed25519", allow_classical_client_identity=True) == (None, None)


@pytest.mark.parametrize(
    ("inner", "error"),
    # type 0 is padding (docs/protocol.md §10.1): an empty record of it has no type at all
    [(0x00, "record has no inner type"), (0x42, "unknown inner record type 0x42")],
)
def test_data_before_a_record_of_unknown_inner_type_is_handed_out_first(
    inner: int, error: str
) -> None:
    client, server = established()
    server.send_data(b"abc")
    client.receive_data(server.data_to_send() + _seal(server, inner, b""))
    assert data_of([client.next_event()]) == b"abc"  # as one record at a time would
    with pytest.raises(RemoteProtocolError, match=error):
        client.next_event()


def test_the_sender_honours_the_key_update_limit_the_receiver_enforces() -> None:
    client, server = established()
    for _ in range(MAX_KEY_UPDATES_IN_A_ROW):
        server.update_keys()
    with pytest.raises(LocalProtocolError, match="key updates in a row"):
        server.update_keys()
    client.receive_data(server.data_to_send())
    assert events(client) == []  # all 64 taken
    client.update_keys(request_peer=True)  # a request the server may not answer now
    server.receive_data(client.data_to_send())
    assert events(server) == [] and server.data_to_send() == b""
    server.send_data(b"data resets it")
    server.update_keys()
    client.receive_data(server.data_to_send())
    assert data_of(events(client)) == b"data resets it"
