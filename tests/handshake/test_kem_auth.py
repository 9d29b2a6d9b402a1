"""``kem`` identities (docs/protocol.md §6.2, §6.3): authentication by decapsulation.

Every pattern round trips (and byte at a time), every byte of every flight matters, a
known kem server cannot be talked down to a signature kind, replayed flights complete
nothing, and a stale or foreign key fails with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pqe2ee.exceptions import (
    DowngradeError,
    IdentityRejected,
    KnownPeerMismatch,
    RemoteProtocolError,
    UnauthenticatedAlert,
)
from pqe2ee.handshake import AuthKind, Config, Connection, Identity, Policy, PublicIdentity
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.events import DataReceived
from pqe2ee.handshake.state import Alert, State
from tests.handshake.util import drain, end_streams, flip_byte, identity, run


@dataclass(frozen=True)
class Pattern:
    """One way a kem identity takes part: server kind, client kind, known server key."""

    name: str
    server: str
    client: str | None  # None: no client identity asked for
    known: bool
    flights: int

    def configs(self, *, server_id: str | None = None) -> tuple[Config, Config]:
        sid = identity(self.server)
        cid = identity(self.client, 1) if self.client else None
        known_key = identity(server_id or self.server).public()
        client = Config(
            identity=cid,
            peer_fingerprints=frozenset({sid.public().fingerprint()}),
            server_identity=known_key if self.known else None,
        )
        server = Config(
            identity=sid,
            require_client_identity=self.client is not None,
            peer_fingerprints=frozenset({cid.public().fingerprint()}) if cid else frozenset(),
        )
        return client, server

    def pair(self) -> tuple[Connection, Connection]:
        client, server = self.configs()
        return Connection(client, "client"), Connection(server, "server")


PATTERNS = [
    # the client knows the server's key: one round trip, as the signature suites
    Pattern("known/server-auth", "kem", None, True, 3),
    Pattern("known/mutual-kem", "kem", "kem", True, 3),  # early identity (§6.3)
    Pattern("known/mutual-hybrid", "kem", "hybrid", True, 3),
    # the server sends its key first: the client's KemCiphertext costs a flight
    Pattern("unknown/server-auth", "kem", None, False, 5),
    Pattern("unknown/mutual-kem", "kem", "kem", False, 7),
    # a signing server whose client proves itself by decapsulation
    Pattern("ed25519-server/kem-client", "ed25519", "kem", False, 5),
]
IDS = [p.name for p in PATTERNS]


@pytest.mark.parametrize("pattern", PATTERNS, ids=IDS)
def test_every_pattern_completes_with_the_right_peers_and_one_session(pattern: Pattern) -> None:
    client, server = pattern.pair()
    out = run(client, server)
    assert out.error is None
    assert out.client_done and out.server_done
    assert len(out.flights) == pattern.flights
    assert client.peer_identity == identity(pattern.server).public()
    if pattern.client:
        assert server.peer_identity == identity(pattern.client, 1).public()
    else:
        assert server.peer_identity is None
    assert client.export_keying_material("t", b"", 32) == server.export_keying_material(
        "t", b"", 32
    )
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    assert server.next_event() == DataReceived(b"ping")
    server.send_data(b"pong")
    client.receive_data(server.data_to_send())
    assert client.next_event() == DataReceived(b"pong")


@pytest.mark.parametrize("pattern", PATTERNS, ids=IDS)
def test_every_pattern_byte_at_a_time(pattern: Pattern) -> None:
    out = run(*pattern.pair(), byte_at_a_time=True)
    assert out.error is None and out.client_done and out.server_done


def test_kem_authentication_sends_fewer_bytes_than_ml_dsa_65() -> None:
    kem = run(*PATTERNS[1].pair())
    sid, cid = identity("ml-dsa-65"), identity("ml-dsa-65", 1)
    mldsa = run(
        Connection(Config(identity=cid), "client"),
        Connection(Config(identity=sid, require_client_identity=True), "server"),
    )
    assert mldsa.error is None and kem.error is None
    assert sum(len(d) for _, d in kem.flights) < sum(len(d) for _, d in mldsa.flights)


#: The flights no other test tampers with: all of the two mutual kem patterns (the
#: server-auth ones are their prefixes), and the kem client's flights after an ed25519
#: server's (whose first two are the signature suites', tampered in test_attacks.py).
_CASES = [
    (p, flight)
    for p in PATTERNS
    for flight in range(p.flights)
    if p.name in ("known/mutual-kem", "unknown/mutual-kem")
    or (p.name == "ed25519-server/kem-client" and flight >= 2)
]


@pytest.mark.parametrize(
    ("pattern", "flight"), _CASES, ids=[f"{p.name}-flight{f}" for p, f in _CASES]
)
def test_flipping_any_byte_of_any_flight_fails(pattern: Pattern, flight: int) -> None:
    """Each flight of the kem patterns (the other patterns are their prefixes), byte by
    byte (every third byte of flights over 1500 bytes): no handshake completes."""
    honest = run(*pattern.pair()).flights
    size = len(honest[flight][1])
    stride = 3 if size > 1500 else 1
    for pos in range(0, size, stride):
        client, server = pattern.pair()
        out = run(client, server, mutate=flip_byte(flight, pos))
        if out.error is None:
            end_streams(out, client, server)
        assert out.error is not None, f"flight {flight} byte {pos} went unnoticed"
        assert not out.server_done, f"server completed despite byte {pos} of flight {flight}"


# ---------------------------------------------------------------------- downgrade


def test_a_known_kem_server_cannot_be_replaced_by_a_signing_one() -> None:
    """The client knows the server by its kem key; whoever answers with an ed25519
    identity (an attacker's own, under require_pq with every auth kind offered) is a
    downgrade, refused at its ServerHello before any signature is looked at."""
    known = identity("kem").public()
    client = Connection(Config(policy=Policy(require_pq=True), server_identity=known), "client")
    impostor = Connection(Config(identity=identity("ed25519", 7)), "server")
    out = run(client, impostor)
    assert isinstance(out.client_error, DowngradeError)
    assert "known by a kem identity" in str(out.client_error)
    assert not out.client_done


def test_a_recorded_kem_peer_refuses_a_signing_identity(tmp_path: object) -> None:
    """Known peers (no key given to the handshake): an ed25519 identity where a kem one
    was recorded is a changed identity."""
    from pathlib import Path

    from pqe2ee.trust import KnownPeers

    store = KnownPeers(Path(str(tmp_path)) / "known_peers")
    store.check("host:1", identity("kem").public())
    client = Connection(Config(check_peer=store.server_check("host:1")), "client")
    impostor = Connection(Config(identity=identity("ed25519", 7)), "server")
    out = run(client, impostor)
    assert isinstance(out.client_error, KnownPeerMismatch)


def test_rewriting_the_chosen_auth_kind_fails() -> None:
    """A man in the middle who rewrites the kem suite's auth code in the ServerHello (to
    have the client take another kind) changes the transcript both sides hash."""
    kem_code = AuthKind.KEM.code.to_bytes(2, "big")
    ed_code = AuthKind.ED25519.code.to_bytes(2, "big")

    def mutate(direction: str, flight: int, data: bytes) -> bytes | None:
        if flight == 1:
            at = data.index(kem_code, 4 + 4 + 2 + 32 + 2)  # in the suite after the random
            return data[:at] + ed_code + data[at + 2 :]
        return data

    client, server = PATTERNS[3].pair()
    out = run(client, server, mutate=mutate)
    assert out.error is not None and not out.client_done and not out.server_done


def test_stripping_kem_suites_from_the_offer_leaves_no_common_suite() -> None:
    """The server's only identity is kem: with the kem suites stripped from the
    ClientHello there is nothing it can serve, and nothing weaker is picked."""
    kem_code = AuthKind.KEM.code

    def mutate(direction: str, flight: int, data: bytes) -> bytes | None:
        if flight != 0:
            return data
        hello = m.ClientHello.decode(data[8:])
        kept = tuple(s for s in hello.suites if s[1] != kem_code)
        changed = m.ClientHello(hello.random, kept, hello.key_shares, hello.psk_identity).encode()
        return _frame(changed)

    client, server = PATTERNS[3].pair()
    out = run(client, server, mutate=mutate)
    assert out.server_error is not None
    assert int(out.server_error.alert or 0) == Alert.NO_COMMON_SUITE
    assert not out.client_done


def _frame(message: bytes) -> bytes:
    return bytes([0x16]) + len(message).to_bytes(3, "big") + message


# ---------------------------------------------------------------------- replay


def test_a_replayed_client_hello_with_early_identity_completes_nothing() -> None:
    """An attacker replays a recorded first flight (with its sealed early identity) and
    then the client's recorded Finished: the server answers with fresh randomness and a
    fresh KemCiphertext, so the old Finished does not even open (other record keys)."""
    pattern = PATTERNS[1]
    recorded = run(*pattern.pair()).flights
    _, server_config = pattern.configs()
    server = Connection(server_config, "server")
    server.receive_data(recorded[0][1])
    assert drain_ok(server) is None
    assert server.state is State.SERVER_WAIT_FINISHED  # it took the early identity
    server.receive_data(recorded[2][1])
    error = drain_ok(server)
    assert isinstance(error, RemoteProtocolError)
    assert error.alert == Alert.BAD_RECORD_MAC
    assert not server.handshake_complete and server.peer_identity is None


def test_a_replayed_server_flight_fails_at_the_client() -> None:
    pattern = PATTERNS[0]
    recorded = run(*pattern.pair()).flights
    client_config, _ = pattern.configs()
    client = Connection(client_config, "client")
    client.data_to_send()
    client.receive_data(recorded[1][1])
    error = drain_ok(client)
    assert isinstance(error, RemoteProtocolError)
    assert not client.handshake_complete


def drain_ok(conn: Connection) -> RemoteProtocolError | None:
    try:
        drain(conn, [])
    except RemoteProtocolError as exc:
        return exc
    return None


# ---------------------------------------------------------------------- wrong keys


def test_a_stale_known_key_fails_with_the_reason() -> None:
    """The client encapsulated to a key the server no longer holds: it cannot open the
    server's first encrypted record, and says which key it expected."""
    client_config, server_config = PATTERNS[0].configs()
    stale = identity("kem", 5).public()
    client_config = Config(peer_fingerprints=client_config.peer_fingerprints, server_identity=stale)
    out = run(Connection(client_config, "client"), Connection(server_config, "server"))
    assert isinstance(out.client_error, IdentityRejected)
    assert stale.fingerprint_hex() in str(out.client_error)
    assert not out.server_done


def _impostor(real: Identity) -> Identity:
    """A kem identity that presents ``real``'s public key but holds another secret."""

    class Impostor(Identity):
        def public(self) -> PublicIdentity:
            return real.public()

    return Impostor(AuthKind.KEM, [bytes(32)])


def test_an_impostor_without_the_secret_key_cannot_finish() -> None:
    """A server presenting the real kem public key (it is public) but not holding the
    secret key derives other keys: its Finished does not verify."""
    real = identity("kem")

    fake = _impostor(real)
    client = Connection(
        Config(peer_fingerprints=frozenset({real.public().fingerprint()})), "client"
    )
    server = Connection(Config(identity=fake), "server")
    out = run(client, server)
    assert isinstance(out.client_error, RemoteProtocolError)
    assert "Finished does not verify" in str(out.client_error)
    assert not out.client_done


def test_a_kem_client_without_the_secret_key_cannot_finish() -> None:
    real = identity("kem", 1)

    fake = _impostor(real)
    for known in (True, False):
        sid = identity("kem")
        client = Connection(
            Config(
                identity=fake,
                peer_fingerprints=frozenset({sid.public().fingerprint()}),
                server_identity=sid.public() if known else None,
            ),
            "client",
        )
        server = Connection(
            Config(
                identity=sid,
                require_client_identity=True,
                peer_fingerprints=frozenset({real.public().fingerprint()}),
            ),
            "server",
        )
        out = run(client, server)
        # early identity: the server's Finished already depends on the client's secret,
        # so the impostor fails on it; otherwise the server fails on the client's
        failed = out.client_error if known else out.server_error
        assert isinstance(failed, RemoteProtocolError), known
        assert "Finished does not verify" in str(failed)
        assert not out.server_done and server.peer_identity is None


def test_an_early_identity_that_does_not_open_is_not_taken() -> None:
    """A sealed early identity changed in transit: the server cannot open it, takes no
    identity from it, and the handshake fails (the transcript differs too)."""
    pattern = PATTERNS[1]

    def mutate(direction: str, flight: int, data: bytes) -> bytes | None:
        if flight == 0:
            return data[:-5] + bytes([data[-5] ^ 1]) + data[-4:]
        return data

    client, server = pattern.pair()
    out = run(client, server, mutate=mutate)
    assert out.error is not None and not out.server_done
    assert server.peer_identity is None


def test_the_pq_server_rule_holds_for_kem_servers() -> None:
    """A kem server (post-quantum) refuses a classical client identity by default."""
    sid = identity("kem")
    client = Connection(
        Config(identity=identity("ed25519", 1), server_identity=sid.public()), "client"
    )
    server = Connection(Config(identity=sid, require_client_identity=True), "server")
    out = run(client, server)
    assert isinstance(out.server_error, IdentityRejected)
    assert "classical" in str(out.server_error)


def test_server_identity_must_be_a_kem_identity_with_a_kem_suite() -> None:
    with pytest.raises(ValueError, match="kem identities"):
        Config(server_identity=identity("ed25519").public())
    with pytest.raises(ValueError, match="kem suite"):
        Config(
            server_identity=identity("kem").public(),
            policy=Policy.for_mode("hybrid", AuthKind.ED25519),
        )


# ---------------------------------------------------------------------- versions


def test_a_version_1_client_is_refused_with_a_protocol_version_alert() -> None:
    client = Connection(Config(), "client")
    hello = bytearray(client.data_to_send())
    assert hello[8:10] == b"\x00\x02"
    hello[8:10] = b"\x00\x01"
    server = Connection(Config(identity=identity()), "server")
    server.receive_data(bytes(hello))
    error = drain_ok(server)
    assert isinstance(error, RemoteProtocolError)
    assert error.alert == Alert.PROTOCOL_VERSION
    assert "version 1" in str(error) and "upgrade the client" in str(error)
    assert server.data_to_send() == bytes([0x15, 0, 0, 1, Alert.PROTOCOL_VERSION])


def test_a_newer_client_is_served_in_version_2() -> None:
    client = Connection(Config(), "client")
    hello = bytearray(client.data_to_send())
    hello[8:10] = b"\x00\x03"
    server = Connection(Config(identity=identity()), "server")
    server.receive_data(bytes(hello))
    assert drain_ok(server) is None
    answer = server.data_to_send()
    assert answer[0] == 0x16 and answer[4] == m.MSG_SERVER_HELLO
    assert answer[8:10] == b"\x00\x02"


def test_a_version_1_server_s_answer_says_what_to_do() -> None:
    """A v1 server answers a v2 hello with a decode-error alert (its parser refuses the
    version); the client says that an old server may be why."""
    client = Connection(Config(), "client")
    client.data_to_send()
    client.receive_data(bytes([0x15, 0, 0, 1, Alert.DECODE_ERROR]))
    error = drain_ok(client)
    assert isinstance(error, UnauthenticatedAlert)
    assert "protocol version 1" in str(error)


def test_a_server_hello_of_another_version_is_refused() -> None:
    client, server = PATTERNS[0].pair()
    server.receive_data(client.data_to_send())
    drain(server, [])
    flight = bytearray(server.data_to_send())
    flight[8:10] = b"\x00\x01"
    client.receive_data(bytes(flight))
    error = drain_ok(client)
    assert isinstance(error, RemoteProtocolError)
    assert error.alert == Alert.PROTOCOL_VERSION
