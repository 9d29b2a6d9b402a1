"""The client parsing the server's flight (ServerHello, then the encrypted
EncryptedExtensions, Identity, IdentityVerify and Finished), mutated by the fuzzer.

The client's randomness is fixed (``FixedRandomness``, test-only), so its ClientHello
and its ephemeral key are the same on every run, and one real server flight answers
them all.  Scenarios (first input byte, modulo 3): classical X25519 with an Ed25519
server, fully deterministic; the same with AES-256-GCM and mutual authentication; and
hybrid X25519MLKEM768, whose recorded real flight is ``fuzz/data/hybrid_flight.bin``
(ML-KEM encapsulation here cannot take fixed randomness).  The second byte says how to
feed the rest (bit 7: end the stream after it; bits 0-6: pieces of that size, 0 = whole).

Properties: only :class:`Pqe2eeError` subclasses escape; the handshake completes if
and only if the bytes start with the real flight (tampering is never accepted, and
the real flight in any split always is); application data after it, if any, is a
prefix of what the real server sent; a failed connection stays failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from fuzz._common import DATA, PATTERN, Input, chunks, is_prefix
from pqe2ee.exceptions import Pqe2eeError
from pqe2ee.handshake import (
    NEED_DATA,
    AuthKind,
    Config,
    Connection,
    DataReceived,
    FixedRandomness,
    HandshakeComplete,
    Identity,
    Policy,
    State,
)

SERVER_ID = Identity(AuthKind.ED25519, [bytes(range(32))])
CLIENT_ID = Identity(AuthKind.ED25519, [bytes(range(32, 64))])
HYBRID_FLIGHT = DATA / "hybrid_flight.bin"


@dataclass(frozen=True)
class Scenario:
    name: str
    client: Config
    server: Config
    kem_seed: bytes

    def client_connection(self) -> Connection:
        fixed = FixedRandomness(b"\x11" * 32, kem_seed=self.kem_seed)
        return Connection(self.client, "client", fixed_randomness_for_testing_only=fixed)

    def server_connection(self, deterministic: bool = True) -> Connection:
        fixed = FixedRandomness(b"\x33" * 32, encaps_randomness=b"\x44" * 32)
        return Connection(
            self.server,
            "server",
            fixed_randomness_for_testing_only=fixed if deterministic else None,
        )


def _policy(mode: str, aead: str) -> Policy:
    return Policy.for_mode(mode, AuthKind.ED25519, aead=aead)


_CLASSICAL = _policy("classical", "chacha20-poly1305")
_MUTUAL = _policy("classical", "aes-256-gcm")
_HYBRID = _policy("hybrid", "chacha20-poly1305")
SCENARIOS = (
    Scenario("classical", Config(policy=_CLASSICAL), Config(SERVER_ID, _CLASSICAL), b"\x22" * 32),
    Scenario(
        "mutual",
        Config(identity=CLIENT_ID, policy=_MUTUAL),
        Config(SERVER_ID, _MUTUAL, require_client_identity=True),
        b"\x22" * 32,
    ),
    Scenario("hybrid", Config(policy=_HYBRID), Config(SERVER_ID, _HYBRID), b"\x22" * 96),
)


def server_reply(scenario: Scenario, deterministic: bool = True) -> tuple[Connection, bytes]:
    """A real server's answer to the scenario's (fixed) ClientHello: (server, flight)."""
    server = scenario.server_connection(deterministic)
    server.receive_data(scenario.client_connection().data_to_send())
    assert server.next_event() is NEED_DATA
    return server, server.data_to_send()


def _reference(scenario: Scenario) -> bytes | None:
    if scenario.name != "hybrid":
        return server_reply(scenario)[1]
    return HYBRID_FLIGHT.read_bytes() if HYBRID_FLIGHT.exists() else None


#: The real flight per scenario (None: not recorded yet; run fuzz/make_seeds.py).
REFERENCE = tuple(_reference(s) for s in SCENARIOS)


def feed(client: Connection, pieces: list[bytes]) -> tuple[list[object], Pqe2eeError | None]:
    """Feed ``pieces``; the events, and the error that ended it (if one did)."""
    events: list[object] = []
    for piece in pieces:
        try:
            client.receive_data(piece)
            while (event := client.next_event()) is not NEED_DATA:
                events.append(event)
        except Pqe2eeError as exc:
            return events, exc
        client.data_to_send()
    return events, None


def test_one_input(data: bytes) -> None:
    source = Input(data)
    which = source.u8() % len(SCENARIOS)
    control = source.u8()
    flight = source.rest()
    reference = REFERENCE[which]
    if reference is None:
        return
    pieces = chunks(flight, control & 0x7F)
    if control & 0x80:
        pieces.append(b"")
    client = SCENARIOS[which].client_connection()
    events, error = feed(client, pieces)
    completed = any(isinstance(e, HandshakeComplete) for e in events)
    if flight.startswith(reference):
        assert completed, f"the real flight did not complete: {error!r}"
    else:
        assert not completed, "a tampered server flight completed the handshake"
        assert not events, events
    received = b"".join(e.data for e in events if isinstance(e, DataReceived))
    assert is_prefix(received, PATTERN), "application data that the server never sent"
    if error is not None:
        assert client.state is State.ERROR, client.state
        try:
            client.next_event()
        except Pqe2eeError as again:
            assert again is error
        else:
            raise AssertionError("a failed connection produced more")
