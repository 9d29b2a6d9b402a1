"""Write the committed seed corpora, fuzz/corpus/<harness>/, from real peers.

``python -m fuzz.make_seeds`` (from the repository root).  Everything is made with
fixed randomness and fixed keys, so the same files come out on every run; the two
exceptions are kept in fuzz/data/ and made only when missing (or, for the hybrid
server flight, when it no longer completes the handshake): ML-KEM encapsulation and
age's recipient stanzas here cannot take fixed randomness.  The age seeds also take a
few files of the C2SP age testkit (see fuzz/README.md for their provenance).
"""

from __future__ import annotations

import io
import shutil
import struct
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path

from fuzz import age_file, client_hello, server_flight
from fuzz._common import CORPUS, DATA, PATTERN
from pqe2ee import age
from pqe2ee.age.armor import ArmorWriter
from pqe2ee.handshake import (
    NEED_DATA,
    AuthKind,
    Config,
    Connection,
    FixedRandomness,
    Identity,
    Policy,
    State,
)
from pqe2ee.handshake.messages import ClientHello
from pqe2ee.handshake.record import CT_ALERT, CT_HANDSHAKE, plain_frame
from pqe2ee.handshake.suites import KEM_IDS
from pqe2ee.hazmat.kem import get_kem

ROOT = Path(__file__).resolve().parent.parent
TESTKIT = ROOT / "tests" / "vectors" / "age-testkit" / "testdata"
#: Small testkit files, one or two per kind of failure, plus the good ones.
TESTKIT_SEEDS = (
    "x25519", "x25519_bad_tag", "x25519_low_order", "x25519_grease", "x25519_long_share",
    "hmac_bad", "hmac_not_canonical", "header_crlf", "version_unsupported",
    "stanza_base64_padding", "stanza_multiple_short_lines", "stanza_missing_final_line",
    "stream_bad_tag", "stream_no_final", "stream_two_final_chunks_short",
    "stream_no_chunks", "stream_missing_tag", "stream_short_chunk", "stream_short_nonce",
    "scrypt_and_x25519",
    "armor_x25519", "armor_whitespace_eol", "armor_hybrid", "hybrid_multiple_recipients",
)  # fmt: skip


def u16(n: int) -> bytes:
    return struct.pack(">H", n)


def write(harness: str, seeds: Iterable[tuple[str, bytes]]) -> None:
    folder = CORPUS / harness
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in seeds:
        (folder / name).write_bytes(data)


def _real_hello(policy: Policy, kem_seed: bytes, psk: bytes | None = None) -> bytes:
    """What a real client (with fixed randomness) sends first."""
    config = Config(policy=policy, psk=psk, psk_identity=b"psk-1" if psk else b"")
    fixed = FixedRandomness(b"\x11" * 32, kem_seed=kem_seed)
    return Connection(config, "client", fixed_randomness_for_testing_only=fixed).data_to_send()


def _kem_hello(*, known: bool) -> bytes:
    """A kem client's first flight to the harness's kem server: with ``known``, the
    server_auth_ct and the sealed early identity (docs/protocol.md §6.2, §6.3).

    The static encapsulation takes fixed randomness only on an ML-KEM that accepts it:
    X-Wing over kyber-py (a test dependency), as the known-answer tests do."""
    from tests.hazmat._kyberpy import kem_identities_on_kyberpy

    server = client_hello.SERVERS[3].identity
    assert server is not None
    config = Config(
        identity=Identity(AuthKind.KEM, [bytes(range(96, 128))]),
        policy=Policy.for_mode("classical"),
        server_identity=server.public() if known else None,
    )
    fixed = FixedRandomness(
        b"\x11" * 32, kem_seed=b"\x22" * 32, auth_encaps_randomness=b"\x55" * 64
    )
    with kem_identities_on_kyberpy():
        return Connection(config, "client", fixed_randomness_for_testing_only=fixed).data_to_send()


def _second_hello(first: bytes, kem: str, seed: bytes) -> bytes:
    """The client's answer to a HelloRetryRequest for ``kem``: its first hello with only
    that KEM's share.  Made here because one FixedRandomness seed cannot fit two KEMs."""
    hello = ClientHello.decode(first[8:])  # frame header, message header
    share = get_kem(kem).from_seed_bytes(seed).public_key().public_bytes_raw()
    again = ClientHello(hello.random, hello.suites, ((KEM_IDS[kem][0], share),))
    return plain_frame(CT_HANDSHAKE, again.encode())


def _served(stream: bytes, server: int = 0) -> bytes:
    """``stream`` if that harness server answers it with a ServerHello (a real hello)."""
    connection = Connection(client_hello.SERVERS[server], "server")
    connection.receive_data(stream)
    assert connection.next_event() is NEED_DATA
    assert connection.state in (
        State.SERVER_WAIT_FINISHED,
        State.SERVER_WAIT_IDENTITY,
        State.SERVER_WAIT_KEM_CT,
    )
    return stream


def client_hello_seeds() -> Iterable[tuple[str, bytes]]:
    # first byte: which server (0 default, 1 require_pq + PSK + mutual, 2 hybrid identity);
    # second: bit 7 end of stream, bits 0-6 piece size
    hybrid = _served(_real_hello(Policy(), b"\x22" * 96))
    # the server's first choice is hybrid: an X25519-only share earns a HelloRetryRequest
    first = _real_hello(Policy(key_share_kems=("X25519",)), b"\x22" * 32)
    retry = _served(first + _second_hello(first, "X25519MLKEM768", b"\x22" * 96))
    classical = _served(_real_hello(Policy.for_mode("classical"), b"\x22" * 32))
    pq = _served(_real_hello(Policy.for_mode("pq"), b"\x22" * 64))
    psk = _served(_real_hello(Policy(), b"\x22" * 96, psk=client_hello.PSK), server=1)
    yield "hybrid", b"\x00\x00" + hybrid
    yield "hybrid_in_7s_then_eof", b"\x00\x87" + hybrid
    yield "retry", b"\x00\x00" + retry
    yield "retry_bytewise", b"\x00\x01" + retry
    yield "classical", b"\x00\x00" + classical
    yield "pq", b"\x00\x00" + pq
    yield "unknown_psk", b"\x00\x00" + psk
    yield "psk_require_pq_mutual", b"\x01\x00" + psk
    yield "classical_to_require_pq", b"\x01\x00" + classical
    yield "hybrid_identity_server", b"\x02\x00" + _served(hybrid, server=2)
    # the kem server: a client that knows its key (server_auth_ct, early identity), one
    # that does not, and a signing client's hello
    yield "kem_known_early_identity", b"\x03\x00" + _served(_kem_hello(known=True), server=3)
    yield "kem_unknown", b"\x03\x00" + _served(_kem_hello(known=False), server=3)
    yield "kem_server_classical_hello", b"\x03\x00" + _served(classical, server=3)
    yield "alert", b"\x00\x00" + plain_frame(CT_ALERT, b"\x05")
    yield "encrypted_before_keys", b"\x00\x80\x17\x00\x00\x11" + bytes(17)


def hybrid_flight() -> bytes:
    """The recorded hybrid server flight: kept while it still completes the handshake."""
    path = server_flight.HYBRID_FLIGHT
    scenario = server_flight.SCENARIOS[2]
    if path.exists():
        events, error = server_flight.feed(scenario.client_connection(), [path.read_bytes()])
        if error is None and events:
            return path.read_bytes()
    flight = server_flight.server_reply(scenario, deterministic=False)[1]
    path.write_bytes(flight)
    return flight


def server_flight_seeds() -> Iterable[tuple[str, bytes]]:
    classical, mutual = (server_flight.server_reply(s)[1] for s in server_flight.SCENARIOS[:2])
    hybrid = hybrid_flight()
    # the classical flight followed by application data and the close, in one read
    server, flight = server_flight.server_reply(server_flight.SCENARIOS[0])
    client = server_flight.SCENARIOS[0].client_connection()
    client.data_to_send()  # the ClientHello, which the server already has
    client.receive_data(flight)
    while client.next_event() is not NEED_DATA:
        pass
    server.receive_data(client.data_to_send())
    assert server.next_event() is not NEED_DATA and server.handshake_complete
    server.send_data(PATTERN[:300])
    server.close()
    after = server.data_to_send()
    yield "classical", b"\x00\x00" + classical
    yield "classical_bytewise", b"\x00\x01" + classical
    yield "classical_in_13s_then_eof", b"\x00\x8d" + classical
    yield "classical_then_data_and_close", b"\x00\x00" + flight + after
    yield "mutual", b"\x01\x00" + mutual
    yield "mutual_in_64s", b"\x01\x40" + mutual
    yield "hybrid", b"\x02\x00" + hybrid
    yield "hybrid_in_5s", b"\x02\x05" + hybrid


def records_seeds() -> Iterable[tuple[str, bytes]]:
    # op byte: bits 0-2 what (0 send, 1 key update or with arg bit 3 a raw record, 2 close,
    # 3 insert, 4 flip, 5 deliver, 6 drop, 7 deliver in small pieces), bit 3 direction
    # (0 client->server), bits 4-7 arg
    send_c, send_s, deliver_c, deliver_s = b"\x00", b"\x08", b"\x05", b"\x0d"
    both_close = b"\x02\x0a"
    yield "chat", (
        b"\x00" + send_c + u16(100) + deliver_c + u16(0) + send_s + u16(50) + deliver_s
        + u16(0) + both_close
    )  # fmt: skip
    yield "bulk_keyupdate_pieces", (
        b"\x01" + b"\x60" + u16(0x4000) + b"\x11" + send_c + u16(5000) + b"\xf7" + b"\x37"
        + deliver_c + u16(0) + deliver_s + u16(0) + both_close
    )  # fmt: skip
    yield "flip", b"\x00" + send_c + u16(300) + b"\x04" + u16(40) + b"\x80" + deliver_c + u16(0)
    yield "drop", b"\x00" + send_c + u16(300) + b"\x36" + u16(7) + deliver_c + u16(0)
    yield "plain_handshake_after_keys", (
        b"\x00" + send_c + u16(10) + b"\x33" + u16(0) + b"\x16\x00\x00\x05" + both_close
    )  # fmt: skip
    yield "plain_alert_after_keys", (
        b"\x00" + b"\x43" + u16(0) + b"\x15\x00\x00\x01\x05" + send_c + u16(10) + b"\x02"
    )  # fmt: skip
    yield "garbage_after_close", b"\x01" + send_c + u16(20) + b"\x02" + b"\x73" + u16(62) + bytes(8)
    # a keyed peer that breaks the protocol: op 0x81 (client) / 0x89 (server), then the
    # inner type, the content length and the content
    for name, raw in (
        ("close_with_content", b"\x01\x01\x00"),
        ("bad_key_update", b"\x18\x02\x01\x01"),
        ("handshake_after_keys", b"\x16\x04\x14\x00\x00\x00"),
        ("unknown_inner_type", b"\x42\x00"),
        ("alert", b"\x15\x01\x05"),
        ("empty_close", b"\x01\x00"),
        ("empty_data", b"\x17\x00"),
    ):
        yield f"keyed_{name}", b"\x00" + send_c + u16(10) + b"\x81" + raw + both_close
    yield "split_deliveries", (
        b"\x00" + send_c + u16(3000) + deliver_c + u16(7) + deliver_c + u16(1500)
        + b"\x07" + b"\x02" + deliver_c + u16(0)
    )  # fmt: skip


def _testkit_body(name: str) -> bytes:
    raw = (TESTKIT / name).read_bytes()
    head, body = raw.split(b"\n\n", 1)
    return zlib.decompress(body) if b"compressed: zlib" in head else body


def age_reference(name: str, identity: age.X25519Identity | age.HybridIdentity) -> bytes:
    path = age_file.REFERENCE_FILES[name]
    if not path.exists():
        out = io.BytesIO()
        age.encrypt(io.BytesIO(age_file.PLAINTEXT), out, [identity.recipient()])
        path.write_bytes(out.getvalue())
    return path.read_bytes()


def age_seeds() -> Iterable[tuple[str, bytes]]:
    for name in TESTKIT_SEEDS:
        yield f"testkit_{name}", _testkit_body(name)
    for name, identity in zip(age_file.REFERENCE_FILES, age_file.OURS, strict=True):
        ref = age_reference(name, identity)
        yield f"ours_{name}", ref
        yield f"ours_{name}_truncated", ref[:-5]
    armored = io.BytesIO()
    writer = ArmorWriter(armored)
    writer.write(age_reference("x25519", age_file.OURS[0]))
    writer.close()
    yield "ours_x25519_armored", armored.getvalue()


def age_payload_seeds() -> Iterable[tuple[str, bytes]]:
    # control (threads, file to file, chunk band), count, last chunk length u16, n changes,
    # each: kind (0 flip, 1 cut, 2 append, 3 drop, 4 duplicate, 5 swap), i, j, arguments
    yield "three_chunks", b"\x00\x03" + u16(100) + b"\x00"
    yield (
        "three_chunks_files_flip",
        b"\x05\x03" + u16(100) + b"\x01\x00\x00\x00" + u16(1) + b"\x00\x10",
    )
    yield "full_last_chunk_cut", b"\x01\x02" + u16(0) + b"\x01\x01\x00\x00\x02\x00\x10"
    yield "swap", b"\x02\x03" + u16(9) + b"\x01\x05\x00\x02"
    yield "duplicate", b"\x06\x02" + u16(9) + b"\x01\x04\x01\x00"
    yield "batch_edge_drop", b"\x81\x02" + u16(5) + b"\x01\x03\x0f\x00"
    yield "positional", b"\xe4\x00" + u16(7) + b"\x00"
    yield "positional_flip", b"\xe5\x01" + u16(7) + b"\x01\x00\x00\x00" + u16(0x1000) + b"\x00\x01"


def stream_seeds() -> Iterable[tuple[str, bytes]]:
    # control, chunk size u16, length u16, n changes, (pos u16, xor u8)..., n splits, u16...
    yield "small_chunks", b"\x00" + u16(64) + u16(200) + b"\x00" + b"\x00"
    yield (
        "aes_one_chunk_split",
        b"\x01" + u16(0) + u16(1000) + b"\x00" + b"\x03" + u16(5) + u16(17) + u16(600),
    )
    yield (
        "flip",
        b"\x00" + u16(16) + u16(100) + b"\x01" + u16(40) + b"\x04" + b"\x02" + u16(30) + u16(31),
    )
    yield "truncate", b"\x02" + u16(32) + u16(500) + b"\x01" + u16(400) + b"\x00" + b"\x00"
    yield "append", b"\x10" + u16(32) + u16(64) + b"\x01" + u16(0) + b"\x01" + b"\x00"
    yield "empty", b"\x00" + u16(16) + u16(0) + b"\x00" + b"\x00"
    yield "large_3_threads", b"\x2c" + u16(0) + u16(1000) + b"\x00" + b"\x02" + u16(4000) + u16(20)
    yield (
        "large_2_threads_flip",
        b"\x2b" + u16(0) + u16(2) + b"\x01" + u16(0xFFF0) + b"\x20" + b"\x01" + u16(100),
    )


def ssh_server_seeds() -> Iterable[tuple[str, bytes]]:
    """The greeting of Debian's OpenSSH 9.2p1 (fuzz/data/, recorded once), and variants."""
    real = (DATA / "openssh_9.2p1_greeting.bin").read_bytes()
    line_end = real.index(b"\n") + 1
    ident, kexinit = real[:line_end], real[line_end:]
    ignore = struct.pack(">IB", 12, 6) + b"\x02" + bytes(4) + bytes(6)  # SSH_MSG_IGNORE ""
    yield "openssh", b"\x00" + real
    yield "openssh_bytewise", b"\x01" + real
    yield "pre_lines", b"\x07" + b"Welcome\r\nauthorised use only\n" + real
    yield "ignore_first", b"\x00" + ident + ignore + kexinit
    yield "truncated", b"\x00" + real[:-100]
    yield "huge_length", b"\x00" + ident + b"\x80\x00\x00\x00"
    yield "busy", b"\x00Exceeded MaxStartups\r\n"
    yield "http", b"\x00HTTP/1.1 400 Bad Request\r\n\r\n"


def main() -> None:
    if not TESTKIT.is_dir():
        sys.exit(f"make_seeds: the age testkit is not at {TESTKIT}")
    DATA.mkdir(exist_ok=True)
    write("client_hello", client_hello_seeds())
    write("server_flight", server_flight_seeds())
    write("records", records_seeds())
    write("age_file", age_seeds())
    write("age_payload", age_payload_seeds())
    write("stream_core", stream_seeds())
    write("ssh_server", ssh_server_seeds())


if __name__ == "__main__":
    main()
