"""A blocking socket adapter: :func:`wrap_socket` puts a pqe2ee session over any socket.

The wrapped object behaves like a connected stream socket (``sendall``, ``recv``,
``close``, timeouts, a context manager) and works over anything with ``sendall`` and
``recv``: a TCP socket, a Unix socket, or an ``ssl.SSLSocket`` (then pass the TLS
exporter as ``Config.channel_binding`` to bind the two sessions).  All protocol logic
lives in the sans-IO :class:`~pqe2ee.handshake.Connection`; this file only moves bytes.
"""

from __future__ import annotations

import contextlib
import socket as _socket
import threading
from collections import deque
from types import TracebackType
from typing import Any

from pqe2ee.exceptions import LocalProtocolError, RemoteProtocolError
from pqe2ee.handshake import (
    NEED_DATA,
    Config,
    Connection,
    ConnectionClosed,
    DataReceived,
    HandshakeComplete,
    PublicIdentity,
    Suite,
)
from pqe2ee.io.pq_rekey import PqRekeyTrigger

__all__ = ["SecureSocket", "wrap_established", "wrap_socket"]

_READ_SIZE = 1 << 20
_FIRST_READ = 1 << 16


class SecureSocket:
    """A socket whose bytes travel inside a pqe2ee session.  Make one with :func:`wrap_socket`.

    :param pq_rekey_after: start a post-quantum ratchet step (docs/protocol.md §9) once
        this many seconds passed since the last one; checked whenever the application
        sends or receives (there is no background thread), skipped while the session
        carries no data.
    :param pq_rekey_bytes: start one once this side sent this many bytes since the last.
    A step started here completes the next time this side reads (:meth:`recv`).
    """

    def __init__(
        self,
        sock: Any,
        config: Config,
        *,
        server_side: bool,
        pq_rekey_after: float | None = None,
        pq_rekey_bytes: int | None = None,
    ) -> None:
        conn = Connection(config, "server" if server_side else "client")
        self._setup(sock, conn, PqRekeyTrigger(conn, pq_rekey_after, pq_rekey_bytes))

    def _setup(self, sock: Any, conn: Connection, trigger: PqRekeyTrigger) -> None:
        self._sock = sock
        self._conn = conn
        self._trigger = trigger
        self._chunks: deque[bytes] = deque()  # authenticated plaintext, in order
        self._inbox = bytearray(_FIRST_READ)  # reused; grows to _READ_SIZE under bulk
        self._peer_closed = False
        self._closed = False
        # one thread may send while another receives (netcat-style); the sans-IO
        # connection is not thread-safe, so every call into it holds this lock
        self._lock = threading.Lock()
        self.suite: Suite | None = None
        self.peer_identity: PublicIdentity | None = None

    @property
    def client_identity_requested(self) -> bool:
        """Whether the server asks for the client's identity: a client then knows it was
        accepted only once :meth:`recv` returns (see
        :attr:`~pqe2ee.handshake.Connection.client_identity_requested`)."""
        return self._conn.client_identity_requested

    # --- the handshake ---------------------------------------------------------
    def do_handshake(self) -> None:
        """Run the handshake to completion (blocking; the socket's timeout applies).

        :raises RemoteProtocolError: the peer failed or refused the handshake (the
            socket is closed); subclasses say why (DowngradeError, IdentityRejected).
        """
        try:
            while True:
                event = self._conn.next_event()
                self._flush()
                if isinstance(event, HandshakeComplete):
                    self.suite, self.peer_identity = event.suite, event.peer_identity
                    return
                if event is not NEED_DATA:  # pragma: no cover - nothing else comes first
                    raise RemoteProtocolError(f"unexpected event {event!r} during the handshake")
                n = self._sock.recv_into(self._inbox)
                with memoryview(self._inbox) as view:
                    self._conn.receive_data(view[:n])
        except RemoteProtocolError:
            self._flush_quietly()
            self._sock.close()
            self._closed = True
            raise
        except (BrokenPipeError, ConnectionResetError):
            # The peer hung up while we were writing: it may have refused us with an
            # alert first.  Report that reason rather than the broken pipe.
            reason = self._alert_after_hangup()
            self._sock.close()
            self._closed = True
            if reason is not None:
                raise reason from None
            raise

    def _alert_after_hangup(self) -> RemoteProtocolError | None:
        """Read what the peer sent before it closed, looking for its alert."""
        try:
            self._sock.settimeout(1.0)
            while True:  # ends in an exception: the alert, or the end of the stream
                if self._conn.next_event() is NEED_DATA:
                    n = self._sock.recv_into(self._inbox)
                    with memoryview(self._inbox) as view:
                        self._conn.receive_data(view[:n])
        except RemoteProtocolError as error:
            return error
        except OSError:
            return None

    # --- data ------------------------------------------------------------------
    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        """Protect and send all of ``data``."""
        with self._lock:
            self._conn.send_data(bytes(data))
            self._trigger.poll()
            self._flush()

    send = sendall

    def start_pq_rekey(self) -> None:
        """Start a post-quantum ratchet step now (see
        :meth:`pqe2ee.handshake.Connection.start_pq_rekey`); it completes once this side
        has read the peer's answer (:meth:`recv`).

        :raises LocalProtocolError: not connected and open, or a step is in progress.
        """
        with self._lock:
            self._conn.start_pq_rekey()
            self._flush()

    @property
    def pq_rekeys(self) -> int:
        """Post-quantum ratchet steps completed in this session."""
        return self._conn.pq_rekeys

    def configure_pq_rekey(self, after: float | None = None, nbytes: int | None = None) -> None:
        """Set (or, with None, clear) the automatic ratchet triggers of :class:`SecureSocket`
        (for a socket made by :func:`pqe2ee.io.accept.accept_session`, say).

        :raises ValueError: a trigger value that is not positive.
        """
        with self._lock:
            self._trigger = PqRekeyTrigger(self._conn, after, nbytes)

    def recv(self, bufsize: int) -> bytes:
        """Up to ``bufsize`` bytes of authenticated data; ``b""`` after the peer's close.

        :raises RemoteProtocolError: tampering, or the stream ended without the
            peer's authenticated close (truncation).
        """
        while not self._chunks and not self._peer_closed:
            self._pump()
        if not self._chunks:
            return b""
        chunk = self._chunks[0]
        if len(chunk) <= bufsize:
            return self._chunks.popleft()  # a whole record's data: no copy
        self._chunks[0] = chunk[bufsize:]
        return chunk[:bufsize]

    def _pump(self) -> None:
        with self._lock:
            event = self._conn.next_event()
            if event is NEED_DATA:
                self._trigger.poll()
            self._flush()  # key updates the peer asked for, ratchet records
        if event is NEED_DATA:
            n = self._sock.recv_into(self._inbox)
            with self._lock, memoryview(self._inbox) as view:
                self._conn.receive_data(view[:n])
            if n == len(self._inbox) < _READ_SIZE:
                self._inbox = bytearray(min(2 * n, _READ_SIZE))
        elif isinstance(event, DataReceived):
            self._chunks.append(event.data)
        elif isinstance(event, ConnectionClosed):
            self._peer_closed = True

    def _flush(self) -> None:
        buffers = self._conn.pop_output()
        if len(buffers) > 1 and sum(map(len, buffers)) <= _READ_SIZE:
            buffers = [b"".join(buffers)]  # one write, one wake-up of the peer
        for buf in buffers:
            self._sock.sendall(buf)

    def _flush_quietly(self) -> None:
        with contextlib.suppress(OSError):
            self._flush()

    # --- closing ---------------------------------------------------------------
    def shutdown_write(self) -> None:
        """Send the authenticated close and half-close the socket; reading goes on."""
        with self._lock:
            self._conn.close()
            self._flush()
        with contextlib.suppress(OSError):
            self._sock.shutdown(_socket.SHUT_WR)

    def close(self) -> None:
        """Send the authenticated close (if connected) and close the socket."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            if self._conn.handshake_complete:
                self._conn.close()
                self._flush_quietly()
        self._sock.close()

    def __enter__(self) -> SecureSocket:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- pass-through ----------------------------------------------------------
    def settimeout(self, timeout: float | None) -> None:
        """Set the timeout of the underlying socket (each read and write waits that long)."""
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        """The timeout of the underlying socket."""
        timeout: float | None = self._sock.gettimeout()
        return timeout

    def fileno(self) -> int:
        """The file descriptor of the underlying socket (for ``select`` and the like)."""
        fd: int = self._sock.fileno()
        return fd

    def getpeername(self) -> Any:
        """The remote address of the underlying socket."""
        return self._sock.getpeername()

    def getsockname(self) -> Any:
        """The local address of the underlying socket."""
        return self._sock.getsockname()

    def export_keying_material(self, label: str, context: bytes, length: int) -> bytes:
        """Keys bound to this session for the application's own use."""
        return self._conn.export_keying_material(label, context, length)

    @property
    def connection(self) -> Connection:
        """The sans-IO connection underneath (for inspection)."""
        return self._conn


def wrap_socket(
    sock: Any,
    config: Config,
    *,
    server_side: bool = False,
    do_handshake: bool = True,
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
) -> SecureSocket:
    """Wrap a connected stream socket in a pqe2ee session.

    :param sock: a connected socket (TCP, Unix, ``ssl.SSLSocket``...).
    :param config: identity, policy and pins; a server needs an identity.
    :param server_side: True on the accepting side.
    :param do_handshake: run the handshake now (default) or on :meth:`SecureSocket.do_handshake`.
    :param pq_rekey_after: automatic post-quantum ratchet steps, see :class:`SecureSocket`.
    :param pq_rekey_bytes: likewise, by bytes sent.
    :raises ValueError: a trigger value that is not positive.
    """
    wrapped = SecureSocket(
        sock,
        config,
        server_side=server_side,
        pq_rekey_after=pq_rekey_after,
        pq_rekey_bytes=pq_rekey_bytes,
    )
    if do_handshake:
        wrapped.do_handshake()
    return wrapped


def wrap_established(
    sock: Any,
    conn: Connection,
    *,
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
) -> SecureSocket:
    """The secure socket over ``sock`` for a connection whose handshake ``conn`` has
    already completed (elsewhere, for example in :func:`pqe2ee.io.accept.accept_session`);
    bytes ``conn`` holds unprocessed come first.

    :param pq_rekey_after: automatic post-quantum ratchet steps, see :class:`SecureSocket`.
    :param pq_rekey_bytes: likewise, by bytes sent.
    :raises LocalProtocolError: ``conn``'s handshake is not complete.
    """
    if not conn.handshake_complete:
        raise LocalProtocolError("wrap_established needs a connection past its handshake")
    trigger = PqRekeyTrigger(conn, pq_rekey_after, pq_rekey_bytes)
    wrapped = SecureSocket.__new__(SecureSocket)
    wrapped._setup(sock, conn, trigger)
    wrapped.suite, wrapped.peer_identity = conn.suite, conn.peer_identity
    return wrapped
