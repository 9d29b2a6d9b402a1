"""A session's data path in the C core: plaintext socket <-> session socket.

After the handshake, :class:`SocketPump` borrows the session's application-data keys
(:meth:`~pqe2ee.handshake.Connection.lend_traffic_keys`) and lets the C core move the bytes:
it reads plaintext, seals records and writes them to the session socket, and reads
records, opens them and writes the plaintext, with the GIL released and no Python call
per message.  Only what needs the protocol comes back to Python, to the very same
:class:`~pqe2ee.handshake.Connection`: a record that is not application data (key
update, close, alert, the post-quantum ratchet's share, ciphertext and switch) is handed
to it unopened, the key update at the usage limit is asked of it, and so is the
authenticated close when the plaintext side ends.

The ratchet (docs/protocol.md §9) needs nothing else: the records Python seals (a share,
the responder's ciphertext, the initiator's switch) go to the end of the pump's session
output, behind every record the pump sealed under the old key, and the new keys are
lent back before the pump seals or opens another record.  The byte trigger
(``pq_rekey_bytes``) lowers the sending key's lent limit to the budget's last record, so
the pump stops there (``SEND_LIMIT``) and Python starts the step.

Security properties: a record that fails authentication or has an impossible length
stops the pump with the plaintext it still held wiped, so no unauthenticated byte is
ever written to the plaintext socket, and the error is a
:class:`~pqe2ee.exceptions.RemoteProtocolError`; the session's end without a close record
is reported as truncation, as :class:`~pqe2ee.handshake.Connection` does; key material
sits only in the C core's OpenSSL contexts and is wiped when the pump is freed.
"""

from __future__ import annotations

import enum
import os
import socket

from pqe2ee.exceptions import InternalError, LocalProtocolError, RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Connection, ConnectionClosed, DataReceived
from pqe2ee.handshake.record import MAX_ENCRYPTED, MAX_PLAINTEXT, RecordState
from pqe2ee.hazmat import core
from pqe2ee.hazmat.padding import Padding
from pqe2ee.hazmat.pump import Pump, PumpBuffer, PumpFlag, PumpStatus
from pqe2ee.io.pq_rekey import PqRekeyTrigger

__all__ = ["Outcome", "SideError", "SocketPump", "available"]

#: Bytes each direction may hold in the pump (plaintext or records not yet written).
BUFFER_SIZE = 256 << 10


def available(aead: str) -> bool:
    """Whether the C core is built and runs ``aead``."""
    return core.offers(aead)


class Outcome(enum.Enum):
    """Why :meth:`SocketPump.run` returned."""

    DONE = "both directions ended and everything was written"
    TIMEOUT = "no byte moved either way for the timeout"
    WAKE = "the wake file descriptor became readable"


class SideError(Exception):
    """The socket of one side failed (``side`` is ``"plain"`` or ``"session"``)."""

    def __init__(self, side: str, error: OSError) -> None:
        super().__init__(f"{side}: {error}")
        self.side = side
        self.error = error


class SocketPump:
    """Moves one established session's application data between two sockets.

    :param conn: the connection, handshake complete, its events read; it is lent to
        the pump (see :meth:`~pqe2ee.handshake.Connection.lend_traffic_keys`) until
        :meth:`close`.
    :param plain: the plaintext socket.
    :param session: the socket that carries the session.
    :param pq_rekey_bytes: start a post-quantum ratchet step whenever this side has sent
        this many bytes since the last (at the first record boundary past it).
    Both sockets are made non-blocking; the pump never closes them.

    :raises LocalProtocolError: ``conn`` cannot be lent.
    :raises ~pqe2ee.exceptions.BackendUnavailable: the C core is not built.
    """

    def __init__(
        self,
        conn: Connection,
        plain: socket.socket,
        session: socket.socket,
        *,
        buffer_size: int = BUFFER_SIZE,
        pq_rekey_bytes: int | None = None,
    ) -> None:
        if conn.suite is None:
            raise LocalProtocolError("the handshake has not completed")
        self._conn = conn
        self._trigger = PqRekeyTrigger(conn, None, pq_rekey_bytes)
        self._key_limit = 0  # the lent sending key's own limit (a key update is due there)
        self._budget_refused_at: int | None = None  # pq_rekeys when a start was refused
        self._plain, self._session = plain, session
        plain.setblocking(False)
        session.setblocking(False)
        self._pump = Pump(
            conn.suite.aead,
            record_size=MAX_PLAINTEXT,
            max_frame=MAX_ENCRYPTED,
            buffer_size=buffer_size,
            padding=Padding.of(conn.config.padding),  # the connection's own (§10.3)
        )
        self._read_plain = self._read_session = True
        self._shut_plain = self._shut_session = False
        #: Plaintext bytes carried plain -> session and session -> plain so far.
        self.to_session = 0
        self.to_plain = 0
        self._lend()

    @property
    def reading(self) -> tuple[bool, bool]:
        """Whether the plaintext side and the session are still read."""
        return self._read_plain, self._read_session

    def _lend(self, *, expect_consumed: bool = False) -> None:
        """Take the connection's current keys and unprocessed input (after the handshake
        and after every protocol step Python did)."""
        send, receive, unprocessed = self._conn.lend_traffic_keys()
        if expect_consumed and unprocessed:
            raise InternalError("the connection left a whole record unprocessed")
        self._install(send, sending=True)
        self._install(receive, sending=False)
        if send is None:
            self._read_plain = False
        if receive is None:
            self._read_session = False
        if unprocessed:
            # it arrived before anything the pump holds: put it in front
            held = self._pump.take_all(PumpBuffer.SESSION_IN)
            self._push(PumpBuffer.SESSION_IN, unprocessed + held)

    def _install(self, state: RecordState | None, *, sending: bool) -> None:
        if state is not None:
            limit = state.limit
            if sending:
                self._key_limit = limit
                limit = self._byte_budget_limit(state.seq, limit)
            self._pump.set_key(
                sending=sending, key=state.key, iv=state.iv, seq=state.seq, limit=limit
            )

    def _byte_budget_limit(self, seq: int, limit: int) -> int:
        """The sending limit that stops the pump where the ratchet's byte budget ends:
        after at most as many records as the bytes left could fill (at least one, so
        the pump always moves)."""
        budget = self._trigger.nbytes
        if (
            budget is None
            or self._conn.pq_rekey_in_progress
            or self._budget_refused_at == self._conn.pq_rekeys
        ):
            # a step in progress, or the connection refused one (the peer closed): the
            # next budget starts when a step completes, and the pump runs on meanwhile
            return limit
        left = max(0, budget - self._conn.bytes_since_pq_rekey[0])
        return min(limit, seq + max(1, -(-left // MAX_PLAINTEXT)))

    @property
    def pq_rekeys(self) -> int:
        """Post-quantum ratchet steps the session completed."""
        return self._conn.pq_rekeys

    def start_pq_rekey(self, *, if_due: PqRekeyTrigger | None = None) -> bool:
        """Start a post-quantum ratchet step: the share goes out behind what the pump
        already sealed.  Call it only while :meth:`run` is not running.

        :param if_due: only if this trigger says a step is due (then a refusal by the
            connection is not an error either: it is tried again later).
        :returns: whether a step was started.
        :raises LocalProtocolError: (without ``if_due``) not connected and open, or a
            step is in progress.
        """
        if if_due is not None:
            if not if_due.poll():
                return False
        else:
            self._conn.start_pq_rekey()
        self._push(PumpBuffer.SESSION_OUT, self._conn.data_to_send())
        self._lend()  # the byte budget's limit is off while the step is in progress
        return True

    def _push(self, buffer: PumpBuffer, data: bytes) -> None:
        if data and not self._pump.push(buffer, data):
            raise LocalProtocolError(f"the pump's {buffer.name.lower()} buffer is full")

    def _flags(self) -> PumpFlag:
        flags = PumpFlag(0)
        for on, flag in (
            (self._read_plain, PumpFlag.READ_PLAIN),
            (self._read_session, PumpFlag.READ_SESSION),
            (self._shut_plain, PumpFlag.SHUT_PLAIN),
            (self._shut_session, PumpFlag.SHUT_SESSION),
        ):
            if on:
                flags |= flag
        return flags

    def run(self, timeout: float | None = None, wake_fd: int = -1) -> Outcome:
        """Move bytes until both directions have ended, ``timeout`` seconds pass without
        a byte either way, or ``wake_fd`` becomes readable.  Blocks: call it from a
        thread of its own (the GIL is released while bytes move).

        :raises RemoteProtocolError: the peer broke the protocol (a record that failed
            authentication, an impossible length, an alert, truncation).
        :raises SideError: one socket failed (reset, refused write).
        """
        timeout_ms = -1 if timeout is None else max(0, int(timeout * 1000))
        while True:
            r = self._pump.run(
                plain_fd=self._plain.fileno(),
                session_fd=self._session.fileno(),
                flags=self._flags(),
                timeout_ms=timeout_ms,
                wake_fd=wake_fd,
            )
            self._conn.return_traffic_keys(
                (r.sealed_records, r.plain_read), (r.opened_records, r.opened_bytes)
            )
            self.to_session += r.plain_read
            self.to_plain += r.plain_written
            s = r.status
            if s is PumpStatus.DONE:
                return Outcome.DONE
            if s is PumpStatus.TIMEOUT:
                return Outcome.TIMEOUT
            if s is PumpStatus.WAKE:
                return Outcome.WAKE
            if s in (PumpStatus.CONTROL, PumpStatus.RECV_LIMIT):
                # a whole record the connection must judge: a control record, or any
                # record past the sender's usage limits (Connection cuts a peer off there)
                self._on_control(r.control_len)
            elif s is PumpStatus.PLAIN_EOF:
                self._read_plain = False
                self.close_sending()
            elif s is PumpStatus.SESSION_EOF:
                self._conn.receive_data(b"")
                self._drain_events()  # raises: the session ended without its close record
                raise RemoteProtocolError("the session ended without a close record")
            elif s is PumpStatus.SEND_LIMIT:
                if r.send_seq >= self._key_limit:  # the key's own usage limit
                    self._conn.update_keys()
                    self._push(PumpBuffer.SESSION_OUT, self._conn.data_to_send())
                    self._lend()
                elif not self.start_pq_rekey(if_due=self._trigger):
                    # the byte budget's limit, records short of full: a new limit; or
                    # the budget is spent but no step could start: go on without one
                    if self._conn.bytes_since_pq_rekey[0] >= (self._trigger.nbytes or 0):
                        self._budget_refused_at = self._conn.pq_rekeys
                    self._lend()
            elif s is PumpStatus.ERR_TYPE:
                self._on_bad_type()
            elif s is PumpStatus.ERR_TAG:
                raise RemoteProtocolError("a record failed authentication")
            elif s is PumpStatus.ERR_LENGTH:
                raise RemoteProtocolError("a record has an impossible length")
            elif s is PumpStatus.ERR_OS:
                error = OSError(r.os_error, os.strerror(r.os_error))
                raise SideError(("plain", "session", "poll")[r.side], error)
            else:
                raise InternalError(f"the socket pump failed (status {s.name})")

    def _on_control(self, length: int) -> None:
        """Let the connection process the whole record the pump stopped at.

        The connection must consume it (or fail): a record handed back unconsumed would
        come straight back here, a loop that neither polls nor makes progress.
        """
        frame = self._pump.take(PumpBuffer.SESSION_IN, length)
        if len(frame) != length:
            raise InternalError("the socket pump handed back less than a whole record")
        self._conn.receive_data(frame)
        self._drain_events()
        self._push(PumpBuffer.SESSION_OUT, self._conn.data_to_send())
        self._lend(expect_consumed=True)

    def _on_bad_type(self) -> None:
        """The pump stopped at a byte that cannot start an encrypted record: hand what it
        holds to the connection, which fails on it with the protocol's own error."""
        held = self._pump.take_all(PumpBuffer.SESSION_IN)
        self._conn.receive_data(held)
        self._drain_events()
        raise InternalError("the connection accepted bytes the socket pump refused")

    def _drain_events(self) -> None:
        while (event := self._conn.next_event()) is not NEED_DATA:
            if isinstance(event, ConnectionClosed):
                self._read_session = False
                self._shut_plain = True  # after the plaintext before the close
            elif isinstance(event, DataReceived):  # a record past the receive limit
                self._push(PumpBuffer.PLAIN_OUT, event.data)

    def close_sending(self) -> None:
        """Stop reading the plaintext side and send the authenticated close once what
        is pending has been written; the session is then half-closed."""
        self._read_plain = False
        if not self._shut_session:
            self._conn.close()
            self._push(PumpBuffer.SESSION_OUT, self._conn.data_to_send())
            self._shut_session = True

    def finish(self) -> None:
        """End both directions cleanly: send the close, stop reading, and half-close
        both sockets once everything pending is written (then :meth:`run` returns DONE)."""
        self.close_sending()
        self._read_session = False
        self._shut_plain = True

    def release(self) -> None:
        """Wipe and free the pump's buffers and keys (the sockets stay open)."""
        self._pump.free()  # later calls raise ValueError
