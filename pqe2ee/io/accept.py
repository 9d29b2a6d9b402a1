"""Accept one session on a blocking listener while silent connections try to block it.

Accepting one connection and then running its handshake lets the first connection to
arrive hold the listener until the handshake timeout: a single silent connection is a
denial of service.  :func:`accept_session` goes on accepting while handshakes are
pending, runs them side by side (one selector, non-blocking sockets, the sans-IO
:class:`~pqe2ee.handshake.Connection`; the handshake work itself is a few milliseconds of
CPU), keeps them in a bounded :class:`~pqe2ee.io.pending.PendingPool` whose oldest member
is evicted to admit a newcomer, and returns the first connection that completes its
handshake.  Every other pending connection is closed then.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from pqe2ee.exceptions import HandshakeEvicted, RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Config, Connection, HandshakeComplete
from pqe2ee.io.addresses import source_of
from pqe2ee.io.pending import CLEARED, DEFAULT_MAX_PENDING, PendingPool
from pqe2ee.io.socket import SecureSocket, wrap_established

__all__ = ["accept_session"]

_RECV = 1 << 16
#: accept() errors that leave the listener usable: the connection waits in the backlog
#: (or is gone), and the next round tries again
_TRANSIENT = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED)
#: seconds to wait after such an error (as the tunnel's accept loop does)
_ACCEPT_RETRY = 0.1


class _Pending:
    """One accepted connection whose handshake has not finished."""

    __slots__ = ("address", "conn", "deadline", "heard", "out", "sock")

    def __init__(self, sock: socket.socket, address: Any, conn: Connection, deadline: float):
        self.sock, self.address, self.conn, self.deadline = sock, address, conn, deadline
        self.out = bytearray()  # handshake bytes the socket did not take yet
        self.heard = False  # whether the peer sent anything at all


class _Failed(Exception):
    """A pending connection failed; ``error`` says how."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def accept_session(
    listener: socket.socket,
    config: Config | Callable[[Any], Config],
    *,
    handshake_timeout: float | None = 30.0,
    max_pending_handshakes: int = DEFAULT_MAX_PENDING,
    max_pending_per_source: int | None = None,
    raise_failures: bool = True,
    on_drop: Callable[[Any, BaseException], None] | None = None,
) -> tuple[SecureSocket, Any]:
    """Accept connections on ``listener`` and handshake them concurrently as the server;
    return the first to complete, as a blocking :class:`SecureSocket`, and its address.

    Connections are pending from accept until their handshake completes.  At most
    ``max_pending_handshakes`` are (and ``max_pending_per_source`` from one source
    address); a newcomer beyond that evicts the oldest pending connection (of its source,
    for the per-source limit) rather than being refused, so silent connections cannot
    keep an honest client out: its handshake takes milliseconds.  A pending connection is
    closed when it is evicted, after ``handshake_timeout`` seconds from its accept, when
    its socket fails, or when it closes before sending anything; each such drop is
    reported to ``on_drop(address, error)`` (:class:`~pqe2ee.exceptions.HandshakeEvicted`,
    :class:`TimeoutError`, :class:`OSError`) and accepting goes on.  When the session is
    chosen, the other pending connections are closed (without a report).

    :param listener: a listening stream socket; its blocking mode is restored on return.
    :param config: the server's configuration, or a function of the peer's address that
        returns it (for example to file known peers under the address).
    :param raise_failures: a peer that spoke and then failed the handshake (a refused
        identity, a downgrade, garbage) makes this call raise its
        :class:`~pqe2ee.exceptions.RemoteProtocolError`, as :func:`wrap_socket` does;
        with False it is dropped and reported like the others.
    :raises RemoteProtocolError: see ``raise_failures``; every pending connection has
        been closed.
    :raises OSError: the listener failed.
    """
    config_for = (lambda _address: config) if isinstance(config, Config) else config
    pool: PendingPool[_Pending] = PendingPool(max_pending_handshakes, max_pending_per_source)
    selector = selectors.DefaultSelector()
    blocking_timeout = listener.gettimeout()
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ)
    dropped: list[tuple[_Pending, BaseException | None]] = []

    def drop(p: _Pending, error: BaseException | None, *, reset: bool = False) -> None:
        pool.release(p)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(p.sock)
        if reset:  # a reset, not a FIN: no FIN-WAIT state left towards a silent peer
            with contextlib.suppress(OSError):
                p.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        p.sock.close()
        dropped.append((p, error))

    def evict(p: _Pending, why: str) -> None:
        if why == CLEARED:
            drop(p, None, reset=True)
            return
        message = pool.eviction_message(why, source_of(p.address))
        drop(p, HandshakeEvicted(message), reset=True)

    def report() -> None:
        while dropped:
            p, error = dropped.pop(0)
            if error is not None and on_drop is not None:
                on_drop(p.address, error)

    try:
        while True:
            now = time.monotonic()
            for p in pool.oldest_first():  # accept order: the deadlines are in order too
                if p.deadline > now:
                    break
                drop(p, TimeoutError(f"no handshake within {handshake_timeout:g} s"))
            report()
            oldest = next(iter(pool.oldest_first()), None)
            wait = None if oldest is None or handshake_timeout is None else oldest.deadline - now
            for key, _ in selector.select(None if wait is None else max(wait, 0.0)):
                if key.fileobj is listener:
                    _accept_all(listener, pool, config_for, handshake_timeout, selector, evict)
                    continue
                p = key.data
                if p not in pool:  # evicted by an accept in this same round
                    continue
                try:
                    done = _step(p, selector)
                except _Failed as failed:
                    error = failed.error
                    if isinstance(error, RemoteProtocolError) and p.heard and raise_failures:
                        drop(p, None)
                        raise error from None
                    drop(p, error)
                    continue
                if done:
                    pool.release(p)
                    selector.unregister(p.sock)
                    report()
                    return _established(p), p.address
            report()
    finally:
        pool.evict_all()
        selector.close()
        listener.settimeout(blocking_timeout)


def _accept_all(
    listener: socket.socket,
    pool: PendingPool[_Pending],
    config_for: Callable[[Any], Config],
    handshake_timeout: float | None,
    selector: selectors.BaseSelector,
    evict: Callable[[_Pending, str], None],
) -> None:
    """Accept every connection waiting in the backlog into the pool."""
    while True:
        try:
            sock, address = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # out of file descriptors, and the like: not fatal
            if exc.errno in _TRANSIENT:
                # the connection stays in the backlog and the listener stays readable:
                # returning at once would spin on it until a descriptor frees up
                time.sleep(_ACCEPT_RETRY)
                return
            raise
        sock.setblocking(False)
        try:
            conn = Connection(config_for(address), "server")
        except BaseException:
            sock.close()
            raise
        if handshake_timeout is None:
            deadline = float("inf")
        else:
            deadline = time.monotonic() + handshake_timeout
        p = _Pending(sock, address, conn, deadline)
        pool.admit(p, source_of(address), lambda why, p=p: evict(p, why))  # type: ignore[misc]
        selector.register(sock, selectors.EVENT_READ, p)


def _step(p: _Pending, selector: selectors.BaseSelector) -> bool:
    """Move ``p``'s handshake on with what its socket has; True once it is complete.

    :raises _Failed: the handshake or the socket failed, or the peer left without a word.
    """
    try:
        _flush(p)
        data = p.sock.recv(_RECV)
    except (BlockingIOError, InterruptedError):
        data = None
    except OSError as exc:
        raise _Failed(exc) from None
    if data is not None:
        if not data and not p.heard:
            raise _Failed(ConnectionAbortedError("closed before sending anything"))
        p.heard = True
        try:
            p.conn.receive_data(data)
            event = p.conn.next_event()
            p.out += p.conn.data_to_send()
            if isinstance(event, HandshakeComplete):
                return True
            if event is not NEED_DATA:  # pragma: no cover - nothing else comes first
                raise RemoteProtocolError(f"unexpected event {event!r} in the handshake")
        except RemoteProtocolError as exc:
            p.out += p.conn.data_to_send()  # the alert
            with contextlib.suppress(OSError):
                _flush(p)
            raise _Failed(exc) from None
    try:
        _flush(p)
    except OSError as exc:
        raise _Failed(exc) from None
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if p.out else 0)
    selector.modify(p.sock, events, p)
    return False


def _flush(p: _Pending) -> None:
    """Send what the socket takes now of ``p``'s pending handshake bytes."""
    while p.out:
        try:
            sent = p.sock.send(p.out)
        except (BlockingIOError, InterruptedError):
            return
        del p.out[:sent]


def _established(p: _Pending) -> SecureSocket:
    """The chosen connection as a blocking secure socket, its last handshake bytes sent
    (within what is left of its handshake time)."""
    remaining = p.deadline - time.monotonic()
    p.sock.settimeout(None if remaining == float("inf") else max(remaining, 0.001))
    try:
        if p.out:
            p.sock.sendall(p.out)
        p.sock.settimeout(None)
    except BaseException:
        p.sock.close()
        raise
    return wrap_established(p.sock, p.conn)
