"""The record layer after the handshake: a fuzz-chosen sequence of sends, key updates,
closes, deliveries at arbitrary split points, and tampering (garbage inserted, bytes
flipped or dropped) on either direction of an established pair, and records that a
peer with the keys may seal but must not (any inner type and content).

Each input starts from a fresh pair, built by a deterministic handshake (about 1 ms;
a snapshot copy is impossible, the transcript holds hash objects).  Input: one byte
picks the AEAD (bit 0) and both sides' record padding (bits 1-7 mod 3: none, padme,
block:64; docs/protocol.md §10); then up to 128 operations of one byte each (bits 0-2:
what, bit 3: which direction, bits 4-7: a parameter) with their arguments.  At the end
everything still in flight is delivered and both streams end.

Properties, per direction: only :class:`Pqe2eeError` subclasses escape; what the
receiver released is always a prefix of what the sender sent, and never more than
the sender had sent before the first changed byte on the wire; when the stream up to
the end of the close record arrived unchanged the receiver got every byte and the
close, otherwise (changed, truncated, or a protocol-breaking record before the close)
it ends in an error, never a clean close; a failed receiver raises
the same error for anything fed to it later.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from fuzz._common import PATTERN, Input, is_prefix
from pqe2ee.exceptions import LocalProtocolError, Pqe2eeError
from pqe2ee.handshake import (
    NEED_DATA,
    AuthKind,
    Config,
    Connection,
    ConnectionClosed,
    DataReceived,
    FixedRandomness,
    Identity,
    Policy,
    State,
)
from pqe2ee.handshake.record import INNER_CLOSE, INNER_DATA

AEADS = ("chacha20-poly1305", "aes-256-gcm")
PADDINGS = ("none", "padme", "block:64")
SERVER_ID = Identity(AuthKind.ED25519, [bytes(range(32))])
#: Bytes each direction may send in one input (the pattern is 5 MiB).
MAX_SENT = 3 << 19
#: Operations per input: bounds the time one input takes (small-piece deliveries cost
#: up to 10 ms each), far below libFuzzer's -timeout even on a busy machine.
MAX_OPS = 128
_CONFIGS = {
    (aead, pad): (
        Config(policy=Policy.for_mode("classical", AuthKind.ED25519, aead=aead), padding=pad),
        Config(SERVER_ID, Policy.for_mode("classical", AuthKind.ED25519, aead=aead), padding=pad),
    )
    for aead in AEADS
    for pad in PADDINGS
}


def established(aead: str, pad: str = "none") -> tuple[Connection, Connection]:
    """A client and a server after a complete handshake, nothing left in flight."""
    client_config, server_config = _CONFIGS[aead, pad]
    client = Connection(
        client_config,
        "client",
        fixed_randomness_for_testing_only=FixedRandomness(b"\x11" * 32, kem_seed=b"\x22" * 32),
    )
    server = Connection(
        server_config,
        "server",
        fixed_randomness_for_testing_only=FixedRandomness(
            b"\x33" * 32, encaps_randomness=b"\x44" * 32
        ),
    )
    for src, dst in ((client, server), (server, client), (client, server)):
        dst.receive_data(src.data_to_send())
        while dst.next_event() is not NEED_DATA:
            pass
    assert client.handshake_complete and server.handshake_complete
    return client, server


def common_prefix(a: bytearray, b: bytearray) -> int:
    """The length of the longest common prefix of ``a`` and ``b``."""
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while lo < hi:  # a[:lo] == b[:lo] and a[:hi + 1] != b[:hi + 1]
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass
class Direction:
    """One direction of the pair and everything the harness knows about it."""

    sender: Connection
    receiver: Connection
    sent: bytearray = field(default_factory=bytearray)  # application bytes sent
    received: bytearray = field(default_factory=bytearray)  # application bytes released
    produced: bytearray = field(default_factory=bytearray)  # every byte the sender wrote
    delivered: bytearray = field(default_factory=bytearray)  # every byte the receiver got
    wire: bytearray = field(default_factory=bytearray)  # written, not delivered yet
    close_end: int | None = None  # len(produced) just after the close record
    #: (len(produced), len(sent)) after each send: bounds what may be released
    marks: list[tuple[int, int]] = field(default_factory=list)
    error: Pqe2eeError | None = None
    got_close: bool = False
    #: the sender sealed a record that breaks the protocol (see misbehave)
    broke: bool = False

    def can_send(self) -> bool:
        return self.close_end is None and self.sender.state in (State.CONNECTED, State.CLOSED)

    def collect(self) -> None:
        out = self.sender.data_to_send()
        self.produced += out
        self.wire += out

    def misbehave(self, source: Input) -> None:
        """Seal a record of any inner type and content under the sender's key, as a
        peer that has the keys but breaks the protocol would: tampering on the wire
        cannot reach the checks behind the record's authentication.  Empty data is
        harmless and an empty close is a close; anything else must fail the receiver.

        What the receiver reads is decided by padding (§10.1): trailing zeros are padding
        and the inner type is the last nonzero byte, so "type 0 after content" is read
        as a record of the content's last nonzero byte."""
        inner, content = source.u8(), source.take(source.u8() % 8)
        plain = (content + bytes([inner])).rstrip(b"\x00")
        seen_type, seen_content = (plain[-1], plain[:-1]) if plain else (0, b"")
        if seen_type == INNER_DATA:  # data the harness did not send: make it empty
            inner, content, seen_content = INNER_DATA, b"", b""
        self.collect()
        assert self.sender._transport.write is not None  # a test harness may reach inside
        out = self.sender._transport.write.seal(inner, content)
        self.produced += out
        self.wire += out
        if seen_type == INNER_CLOSE and not seen_content:
            self.close_end = len(self.produced)
        elif seen_type != INNER_DATA:
            self.broke = True

    def deliver(self, size: int, piece: int = 0) -> None:
        """Feed the next ``size`` bytes of the wire (in pieces of ``piece`` bytes)."""
        data = bytes(self.wire[:size])
        del self.wire[:size]
        step = piece or len(data) or 1
        for i in range(0, len(data), step):
            self.feed(data[i : i + step])

    def feed(self, data: bytes) -> None:
        self.delivered += data
        if self.error is not None:
            try:
                self.receiver.receive_data(data)
            except Pqe2eeError as exc:
                assert exc is self.error, (exc, self.error)
                return
            raise AssertionError("a failed connection took more bytes")
        try:
            self.receiver.receive_data(data)
            while (event := self.receiver.next_event()) is not NEED_DATA:
                if isinstance(event, DataReceived):
                    assert not self.got_close, "data after the close"
                    at = len(self.received)
                    assert event.data == self.sent[at : at + len(event.data)], "changed data"
                    self.received += event.data
                elif isinstance(event, ConnectionClosed):
                    assert not self.got_close, "a second close"
                    self.got_close = True
                else:
                    raise AssertionError(f"unexpected event {event!r}")
        except Pqe2eeError as exc:
            assert self.receiver.state is State.ERROR, self.receiver.state
            self.error = exc

    def check_end(self) -> None:
        assert is_prefix(self.received, self.sent)
        same = common_prefix(self.produced, self.delivered)
        bound = next((n for end, n in self.marks if end >= same), len(self.sent))
        assert len(self.received) <= bound, "released data from after a changed byte"
        if self.close_end is not None and same >= self.close_end and not self.broke:
            assert self.got_close, f"an intact stream with its close failed: {self.error!r}"
            assert self.received == self.sent, "an intact stream lost data"
        else:
            assert not self.got_close, "a changed, broken or unclosed stream closed cleanly"
            assert self.error is not None, "a changed, broken or truncated stream raised nothing"


def test_one_input(data: bytes) -> None:
    source = Input(data)
    first = source.u8()
    client, server = established(AEADS[first & 1], PADDINGS[(first >> 1) % len(PADDINGS)])
    ways = (Direction(client, server), Direction(server, client))
    for _ in range(MAX_OPS):
        if not source.left:
            break
        op = source.u8()
        kind, way, arg = op & 7, ways[op >> 3 & 1], op >> 4
        if kind == 0 and way.can_send():
            shift = 2 if arg & 6 == 6 else 0  # now and then past 64 KiB, at 4x the cost
            size = min(source.u16() << shift, MAX_SENT - len(way.sent))
            way.sender.send_data(PATTERN[len(way.sent) : len(way.sent) + size])
            way.sent += PATTERN[len(way.sent) : len(way.sent) + size]
            way.collect()
            way.marks.append((len(way.produced), len(way.sent)))
        elif kind == 1 and way.can_send() and arg & 8:
            way.misbehave(source)
        elif kind == 1 and way.can_send():
            # the API refuses a 65th key update in a row without data (the peer's limit)
            with contextlib.suppress(LocalProtocolError):
                way.sender.update_keys(request_peer=bool(arg & 1))
        elif kind == 2 and way.can_send():
            way.sender.close()
            way.collect()
            way.close_end = len(way.produced)
        elif kind == 3:
            at = source.u16() % (len(way.wire) + 1)
            way.wire[at:at] = source.take(arg + 1)
        elif kind == 4 and way.wire:
            way.wire[source.u16() % len(way.wire)] ^= source.u8() or 1
        elif kind == 5:
            way.deliver(source.u16() or len(way.wire))
        elif kind == 6 and way.wire:
            at = source.u16() % len(way.wire)
            del way.wire[at : at + arg + 1]
        elif kind == 7:  # a little, in small pieces (a byte at a time is slow in bulk)
            way.deliver(min(len(way.wire), 256), arg + 1)
        for w in ways:
            w.collect()
    for _ in range(4):  # answers (key updates, alerts) may cause more
        for w in ways:
            w.deliver(len(w.wire))
            w.collect()
    for w in ways:  # each stream ends
        w.collect()
        w.deliver(len(w.wire))
        w.feed(b"")
        for other in ways:
            other.collect()
    for w in ways:
        w.check_end()
