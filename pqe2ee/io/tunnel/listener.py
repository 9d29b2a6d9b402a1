"""What both tunnel ends share: the listening socket, the connection limit, the server's
pool of pending handshakes (the client end's handshake slots), the set of open
connections, the choice of data path, and shutdown with a grace period."""

from __future__ import annotations

import asyncio
import collections
import os
import socket
from typing import Any

from pqe2ee.exceptions import BackendUnavailable, RemoteProtocolError
from pqe2ee.handshake import Connection, PublicIdentity, Suite
from pqe2ee.hazmat import core
from pqe2ee.io import aio, socket_pump
from pqe2ee.io.addresses import address_text, source_of
from pqe2ee.io.pending import PendingPool
from pqe2ee.io.tunnel import native, sockets
from pqe2ee.io.tunnel.config import Endpoint, Limits
from pqe2ee.io.tunnel.connlog import LOGGER, ConnectionRecord, describe
from pqe2ee.io.tunnel.limits import HandshakeSlots
from pqe2ee.io.tunnel.link import Link

__all__ = ["DATA_PATH_ENV", "Listener", "data_path_setting"]

_SETTLE_TIMEOUT = 10.0

#: ``auto`` (the C pump when the core runs the suite's AEAD, else Python), ``c`` (the C
#: pump or refuse to start) or ``python`` (the asyncio streams path).
DATA_PATH_ENV = "PQE2EE_TUNNEL_DATA_PATH"


def data_path_setting() -> str:
    """The data path :data:`DATA_PATH_ENV` asks for.

    :raises ValueError: an unknown value.
    :raises BackendUnavailable: ``c`` without a built C core.
    """
    value = os.environ.get(DATA_PATH_ENV, "auto").strip().lower() or "auto"
    if value not in ("auto", "c", "python"):
        raise ValueError(f"{DATA_PATH_ENV} must be auto, c or python, not {value!r}")
    if value == "c" and not socket_pump.available("chacha20-poly1305"):
        why = core.ERROR or "the C core's libcrypto does not offer chacha20-poly1305"
        raise BackendUnavailable(f"{DATA_PATH_ENV}=c, but {why}")
    return value


class Listener:
    """The accept loop of one tunnel end; subclasses implement :meth:`handle`.

    :param listen: where to accept connections (port 0: any free port, see
        :attr:`address`).
    :param limits: timeouts and counts.
    """

    role = "?"
    #: Whether accepted connections go into a pool of pending handshakes whose oldest
    #: member a newcomer evicts, and ``max_connections`` counts only established ones
    #: (the server's defence against silent connections).  Otherwise (the client end,
    #: whose handshakes are its own outgoing ones) every open connection counts and
    #: handshakes wait for one of ``max_handshakes`` slots.
    evicting = True

    def __init__(self, listen: Endpoint, limits: Limits) -> None:
        self.listen = listen
        self.limits = limits
        #: The client end's handshakes in flight (unused on the server).
        self.slots = HandshakeSlots(limits.max_handshakes, None)
        #: The server's pending handshakes (unused on the client end).
        self.pending: PendingPool[Link] = PendingPool(
            limits.max_pending_handshakes, limits.max_pending_per_source
        )
        #: The records of the last 1024 connections that ended (what their log lines say).
        self.finished: collections.deque[ConnectionRecord] = collections.deque(maxlen=1024)
        self.data_path = data_path_setting()
        if self.data_path == "auto" and not core.AVAILABLE:
            core.warn_pure_python("the tunnel's data path")
        self._sock: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._links: set[Link] = set()
        self._established: set[Link] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Connections accepted so far (each gets the next number in its log line).
        self.accepted = 0
        self._closing = False
        self._cut = asyncio.Event()

    @property
    def address(self) -> Endpoint:
        """The address actually bound (the real port when ``listen`` said 0)."""
        assert self._sock is not None, "start() first"
        name = self._sock.getsockname()
        return Endpoint(str(name[0]), int(name[1]))

    @property
    def open_connections(self) -> int:
        """Connections open, pending ones included."""
        return len(self._tasks)

    @property
    def established_connections(self) -> int:
        """Connections past their handshake (on the server: what ``max_connections``
        bounds)."""
        return len(self._established)

    async def start(self) -> None:
        """Bind and start accepting."""
        # A burst of connects beyond the listen backlog waits a SYN retry (a second or
        # more) in the kernel: size the backlog to the connection limits.
        wanted = self.limits.max_connections
        if self.evicting:
            wanted += self.limits.max_pending_handshakes
        backlog = max(100, min(wanted, 4096))
        self._sock = sockets.listening_socket(self.listen, backlog)
        self._accepting = asyncio.create_task(self._accept_loop(self._sock))

    async def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, peer = await sockets.accept(listener)
            except OSError as exc:  # out of file descriptors, and the like: go on
                LOGGER.warning("tunnel %s: accept failed: %s", self.role, describe(exc))
                await asyncio.sleep(0.1)
                continue
            self._tasks.add(asyncio.create_task(self._on_connect(sock, peer)))

    async def _on_connect(self, sock: socket.socket, peer: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.accepted += 1
        record = ConnectionRecord(self.role, self.accepted, address_text(peer))
        link = Link(record, self.limits.idle_timeout)
        link.set_cut(lambda: _cancel_unless_current(task))
        owned = [sock]
        self._tasks.add(task)
        try:
            counted = self._established if self.evicting else self._links
            if self._closing:
                link.end("refused: shutting down")
            elif len(counted) >= self.limits.max_connections:
                link.end(f"refused: {self.limits.max_connections} connections open (limit)")
            else:
                self._links.add(link)
                if self.evicting:
                    self._admit(link, sock, source_of(peer))
                await self.handle(link, sock, owned)
        except Exception as exc:  # one connection's bug must not take the listener down
            link.end(f"internal error: {describe(exc)}")
        finally:
            link.end("cancelled")  # a no-op unless nothing ended it yet
            for left in owned:  # sockets no data path took over
                sockets.close(left)
            self.pending.release(link)
            self._links.discard(link)
            self._established.discard(link)
            self._tasks.discard(task)
            self.finished.append(record)
            record.log()

    async def handle(self, link: Link, sock: socket.socket, owned: list[socket.socket]) -> None:
        """Serve one accepted connection.  ``owned`` lists the raw sockets to close when
        it ends; a data path that takes a socket over removes it from there."""
        raise NotImplementedError

    def native(self, suite: Suite | None) -> bool:
        """Whether a connection with ``suite`` takes the C data path."""
        if self.data_path == "python" or suite is None:
            return False
        return socket_pump.available(suite.aead)

    async def carry(
        self,
        link: Link,
        conn: Connection,
        plain: socket.socket,
        session: socket.socket,
        owned: list[socket.socket],
        *,
        plain_is_near: bool,
        names: tuple[str, str],
    ) -> None:
        """Carry an established session's data between its two sockets, on the C pump
        when it can run the suite, else through the asyncio streams."""
        owned.clear()  # from here the data path closes them
        rekey: dict[str, Any] = {
            "pq_rekey_after": self.limits.pq_rekey_after,
            "pq_rekey_bytes": self.limits.pq_rekey_bytes,
        }
        if self.native(conn.suite):
            await native.splice(
                link, conn, plain, session, plain_is_near=plain_is_near, names=names, **rekey
            )
            return
        try:
            await self._carry_streams(link, conn, plain, session, plain_is_near, names, rekey)
        finally:
            link.record.pq_rekeys = conn.pq_rekeys

    async def _carry_streams(
        self,
        link: Link,
        conn: Connection,
        plain: socket.socket,
        session: socket.socket,
        plain_is_near: bool,
        names: tuple[str, str],
        rekey: dict[str, Any],
    ) -> None:
        """:meth:`carry` through the asyncio streams (no C core for the suite)."""
        link.set_cut(None)
        try:
            p_reader, p_writer = await asyncio.open_connection(sock=plain)
        except BaseException:
            sockets.close(plain)
            sockets.close(session)
            raise
        link.attach(p_writer)
        try:
            r_reader, r_writer = await asyncio.open_connection(sock=session)
        except BaseException:
            sockets.close(session)
            raise
        link.attach(r_writer)
        s_reader, s_writer = aio.wrap_established(r_reader, r_writer, conn, **rekey)
        if plain_is_near:
            await link.splice(p_reader, s_writer, s_reader, p_writer, names=names)
        else:
            await link.splice(s_reader, p_writer, p_reader, s_writer, names=names)

    def _admit(self, link: Link, sock: socket.socket, source: str) -> None:
        """Put a new connection into the pending pool, evicting the oldest pending one
        (of its source, with a per-source limit) if the pool is full."""
        pool = self.pending

        def evict(why: str) -> None:
            # a reset, not a FIN: nothing of the evicted connection lingers in the kernel
            # (FIN-WAIT towards a peer that never closes), and the peer sees an abort
            sockets.abort_on_close(sock)
            link.end(pool.eviction_message(why, source))

        pool.admit(link, source, evict)

    async def _handshake_slot(self, link: Link) -> None:
        """Wait for a handshake slot (client end; the server admitted the connection to
        its pending pool on accept)."""
        if not self.evicting:
            await self.slots.acquire(link, lambda: None)

    def _handshake_over(self, link: Link) -> None:
        """Give the handshake's slot or pending place back (finished or failed)."""
        if self.evicting:
            self.pending.release(link)
        else:
            self.slots.release(link)

    def _establish(self, link: Link) -> bool:
        """Count ``link`` as established once its handshake has finished; on the server,
        refuse it (and return False) while ``max_connections`` sessions are established,
        and return False if it was evicted meanwhile."""
        self._handshake_over(link)
        if link.record.end is not None:
            return False
        if self.evicting and len(self._established) >= self.limits.max_connections:
            link.end(f"refused: {self.limits.max_connections} connections open (limit)")
            return False
        self._established.add(link)
        return True

    @staticmethod
    def note_session(link: Link, suite: Suite | None, peer: PublicIdentity | None) -> None:
        """Put the negotiated suite and the peer's fingerprint in the log record."""
        link.record.suite = str(suite) if suite else "-"
        link.record.peer = peer.fingerprint().hex() if peer else "-"

    @staticmethod
    def handshake_failure(link: Link, exc: BaseException) -> None:
        """End ``link`` for a failed handshake, with a reason naming the failure."""
        if isinstance(exc, TimeoutError):
            link.end("handshake timeout")
        elif isinstance(exc, RemoteProtocolError | OSError):
            link.end(f"handshake failed: {describe(exc)}")
        else:
            raise exc

    def cut_now(self) -> None:
        """End the grace period of a running :meth:`shutdown` now."""
        self._cut.set()

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop accepting; let open connections finish for ``grace`` seconds (default:
        the configured grace, cut short by :meth:`cut_now`), then cut the rest."""
        grace = self.limits.grace if grace is None else grace
        self._closing = True
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.gather(self._accepting, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()  # new connects are refused from now on
        if self._tasks:
            LOGGER.info(
                "tunnel %s: shutting down, %d connections open, grace %g s",
                self.role,
                len(self._tasks),
                grace,
            )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace
            while self._tasks and not self._cut.is_set():  # bounded by the deadline
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                cut = asyncio.create_task(self._cut.wait())
                await asyncio.wait(
                    {*self._tasks, cut}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                cut.cancel()
        reason = "cut by a second signal" if self._cut.is_set() else "grace period over"
        for link in list(self._links):
            link.end(f"shutdown: {reason}")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_SETTLE_TIMEOUT)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=_SETTLE_TIMEOUT)

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()


def _cancel_unless_current(task: asyncio.Task[Any]) -> None:
    """Interrupt ``task`` (a handshake on raw sockets), unless it is the caller itself,
    which goes on to its own end."""
    if task is not asyncio.current_task():
        task.cancel()
