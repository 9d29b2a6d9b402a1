"""The C socket pump: one session's records moved between two sockets without Python.

A :class:`Pump` holds, for one established session, the application-data keys of both
directions and four bounded buffers.  :meth:`Pump.run` reads plaintext, seals records
and writes them; reads records, opens them and writes the plaintext; all with the GIL
released, until something needs the caller (:class:`PumpStatus`).  It does no policy:
every record that is not application data is handed back unopened, and the caller rekeys.

Security properties (``csrc/pump.c``): a record that fails authentication or has an
impossible length stops the pump with all plaintext it held wiped, so no unauthenticated
byte reaches the plaintext socket; keys live only in OpenSSL contexts, wiped with every
buffer by :meth:`Pump.free` (or when the pump is collected).  The recipe over a
:class:`~pqe2ee.handshake.Connection` is :class:`pqe2ee.io.socket_pump.SocketPump`.
"""

from __future__ import annotations

import dataclasses
import enum
from types import TracebackType
from typing import Any

from pqe2ee._binding import pump as _pump
from pqe2ee.hazmat.padding import NO_PADDING, Padding
from pqe2ee.hazmat.records import MAX_FRAME, MAX_PLAINTEXT

__all__ = ["BUFFER_MAX", "BUFFER_MIN", "Pump", "PumpBuffer", "PumpFlag", "PumpResult", "PumpStatus"]

#: Bounds of :class:`Pump`'s ``buffer_size``.
BUFFER_MIN: int = _pump.BUFFER_MIN
BUFFER_MAX: int = _pump.BUFFER_MAX


class PumpStatus(enum.IntEnum):
    """Why :meth:`Pump.run` returned (``enum pqe2ee_pump_status``)."""

    #: No direction left to read and every output flushed.
    DONE = _pump.pump_constant("DONE")
    #: The next session record is not application data: it is left unread
    #: (``control_len`` bytes), all plaintext before it has been written.
    CONTROL = _pump.pump_constant("CONTROL")
    #: The plaintext socket reached its end (all of it sealed).
    PLAIN_EOF = _pump.pump_constant("PLAIN_EOF")
    #: The session socket ended; no complete record is left.
    SESSION_EOF = _pump.pump_constant("SESSION_EOF")
    #: The send sequence number reached its limit: the key update is due.
    SEND_LIMIT = _pump.pump_constant("SEND_LIMIT")
    #: The receive sequence number reached its limit: the next whole record is left
    #: unread (``control_len`` bytes) for the caller to open and judge.
    RECV_LIMIT = _pump.pump_constant("RECV_LIMIT")
    #: The timeout passed without a byte moving either way.
    TIMEOUT = _pump.pump_constant("TIMEOUT")
    #: The wake file descriptor became readable (it is not drained).
    WAKE = _pump.pump_constant("WAKE")
    #: A read, write or poll failed: see ``os_error`` and ``side``.
    ERR_OS = _pump.pump_constant("ERR_OS")
    #: A record failed authentication (the plaintext held was wiped).
    ERR_TAG = _pump.pump_constant("ERR_TAG")
    #: A record length outside the format's bounds (the plaintext held was wiped).
    ERR_LENGTH = _pump.pump_constant("ERR_LENGTH")
    #: Bad arguments, a missing key, or OpenSSL failed.
    ERR_STATE = _pump.pump_constant("ERR_STATE")
    #: :meth:`Pump.push` found no room (never returned by run).
    ERR_FULL = _pump.pump_constant("ERR_FULL")
    #: The next session byte cannot start an encrypted record: fatal at that byte.
    ERR_TYPE = _pump.pump_constant("ERR_TYPE")


class PumpFlag(enum.IntFlag):
    """What :meth:`Pump.run` reads, and which sockets it half-closes once flushed."""

    READ_PLAIN = _pump.pump_constant("READ_PLAIN")
    READ_SESSION = _pump.pump_constant("READ_SESSION")
    SHUT_PLAIN = _pump.pump_constant("SHUT_PLAIN")
    SHUT_SESSION = _pump.pump_constant("SHUT_SESSION")


class PumpBuffer(enum.IntEnum):
    """The buffers :meth:`Pump.push` and :meth:`Pump.take` reach."""

    #: Session bytes not yet opened.
    SESSION_IN = _pump.pump_constant("SESSION_IN")
    #: Records not yet written to the session socket.
    SESSION_OUT = _pump.pump_constant("SESSION_OUT")
    #: Plaintext not yet written to the plaintext socket.
    PLAIN_OUT = _pump.pump_constant("PLAIN_OUT")


@dataclasses.dataclass(frozen=True)
class PumpResult:
    """The figures of one :meth:`Pump.run` call.

    Counts are for this call; sequence numbers and pending sizes are the state after it.
    ``side`` (for :attr:`PumpStatus.ERR_OS`) is 0 for the plaintext socket, 1 for the
    session socket, 2 for poll.
    """

    status: PumpStatus
    os_error: int
    side: int
    plain_read: int
    plain_written: int
    session_read: int
    session_written: int
    sealed_records: int
    opened_records: int
    opened_bytes: int
    send_seq: int
    recv_seq: int
    control_len: int
    pending_plain: int
    pending_session: int
    buffered_session: int


class Pump:
    """One session's pump: keys, four bounded buffers, and the loop that moves bytes.

    :param aead: the session's AEAD (``"chacha20-poly1305"`` or ``"aes-256-gcm"``).
    :param record_size: content bytes per sealed record (at most :data:`MAX_PLAINTEXT`).
    :param max_frame: the largest encrypted payload accepted (at most :data:`MAX_FRAME`).
    :param buffer_size: bytes each direction may hold (:data:`BUFFER_MIN` ..
        :data:`BUFFER_MAX`).
    :param padding: how every record the pump seals is padded (docs/protocol.md §10);
        records it opens are stripped of padding whatever it is.
    :raises ValueError: a size out of bounds, or an unknown AEAD.
    :raises ~pqe2ee.exceptions.BackendUnavailable: the core is not built.
    """

    def __init__(
        self,
        aead: str,
        *,
        buffer_size: int,
        record_size: int = MAX_PLAINTEXT,
        max_frame: int = MAX_FRAME,
        padding: Padding = NO_PADDING,
    ) -> None:
        self._handle: Any = _pump.pump_new(
            aead, record_size=record_size, max_frame=max_frame, buffer_size=buffer_size
        )
        if padding.enabled:
            _pump.pump_set_padding(self._handle, mode=padding.mode, block=padding.block)

    def __enter__(self) -> Pump:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.free()

    def _live(self) -> Any:
        if self._handle is None:
            raise ValueError("the pump was freed")
        return self._handle

    def set_key(self, *, sending: bool, key: bytes, iv: bytes, seq: int, limit: int) -> None:
        """Install one direction's traffic key (the previous one of it is wiped).

        :param sending: True for the sealing direction, False for the opening one.
        :param seq: the next sequence number.
        :param limit: the sequence number at which :meth:`run` returns
            :attr:`PumpStatus.SEND_LIMIT` / :attr:`PumpStatus.RECV_LIMIT`.
        :raises ValueError: a key or IV of the wrong size, or not
            ``0 <= seq <= limit < 2**64``.
        """
        _pump.pump_set_key(self._live(), send=sending, key=key, iv=iv, seq=seq, limit=limit)

    def push(self, buffer: PumpBuffer, data: bytes | bytearray | memoryview) -> bool:
        """Append ``data`` to ``buffer``; False (and nothing appended) when it does not fit."""
        return _pump.pump_push(self._live(), buffer, data)

    def take(self, buffer: PumpBuffer, n: int) -> bytes:
        """Remove and return up to ``n`` bytes from the front of ``buffer``."""
        return _pump.pump_take(self._live(), buffer, n)

    def take_all(self, buffer: PumpBuffer) -> bytes:
        """Remove and return everything ``buffer`` holds."""
        return _pump.pump_take_all(self._live(), buffer)

    def run(
        self,
        *,
        plain_fd: int,
        session_fd: int,
        flags: PumpFlag,
        timeout_ms: int = -1,
        wake_fd: int = -1,
    ) -> PumpResult:
        """Move bytes between two non-blocking sockets until the caller is needed.

        Blocks, with the GIL released.  Everything pending stays in the pump for the
        next call.

        :param timeout_ms: return :attr:`PumpStatus.TIMEOUT` after this long without a
            byte moving (negative: never).
        :param wake_fd: a file descriptor (or -1) whose readability ends the call.
        :raises ValueError: a negative plaintext or session file descriptor.
        """
        figures = _pump.pump_run(
            self._live(),
            plain_fd=plain_fd,
            session_fd=session_fd,
            wake_fd=wake_fd,
            flags=int(flags),
            timeout_ms=timeout_ms,
        )
        status = PumpStatus(figures.pop("status"))
        return PumpResult(status, **figures)

    def free(self) -> None:
        """Wipe every buffer and key and free the pump now (later calls raise ValueError)."""
        if self._handle is not None:
            _pump.pump_free(self._handle)
            self._handle = None
