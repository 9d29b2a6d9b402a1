"""Framing and the AEAD record layer (docs/protocol.md §2, §7).

A frame is ``content_type u8 || length u24 || payload``; its length is checked against
the maximum before the payload is buffered.  Encrypted records seal
``content || inner_type || zeros[pad]`` with nonce ``iv XOR seq`` and the frame header as
associated data, so a record cannot be moved, replayed, dropped or re-typed without
failing authentication.  The padding (§10) is the sender's policy
(:class:`~pqe2ee.hazmat.padding.Padding`); every receiver strips it: the inner type is
the last nonzero byte, and a plaintext of zeros only has none and is fatal.  Each
direction has its own key and sequence counter; a key is updated
(HKDF, "traffic upd") long before its AEAD's usage limit, and the counter never wraps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag as _CryptoInvalidTag

from pqe2ee.handshake.keyschedule import traffic_key_iv, update_secret
from pqe2ee.hazmat import records as _bulk
from pqe2ee.hazmat.aead import by_name
from pqe2ee.hazmat.padding import NO_PADDING, Padding

__all__ = [
    "CT_ALERT",
    "CT_ENCRYPTED",
    "CT_HANDSHAKE",
    "INNER_ALERT",
    "INNER_CLOSE",
    "INNER_DATA",
    "INNER_HANDSHAKE",
    "INNER_KEY_UPDATE",
    "INNER_PQ_CIPHERTEXT",
    "INNER_PQ_SHARE",
    "INNER_PQ_SWITCH",
    "MAX_PLAINTEXT",
    "FrameError",
    "FrameReader",
    "RecordCipher",
    "RecordState",
    "foreign_protocol",
]

CT_ALERT = 0x15
CT_HANDSHAKE = 0x16
CT_ENCRYPTED = _bulk.CT_ENCRYPTED  # 0x17, as the C core defines it

INNER_CLOSE = 0x01
INNER_ALERT = 0x15
INNER_HANDSHAKE = 0x16
INNER_DATA = _bulk.INNER_DATA  # 0x17
INNER_KEY_UPDATE = 0x18
#: The post-quantum ratchet's records (docs/protocol.md §9.1).
INNER_PQ_SHARE = 0x19
INNER_PQ_CIPHERTEXT = 0x1A
INNER_PQ_SWITCH = 0x1B
INNER_TYPES = frozenset(
    {INNER_CLOSE, INNER_ALERT, INNER_HANDSHAKE, INNER_DATA, INNER_KEY_UPDATE}
    | {INNER_PQ_SHARE, INNER_PQ_CIPHERTEXT, INNER_PQ_SWITCH}
)

#: Content bytes of one record (2^16), and an encrypted payload's bound (2^16 + 256):
#: the sizes of csrc/records.h, shared with the C loops and the socket pump.
MAX_PLAINTEXT = _bulk.MAX_PLAINTEXT
HEADER = _bulk.HEADER_SIZE
TAG = _bulk.TAG_SIZE
MAX_ENCRYPTED = _bulk.MAX_FRAME
MAX_PLAIN_FRAME = (1 << 14) + (1 << 13)

#: Rekey after this many records or bytes, whichever first (RFC 8446 §5.5 puts
#: AES-GCM's limit at 2^24.5 full records; ChaCha20-Poly1305's is far higher).
RECORD_LIMIT = 1 << 24
BYTE_LIMIT = 1 << 36
#: The receiver holds the sender to those limits: no application data past them, and
#: only this many control records (the key update itself, a close, an alert).
CONTROL_SLACK = 4
#: The smallest possible encrypted frame: header, inner type, tag.
MIN_ENCRYPTED_FRAME = _bulk.OVERHEAD


#: Sends of at least this many bytes go through the C core's bulk loop when it is built.
BULK_MIN = 4096
#: At most this much plaintext per bulk open call (bounds the output buffer).
BULK_OPEN_MAX = 4 << 20


_thread_buffers = threading.local()


def _open_buffer(size: int) -> bytearray:
    """This thread's scratch buffer for bulk opens, at least ``size`` bytes.

    One per thread, not per connection: its contents never outlive an ``open_many`` call
    (the plaintext is copied out before it returns), so a thousand idle connections do
    not each hold megabytes, and a busy one faults no fresh pages in on every call.
    """
    buf: bytearray | None = getattr(_thread_buffers, "buf", None)
    if buf is None or len(buf) < size:
        buf = _thread_buffers.buf = bytearray(max(size, MAX_PLAINTEXT))
    return buf


class FrameError(Exception):
    """A frame is malformed (internal; becomes RemoteProtocolError)."""


_HTTP = (b"HTTP/", b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ",
         b"PATCH ", b"CONNECT ", b"PRI * HTTP/2", b"<")  # fmt: skip


def _looks_like(head: bytes, sign: bytes) -> bool:
    return head.startswith(sign) or sign.startswith(head)


def foreign_protocol(head: bytes) -> str | None:
    """What a stream that does not start with a pqe2ee frame seems to speak, in words.

    :param head: the first bytes the peer sent (one is enough for a guess).
    :returns: e.g. ``"it sent what looks like HTTP"``, or ``None`` for no idea.
    """
    if not head:
        return None
    if head[0] in (CT_ALERT, CT_HANDSHAKE, CT_ENCRYPTED) and head[1:2] == b"\x03":
        return "it sent what looks like TLS: is this an HTTPS or other TLS port?"
    if _looks_like(head, b"SSH-"):
        return "it sent what looks like SSH"
    if any(_looks_like(head, sign) for sign in _HTTP):
        return "it sent what looks like HTTP"
    text = head[:40]
    if all(32 <= b < 127 or b in b"\r\n\t" for b in text):
        return f"it sent text: {text.decode('ascii')!r}"
    return None


def _not_pqe2ee(head: bytes, detail: str) -> FrameError:
    """The error for a stream whose first frame is not a pqe2ee frame."""
    guess = foreign_protocol(head)
    if guess is None:
        return FrameError(f"{detail} (the peer may not speak pqe2ee)")
    return FrameError(f"the peer does not speak pqe2ee ({guess})")


class FrameReader:
    """Splits an incoming byte stream into frames, bounding what it buffers.

    Consumed bytes are dropped lazily (a read offset, compacted once it passes half the
    buffer), so splitting a large read into records does not move the rest each time.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._first = True  # no frame read yet: a bad one means another protocol

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes (no view from :meth:`unread` or :meth:`frames` may be held)."""
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos and self._pos >= len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """How many bytes are buffered and not yet consumed."""
        return len(self._buf) - self._pos

    def peek_type(self) -> int | None:
        """The content type of the next frame, if its first byte is in."""
        return self._buf[self._pos] if self._pos < len(self._buf) else None

    def unread(self) -> memoryview:
        """A view of the unconsumed bytes (release it before feeding more)."""
        with memoryview(self._buf) as view:
            return view[self._pos :]

    def advance(self, n: int) -> None:
        """Mark ``n`` more bytes consumed."""
        self._pos += n

    def frames(self) -> Iterator[tuple[int, bytes, memoryview]]:
        """Yield ``(content_type, header, payload)`` for every complete frame buffered.

        ``payload`` is a view into the buffer: release it before feeding more bytes.

        :raises FrameError: an unknown content type (checked as soon as its one byte is
            in) or a length over the maximum (checked as soon as the 4-byte header is in),
            both before the payload is waited for.
        """
        buf = self._buf
        while len(buf) > self._pos:
            pos = self._pos
            ctype = buf[pos]
            if ctype == CT_ENCRYPTED:
                limit = MAX_ENCRYPTED
            elif ctype in (CT_HANDSHAKE, CT_ALERT):
                limit = MAX_PLAIN_FRAME
            else:
                detail = f"unknown content type 0x{ctype:02x}"
                if self._first:
                    raise _not_pqe2ee(bytes(buf[pos : pos + 40]), detail)
                raise FrameError(detail)
            if len(buf) - pos < HEADER:
                return
            length = int.from_bytes(buf[pos + 1 : pos + HEADER], "big")
            if length > limit:
                detail = f"frame of {length} bytes exceeds the maximum {limit}"
                if self._first:
                    raise _not_pqe2ee(bytes(buf[pos : pos + 40]), detail)
                raise FrameError(detail)
            if len(buf) - pos < HEADER + length:
                return
            header = bytes(buf[pos : pos + HEADER])
            self._pos = pos + HEADER + length
            self._first = False
            with memoryview(buf) as view:
                payload = view[pos + HEADER : pos + HEADER + length]
            yield ctype, header, payload


def plain_frame(ctype: int, payload: bytes) -> bytes:
    """A plaintext frame (handshake message or alert before keys exist)."""
    return bytes([ctype]) + len(payload).to_bytes(3, "big") + payload


@dataclass(frozen=True, repr=False)
class RecordState:
    """One direction's application-data record state, lent to a data path outside
    Python (the C socket pump, :mod:`pqe2ee.io.socket_pump`) by
    :meth:`~pqe2ee.handshake.Connection.lend_traffic_keys`.

    It holds a traffic key: its repr shows only the AEAD and the counters, and it should
    be dropped as soon as the key is installed elsewhere.

    :param aead: the suite's AEAD name.
    :param key: the traffic key (32 bytes).
    :param iv: the 12-byte IV, XORed with the sequence number into each nonce (§7).
    :param seq: the next sequence number.
    :param limit: the sequence number at which the borrower must stop: for the sending
        direction the key update is due there (§7 usage limits); for the receiving one it
        is the end of the nonce space.
    """

    aead: str
    key: bytes
    iv: bytes
    seq: int
    limit: int

    def __repr__(self) -> str:
        return f"RecordState({self.aead}, seq={self.seq}, limit={self.limit})"


class RecordCipher:
    """One direction's AEAD state: key, IV, sequence number, usage counters."""

    def __init__(self, aead: str, secret: bytes) -> None:
        self._aead_name = aead
        #: How the records this cipher seals are padded (§10); set by the Transport.
        self.padding: Padding = NO_PADDING
        self._install(secret)

    def _install(self, secret: bytes) -> None:
        self._secret = secret
        key, self._iv = traffic_key_iv(secret)
        self._key = key
        #: Whether the C core runs this direction's bulk loops.
        self.bulk = _bulk.bulk_available(self._aead_name)
        self._aead = by_name(self._aead_name).cipher(key)
        self._iv_int = int.from_bytes(self._iv, "big")
        self.seq = 0
        self.bytes_used = 0

    def update(self) -> None:
        """Move to the next traffic secret (after sending or receiving a key update)."""
        self._install(update_secret(self._secret))

    @property
    def needs_update(self) -> bool:
        """Whether this key reached its usage limit (records or bytes) and must be updated."""
        return self.seq >= RECORD_LIMIT or self.bytes_used >= BYTE_LIMIT

    def lend(self, *, sending: bool) -> RecordState:
        """This direction's key and counters for a borrower; see :meth:`advance`.

        Sending, the limit is where the key update is due.  Receiving, it is the first
        record that might break the usage limits the sender must honour: from there on
        the borrower hands every record back, and :meth:`check_received` decides.
        """
        if sending:
            limit = self.seq + self.records_left()
        else:
            by_bytes = max(0, BYTE_LIMIT - self.bytes_used) // MAX_PLAINTEXT
            limit = max(self.seq, min(RECORD_LIMIT, self.seq + by_bytes))
        return RecordState(self._aead_name, self._key, self._iv, self.seq, limit)

    def check_received(self, inner_type: int, content_len: int) -> str | None:
        """Why the record just opened breaks the sender's usage limits, or None.

        A sender updates its key before ``RECORD_LIMIT`` records or ``BYTE_LIMIT``
        content bytes (RFC 8446 §5.5); a peer that does not is cut off here rather than
        trusted to, so a key is never used past its AEAD's safety margin in either
        direction.  Only a few control records may follow the limit: the key update
        that ends it, a close or an alert.
        """
        seq_before = self.seq - 1
        if inner_type == INNER_DATA:
            if seq_before >= RECORD_LIMIT or self.bytes_used - content_len >= BYTE_LIMIT:
                return "the peer sent data past its key's usage limit without a key update"
        elif seq_before >= RECORD_LIMIT + CONTROL_SLACK:
            return "the peer sent records past its key's usage limit without a key update"
        return None

    def bulk_within_limits(self, buffered: int) -> bool:
        """Whether every record that ``buffered`` bytes can hold may be opened in bulk
        without a check each (no record count or byte count can reach a limit)."""
        return (
            RECORD_LIMIT - self.seq > buffered // MIN_ENCRYPTED_FRAME
            and BYTE_LIMIT - self.bytes_used > buffered
        )

    def advance(self, records: int, content_bytes: int) -> None:
        """Count ``records`` records of ``content_bytes`` sealed or opened by a borrower
        with the state :meth:`lend` gave (same key, sequence numbers from ``seq`` on)."""
        if records < 0 or content_bytes < 0:
            raise ValueError("record counts cannot go back")
        self.seq += records
        self.bytes_used += content_bytes

    def _nonce(self) -> bytes:
        if self.seq >= 1 << 64:  # pragma: no cover - a rekey happens 2^40 records earlier
            raise OverflowError("record sequence number exhausted")
        return (self._iv_int ^ self.seq).to_bytes(_bulk.NONCE_SIZE, "big")

    def records_left(self) -> int:
        """How many records this key may still seal before it must be updated."""
        by_bytes = max(0, BYTE_LIMIT - self.bytes_used) // MAX_PLAINTEXT
        return max(1, min(RECORD_LIMIT - self.seq, by_bytes))

    def seal(self, inner_type: int, content: bytes | memoryview) -> bytearray:
        """One encrypted frame carrying ``content`` (at most MAX_PLAINTEXT bytes)."""
        if len(content) > MAX_PLAINTEXT:
            raise ValueError("record content too large")
        return self.seal_many(inner_type, content)

    def seal_many(self, inner_type: int, data: bytes | memoryview) -> bytearray:
        """``data`` cut into records of MAX_PLAINTEXT bytes (one empty record for empty
        data), each padded as :attr:`padding` says, all sealed into one buffer: one
        allocation however many records, and for large sends one call into the C core
        for all of them."""
        n = len(data)
        count = max(1, -(-n // MAX_PLAINTEXT))
        padding = self.padding
        if self.bulk and n >= BULK_MIN:
            out = bytearray(_bulk.sealed_size(n, MAX_PLAINTEXT, padding))
            _bulk.seal_records(
                self._aead_name, self._key, self._iv, data, out,
                first_seq=self.seq, inner_type=inner_type, record_size=MAX_PLAINTEXT,
                padding=padding,
            )  # fmt: skip
            self.seq += count
            self.bytes_used += n
            return out
        pad = padding.padded_length if padding.enabled else None
        if pad is None:
            out = bytearray(n + count * _bulk.OVERHEAD)
        else:
            last = n - (count - 1) * MAX_PLAINTEXT
            padded_sum = (count - 1) * pad(MAX_PLAINTEXT + 1) + pad(last + 1)
            out = bytearray(padded_sum + count * (HEADER + TAG))
        staging = bytearray(min(n, MAX_PLAINTEXT) + 1)
        view, out_view = memoryview(data), memoryview(out)
        pos = 0
        for i in range(count):
            chunk = view[i * MAX_PLAINTEXT : (i + 1) * MAX_PLAINTEXT]
            size = len(chunk)
            if pad is None:
                length = size + 1 + TAG
                plain = staging if size + 1 == len(staging) else bytearray(size + 1)
            else:  # a fresh buffer: its padding is zeros
                plain = bytearray(pad(size + 1))
                length = len(plain) + TAG
            header = bytes((CT_ENCRYPTED, length >> 16, (length >> 8) & 0xFF, length & 0xFF))
            out[pos : pos + HEADER] = header
            plain[:size] = chunk
            plain[size] = inner_type
            self._aead.encrypt_into(
                self._nonce(), plain, header, out_view[pos + HEADER : pos + HEADER + length]
            )
            self.seq += 1
            self.bytes_used += size
            pos += HEADER + length
        return out

    def open(self, header: bytes, payload: bytes | memoryview) -> tuple[int, bytes]:
        """Authenticate and decrypt one record, and strip its padding (§10.1):
        ``(inner_type, content)``.

        :raises FrameError: authentication failed, the plaintext is all zeros (no inner
            type), or the inner type is unknown.
        """
        if len(payload) < TAG + 1:
            raise FrameError("encrypted record too short")
        try:
            plain = self._aead.decrypt(self._nonce(), payload, header)
        except _CryptoInvalidTag:
            raise FrameError("record failed authentication") from None
        self.seq += 1
        end = len(plain)
        if plain[-1] == 0:  # padding: the inner type is the last nonzero byte
            end = len(plain.rstrip(b"\x00"))
            if end == 0:
                raise FrameError("record has no inner type (its plaintext is all zeros)")
        self.bytes_used += end - 1
        inner = plain[end - 1]
        if inner not in INNER_TYPES:
            raise FrameError(f"unknown inner record type 0x{inner:02x}")
        return inner, plain[: end - 1]

    def open_many(self, reader: FrameReader) -> tuple[bytes, tuple[int, bytes] | None] | None:
        """Open every complete record buffered in ``reader`` in one C call.

        :returns: ``(application data, control record or None)`` (the control record's
            inner type may be unknown: the caller refuses it), or None when nothing
            could be opened this way (an incomplete frame, another content type, or a bad
            record, which the one-record path then reports precisely).
        """
        with reader.unread() as view:
            out = _open_buffer(min(len(view), BULK_OPEN_MAX))
            consumed, produced, n, ctype, clen, _ok = _bulk.open_records(
                self._aead_name, self._key, self._iv, view, out,
                first_seq=self.seq, max_frame=MAX_ENCRYPTED,
            )  # fmt: skip
        if consumed == 0:
            return None
        reader.advance(consumed)
        self.seq += n
        self.bytes_used += produced + clen
        with memoryview(out) as mv:
            data = bytes(mv[:produced])
            control = (ctype, bytes(mv[produced : produced + clen])) if ctype else None
        # an unknown inner type comes back as the control record too: the caller hands
        # the authenticated data before it out first, then fails on it, as it does for
        # one record at a time
        return data, control
