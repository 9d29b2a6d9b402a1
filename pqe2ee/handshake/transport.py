"""The record side of a connection: framing, the two record ciphers, key updates, the
close, and handing the live traffic keys to a data path outside Python.

A :class:`Transport` knows nothing of handshake messages; :class:`~pqe2ee.handshake.
Connection` decides when each of its operations is allowed.  Its limits hold against a
peer that never stops sending control records: at most :data:`MAX_KEY_UPDATES_IN_A_ROW`
key updates with no application data between, each way, and one answer however many
updates the peer requests while this side sends nothing (docs/protocol.md §7, §8).
"""

from __future__ import annotations

from pqe2ee.exceptions import LocalProtocolError
from pqe2ee.handshake.record import (
    CT_ALERT,
    CT_ENCRYPTED,
    INNER_ALERT,
    INNER_CLOSE,
    INNER_DATA,
    INNER_KEY_UPDATE,
    MAX_PLAINTEXT,
    FrameError,
    FrameReader,
    RecordCipher,
    RecordState,
    plain_frame,
)
from pqe2ee.handshake.state import Alert, fail
from pqe2ee.hazmat.padding import NO_PADDING, Padding

__all__ = ["MAX_KEY_UPDATES_IN_A_ROW", "Transport"]

#: Key updates accepted in a row with no application data between them (§8): an honest
#: peer updates once per 2^24 records, or when its application asks; more is a flood.
MAX_KEY_UPDATES_IN_A_ROW = 64


class Transport:
    """Frames in, records out, under whichever keys the handshake installed last.

    ``read`` and ``write`` are ``None`` until the handshake sets keys; ``out`` holds the
    buffers to write to the peer, in order.  Every cipher installed as ``write`` pads the
    records it seals as ``padding`` says (docs/protocol.md §10.3: data, the encrypted
    handshake flight and control records alike).
    """

    def __init__(self, padding: Padding = NO_PADDING) -> None:
        self.reader = FrameReader()
        self.out: list[bytes | bytearray] = []
        self.padding = padding
        self.read: RecordCipher | None = None
        self._write: RecordCipher | None = None
        self.send_closed = False
        #: a control record opened in bulk behind data not yet handed out
        self.pending_control: tuple[int, bytes] | None = None
        self._updates_received_in_a_row = 0  # no data between
        self._updates_sent_in_a_row = 0  # no data between
        self._update_answered = False  # a requested key update was sent, no data since
        #: ratchet shares (docs/protocol.md §9.4) each way with no application data between
        self.pq_shares_received_in_a_row = 0
        self.pq_shares_sent_in_a_row = 0
        #: application content bytes sealed and opened so far (by Python or a borrower)
        self.data_sent = 0
        self.data_received = 0

    @property
    def write(self) -> RecordCipher | None:
        """The sending direction's cipher (``None`` before keys)."""
        return self._write

    @write.setter
    def write(self, cipher: RecordCipher | None) -> None:
        if cipher is not None:
            cipher.padding = self.padding
        self._write = cipher

    # ------------------------------------------------------------------ sending
    def seal_data(self, data: bytes | memoryview) -> None:
        """Protect ``data`` as application records, updating the key when it is used up."""
        assert self.write is not None
        view = memoryview(data)
        start = 0
        while start < len(view):
            if self.write.needs_update:
                self.send_key_update(request_peer=False)
            # as many records as the key may still seal, in one buffer
            end = min(len(view), start + self.write.records_left() * MAX_PLAINTEXT)
            self.out.append(self.write.seal_many(INNER_DATA, view[start:end]))
            self._sent_data()
            self.data_sent += end - start
            start = end

    def send_key_update(self, *, request_peer: bool) -> None:
        """Seal a key update and move the sending direction to the next key.

        :raises LocalProtocolError: this would be key update number 65 in a row with no
            application data sent between (the peer would refuse it as a flood).
        """
        if self._updates_sent_in_a_row >= MAX_KEY_UPDATES_IN_A_ROW:
            raise LocalProtocolError(
                f"{MAX_KEY_UPDATES_IN_A_ROW} key updates in a row with no data between: "
                "the peer would refuse another before some data"
            )
        self._updates_sent_in_a_row += 1
        assert self.write is not None
        self.out.append(self.write.seal(INNER_KEY_UPDATE, bytes([int(request_peer)])))
        self.write.update()

    def seal_close(self) -> None:
        """Seal the authenticated close; this direction sends nothing more."""
        assert self.write is not None
        self.out.append(self.write.seal(INNER_CLOSE, b""))
        self.send_closed = True

    def queue_alert(self, alert: Alert) -> None:
        """Queue a fatal alert (encrypted once keys exist) unless this side has closed."""
        if self.send_closed:
            return
        if self.write is not None:
            self.out.append(self.write.seal(INNER_ALERT, bytes([alert])))
        else:
            self.out.append(plain_frame(CT_ALERT, bytes([alert])))
        self.send_closed = True

    def _sent_data(self) -> None:
        self._update_answered = False
        self._updates_sent_in_a_row = 0
        self.pq_shares_sent_in_a_row = 0

    def _received_data(self, n: int) -> None:
        self._updates_received_in_a_row = 0
        self.pq_shares_received_in_a_row = 0
        self.data_received += n

    # ------------------------------------------------------------------ receiving
    def refuse_plaintext_after_keys(self) -> None:
        """Refuse, at its first byte, a frame that is not encrypted once keys are set.

        Waiting for the body of a frame that can never be valid would let anyone on the
        path stall the connection with four bytes.

        :raises Fail: such a frame has begun to arrive.
        """
        ctype = self.reader.peek_type()
        if self.read is not None and ctype is not None and ctype != CT_ENCRYPTED:
            raise fail(
                Alert.UNEXPECTED_MESSAGE,
                f"a frame of content type 0x{ctype:02x} after keys were set "
                "(only encrypted records may follow)",
            )

    def open_bulk(self) -> tuple[bytes, tuple[int, bytes] | None] | None:
        """Open every buffered application record at once, when that is safe.

        :returns: ``None`` when the one-record path must run instead; else the data
            opened and the control record that stopped the run, if any.
        :raises Fail: a record did not authenticate or was malformed.
        """
        read = self.read
        if (
            read is None
            or not read.bulk
            or self.reader.peek_type() != CT_ENCRYPTED
            or not read.bulk_within_limits(self.reader.buffered)
        ):
            return None
        try:
            opened = read.open_many(self.reader)
        except FrameError as exc:
            raise fail(Alert.DECODE_ERROR, str(exc)) from None
        if opened is not None and opened[0]:
            self._received_data(len(opened[0]))
        return opened

    def received_data(self, content: bytes) -> None:
        """Note an application record (empty ones do not count as data between updates)."""
        if content:
            self._received_data(len(content))

    def received_key_update(self, content: bytes) -> None:
        """Act on the peer's key update: next read key, and an answer if it asked.

        :raises Fail: malformed, or more than :data:`MAX_KEY_UPDATES_IN_A_ROW` in a row.
        """
        if len(content) != 1 or content[0] > 1:
            raise fail(Alert.DECODE_ERROR, "malformed key update")
        self._updates_received_in_a_row += 1
        if self._updates_received_in_a_row > MAX_KEY_UPDATES_IN_A_ROW:
            raise fail(
                Alert.UNEXPECTED_MESSAGE,
                f"more than {MAX_KEY_UPDATES_IN_A_ROW} key updates with no data between",
            )
        assert self.read is not None
        self.read.update()
        # one answer however many requests arrive while this side sends nothing
        # (RFC 8446 §4.6.3): a peer cannot make it queue a record per record it sends
        if (
            content[0]
            and not self.send_closed
            and not self._update_answered
            and self._updates_sent_in_a_row < MAX_KEY_UPDATES_IN_A_ROW
        ):
            self.send_key_update(request_peer=False)
            self._update_answered = True

    # ------------------------------------------------------------------ lending
    def lend(
        self, *, send: bool, receive: bool
    ) -> tuple[RecordState | None, RecordState | None, bytes]:
        """The live traffic keys of the directions asked for, and the unread bytes, which
        now belong to the borrower (see :meth:`Connection.lend_traffic_keys`)."""
        assert self.write is not None
        assert self.read is not None
        sending = self.write.lend(sending=True) if send else None
        receiving = self.read.lend(sending=False) if receive else None
        with self.reader.unread() as view:
            unprocessed = bytes(view)
        self.reader.advance(len(unprocessed))
        return sending, receiving, unprocessed

    def give_back(self, sent: tuple[int, int], received: tuple[int, int]) -> None:
        """Count ``(records, content bytes)`` the borrower sealed and opened each way."""
        if self.write is None or self.read is None:
            raise LocalProtocolError("nothing was lent")
        self.write.advance(*sent)
        self.read.advance(*received)
        self.data_sent += sent[1]
        if sent[0]:
            self._sent_data()
        if received[0]:
            self._received_data(received[1])
