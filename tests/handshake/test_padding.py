"""Record padding (docs/protocol.md §10): the policies, the sizes an observer sees, round
trips under every policy on the one-record and the C bulk paths, and tampering.

The observer's view is the frame length: ``4 + P(len(content) + 1) + 16`` for a record,
and these tests check every message size 1..2000 against the buckets §10.2 promises,
stated here independently of :meth:`Padding.padded_length` where possible (Padme's
resolution, the multiples of N).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pqe2ee import _binding
from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Config, Connection, ConnectionClosed, DataReceived, Policy
from pqe2ee.handshake import record as rec
from pqe2ee.hazmat import records
from pqe2ee.hazmat.padding import BLOCK_MAX, MAX_INNER, NO_PADDING, Padding, padme
from tests.handshake.util import identity, pair, run

needs_core = pytest.mark.skipif(not _binding.CORE_AVAILABLE, reason=_binding.CORE_ERROR)
AEADS = ["chacha20-poly1305", "aes-256-gcm"]
POLICIES = ["none", "padme", "block:256", "block:1", "block:7", "block:65536"]
SIZES = range(1, 2001)
FULL = rec.MAX_PLAINTEXT + 1  # content and type of a full record
TAG = rec.TAG


# ------------------------------------------------------------------ the policies
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", Padding()),
        ("padme", Padding("padme")),
        ("PadMe", Padding("padme")),
        ("block:256", Padding("block", 256)),
        ("block:1", Padding("block", 1)),
        (f"block:{BLOCK_MAX}", Padding("block", BLOCK_MAX)),
    ],
)
def test_parse(text: str, expected: Padding) -> None:
    assert Padding.parse(text) == expected
    assert Padding.parse(str(expected)) == expected
    assert Padding.of(expected) is expected


@pytest.mark.parametrize(
    "text", ["", "zero", "block", "block:", "block:0", f"block:{BLOCK_MAX + 1}", "block:-3",
             "block:2.5", "padme:4", "block:٣"],
)  # fmt: skip
def test_parse_refuses_with_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="none, padme or block:N"):
        Padding.parse(text)


def test_config_takes_a_string_or_the_object_and_refuses_nonsense() -> None:
    assert Config(padding="block:256").padding == Padding("block", 256)
    assert Config(padding=Padding("padme")).padding == Padding("padme")
    assert Config().padding == NO_PADDING
    with pytest.raises(ValueError, match="block:0 is out of range"):
        Config(padding="block:0")
    with pytest.raises(TypeError):
        Config(padding=256)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("length", "padded"),
    # worked by hand from PETS 2019 §4: E, S, lastBits
    [(1, 1), (2, 2), (7, 7), (8, 8), (9, 10), (17, 18), (33, 36), (100, 104), (129, 144),
     (1000, 1024), (2000, 2048), (65536, 65536), (65537, 67584)],
)  # fmt: skip
def test_padme_values(length: int, padded: int) -> None:
    assert padme(length) == padded


@given(st.integers(1, FULL), st.sampled_from(POLICIES))
def test_padded_length_is_at_least_n_and_fits(n: int, text: str) -> None:
    p = Padding.parse(text).padded_length(n)
    assert n <= p <= MAX_INNER


@given(st.integers(1, FULL - 1), st.sampled_from(POLICIES))
def test_padded_length_is_monotone(n: int, text: str) -> None:
    policy = Padding.parse(text)
    assert policy.padded_length(n) <= policy.padded_length(n + 1)


@given(st.integers(2, 1 << 40))
def test_padme_overhead_is_bounded(n: int) -> None:
    e = n.bit_length() - 1
    last_bits = e - e.bit_length()
    p = padme(n)
    assert 0 <= p - n < 1 << last_bits  # the rounding, and nothing more
    assert p % (1 << last_bits) == 0
    assert (p - n) * 1000 <= 117 * n  # at most 11.7 % (§10.2)
    assert p == padme(p)  # a bucket is its own bucket


@given(st.integers(1, FULL), st.integers(1, BLOCK_MAX))
def test_block_pads_to_the_next_multiple_unless_past_the_frame(n: int, block: int) -> None:
    p = Padding("block", block).padded_length(n)
    if -(-n // block) * block <= MAX_INNER:
        assert p % block == 0 and p - n < block
    else:
        assert p == MAX_INNER


def test_padding_leaks_few_sizes_for_messages_up_to_2000() -> None:
    seen = {Padding("padme").padded_length(n + 1) for n in SIZES}
    assert len(seen) < 100  # against 2000 distinct sizes without padding
    assert len({Padding("block", 256).padded_length(n + 1) for n in SIZES}) == 8


@needs_core
@pytest.mark.parametrize("text", [*POLICIES, "block:240", "block:241", "block:300", "block:4096"])
def test_the_core_pads_exactly_as_python(text: str) -> None:
    policy = Padding.parse(text)
    lengths = range(1, FULL + 1)
    core = [_binding.records.record_padded_length(policy.mode, policy.block, n) for n in lengths]
    assert core == [policy.padded_length(n) for n in lengths]


@needs_core
def test_the_core_refuses_a_bad_policy() -> None:
    bad = [(3, 1), (_binding.records.PAD_BLOCK, 0), (_binding.records.PAD_BLOCK, BLOCK_MAX + 1)]
    for mode, block in bad:
        assert _binding.records.record_padded_length(mode, block, 10) == 0
    assert _binding.records.record_padded_length(_binding.records.PAD_NONE, 1, FULL + 1) == 0


# ------------------------------------------------------------------ what an observer sees
def promised(policy: str, content: int, plain: int) -> bool:
    """Whether ``plain`` padded plaintext bytes are what §10.2 promises for ``content``."""
    length = content + 1
    if plain < length or plain > MAX_INNER:
        return False
    if policy == "none" or policy == "block:1":
        return plain == length
    if policy.startswith("block:"):
        block = int(policy[6:])
        return plain == min(-(-length // block) * block, MAX_INNER)
    # padme: the top S bits of L kept, the others rounded up to the next such value
    e = length.bit_length() - 1
    keep = 0 if length < 2 else e - e.bit_length()
    if -(-length // (1 << keep)) << keep > MAX_INNER:
        return plain == MAX_INNER  # never beyond the frame maximum (§10.3)
    return plain % (1 << keep) == 0 and plain - length < 1 << keep


def frame_lengths(wire: bytes) -> list[int]:
    """The payload length of every frame in ``wire``, as anyone on the path reads them."""
    out, pos = [], 0
    while pos < len(wire):
        assert wire[pos] == rec.CT_ENCRYPTED
        length = int.from_bytes(wire[pos + 1 : pos + 4], "big")
        out.append(length)
        pos += 4 + length
    assert pos == len(wire)
    return out


def connected(aead: str, policy: str) -> tuple[Connection, Connection]:
    suites = Policy.for_mode("classical", identity().kind, aead=aead)
    client, server = pair(
        Config(policy=suites, padding=policy),
        Config(identity=identity(), policy=suites, padding=policy),
    )
    assert run(client, server).client_done
    return client, server


@pytest.mark.parametrize("policy", ["none", "padme", "block:256", "block:64"])
def test_records_of_messages_1_to_2000_fall_into_the_buckets(policy: str) -> None:
    client, server = connected("chacha20-poly1305", policy)
    for n in SIZES:
        message = os.urandom(n)
        client.send_data(message)
        wire = client.data_to_send()
        (length,) = frame_lengths(wire)
        assert promised(policy, n, length - TAG), (policy, n, length)
        server.receive_data(wire)
        assert server.next_event() == DataReceived(message)


@needs_core
@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("policy", ["padme", "block:256", "block:1000"])
def test_the_c_bulk_seal_falls_into_the_same_buckets(aead: str, policy: str) -> None:
    padding = Padding.parse(policy)
    secret = os.urandom(32)
    opener = rec.RecordCipher(aead, secret)
    key, iv = opener._key, opener._iv
    for seq, n in enumerate(SIZES):
        message = os.urandom(n)
        out = bytearray(records.sealed_size(n, rec.MAX_PLAINTEXT, padding))
        records.seal_records(
            aead, key, iv, message, out, first_seq=seq, inner_type=rec.INNER_DATA, padding=padding
        )
        (length,) = frame_lengths(bytes(out))
        assert promised(policy, n, length - TAG), (policy, n, length)
        assert opener.open(bytes(out[:4]), bytes(out[4:])) == (rec.INNER_DATA, message)


@pytest.mark.parametrize("policy", ["none", "padme", "block:256", "block:300"])
def test_a_message_larger_than_a_record_is_full_records_then_a_padded_last(policy: str) -> None:
    client, server = connected("aes-256-gcm", policy)
    n = 2 * rec.MAX_PLAINTEXT + 1234
    message = os.urandom(n)
    client.send_data(message)  # the C bulk seal when the core is built
    wire = client.data_to_send()
    lengths = frame_lengths(wire)
    full = Padding.parse(policy).padded_length(FULL) + TAG
    assert lengths == [full, full, Padding.parse(policy).padded_length(1235) + TAG]
    assert promised(policy, rec.MAX_PLAINTEXT, full - TAG)
    assert promised(policy, 1234, lengths[2] - TAG)
    if policy in ("padme", "block:256"):
        assert full == rec.MAX_ENCRYPTED  # padded to the frame maximum, never beyond
    server.receive_data(wire)
    got = b""
    while (event := server.next_event()) is not NEED_DATA:
        got += event.data
    assert got == message


def test_the_encrypted_handshake_flight_is_padded_too() -> None:
    # an ed25519 flight is a few hundred bytes, an ML-DSA-65 one over 5 kB: under
    # block:8192 the observer sees one size for both
    sizes = set()
    for kind in ("ed25519", "ml-dsa-65"):
        suites = Policy.for_mode("hybrid", identity(kind).kind)
        client, server = pair(
            Config(policy=suites),
            Config(identity=identity(kind), policy=suites, padding="block:8192"),
        )
        server.receive_data(client.data_to_send())
        assert server.next_event() is NEED_DATA
        flight = server.data_to_send()
        hello_len = int.from_bytes(flight[1:4], "big")
        encrypted = flight[4 + hello_len :]
        (length,) = frame_lengths(encrypted)
        sizes.add(length)
    assert sizes == {8192 + TAG}


@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("policy", ["padme", "block:256", "block:65536"])
def test_round_trip_with_control_records_both_ways(aead: str, policy: str) -> None:
    client, server = connected(aead, policy)
    sent = [b"", b"a", bytes(17), os.urandom(5000), os.urandom(70000)]
    for data in sent:
        client.send_data(data)
        server.send_data(data)
    client.update_keys(request_peer=True)
    client.close()
    server.receive_data(client.data_to_send())
    got = b""
    events = []
    while (event := server.next_event()) is not NEED_DATA:
        events.append(event)
        if isinstance(event, DataReceived):
            got += event.data
    assert got == b"".join(sent) and isinstance(events[-1], ConnectionClosed)
    server.close()  # with the answered key update before it, padded as well
    client.receive_data(server.data_to_send())
    got = b""
    while (event := client.next_event()) is not NEED_DATA:
        if isinstance(event, DataReceived):
            got += event.data
    assert got == b"".join(sent)


def test_a_padded_sender_and_an_unpadded_one_talk() -> None:
    suites = Policy.for_mode("classical", identity().kind)
    client, server = pair(
        Config(policy=suites, padding="block:512"), Config(identity=identity(), policy=suites)
    )
    assert run(client, server).client_done
    client.send_data(b"hello")
    server.send_data(b"world")
    c2s, s2c = client.data_to_send(), server.data_to_send()
    assert frame_lengths(c2s) == [512 + TAG] and frame_lengths(s2c) == [6 + TAG]
    server.receive_data(c2s)
    client.receive_data(s2c)
    assert server.next_event() == DataReceived(b"hello")
    assert client.next_event() == DataReceived(b"world")


# ------------------------------------------------------------------ tampering
@pytest.mark.parametrize("aead", AEADS)
@pytest.mark.parametrize("where", ["first pad byte", "last pad byte"])
@pytest.mark.parametrize("bulk", [False, True])
def test_a_flipped_padding_byte_fails_authentication(aead: str, where: str, bulk: bool) -> None:
    client, server = connected(aead, "block:256")
    n = 5000 if bulk else 10
    client.send_data(bytes(n))
    wire = bytearray(client.data_to_send())
    (length,) = frame_lengths(bytes(wire))
    pad_at = 4 + n + 1 if where == "first pad byte" else 4 + length - TAG - 1
    assert length - TAG > n + 1  # there is padding to flip
    wire[pad_at] ^= 0x01
    server.receive_data(bytes(wire))
    with pytest.raises(RemoteProtocolError, match="failed authentication"):
        server.next_event()


@needs_core
def test_the_c_open_refuses_a_flipped_padding_byte_and_keeps_nothing() -> None:
    padding = Padding("block", 128)
    secret = os.urandom(32)
    sender, opener = (
        rec.RecordCipher("aes-256-gcm", secret),
        rec.RecordCipher("aes-256-gcm", secret),
    )
    sender.padding = padding
    wire = bytearray(sender.seal(rec.INNER_DATA, b"ok") + sender.seal(rec.INNER_DATA, b"secret"))
    wire[-TAG - 5] ^= 0x80  # in the second record's padding
    out = bytearray(len(wire))
    opened = records.open_records("aes-256-gcm", opener._key, opener._iv, wire, out, first_seq=0)
    assert not opened.ok and opened.n_records == 1 and opened.produced == 2
    assert b"secret" not in out
