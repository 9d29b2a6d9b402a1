"""What both tunnel ends share: the listening socket, the connection limit, handshake
slots, the set of open connections, and shutdown with a grace period."""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import Any

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import PublicIdentity, Suite
from pqe2ee.io.tunnel.config import Endpoint, Limits
from pqe2ee.io.tunnel.limits import HandshakeSlots
from pqe2ee.io.tunnel.pump import Link
from pqe2ee.io.tunnel.record import LOGGER, ConnectionRecord, describe

__all__ = ["Listener"]

_SETTLE_TIMEOUT = 10.0


def _address(writer: asyncio.StreamWriter) -> str:
    peer: Any = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return "?"


class Listener:
    """The accept loop of one tunnel end; subclasses implement :meth:`handle`.

    :param listen: where to accept connections (port 0: any free port, see
        :attr:`address`).
    :param limits: timeouts and counts.
    """

    role = "?"
    #: Whether a newcomer may evict an old handshake (the server's defence against
    #: silent connections; the client end's handshakes are its own, outgoing ones).
    evicting = True

    def __init__(self, listen: Endpoint, limits: Limits) -> None:
        self.listen = listen
        self.limits = limits
        self.slots = HandshakeSlots(
            limits.max_handshakes, limits.evict_after if self.evicting else None
        )
        #: The records of the last 1024 connections that ended (what their log lines say).
        self.finished: collections.deque[ConnectionRecord] = collections.deque(maxlen=1024)
        self._server: asyncio.Server | None = None
        self._links: set[Link] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._numbers = itertools.count(1)
        self._closing = False
        self._cut = asyncio.Event()

    @property
    def address(self) -> Endpoint:
        """The address actually bound (the real port when ``listen`` said 0)."""
        assert self._server is not None, "start() first"
        name = self._server.sockets[0].getsockname()
        return Endpoint(str(name[0]), int(name[1]))

    @property
    def open_connections(self) -> int:
        return len(self._tasks)

    async def start(self) -> None:
        """Bind and start accepting."""
        # A burst of connects beyond the listen backlog waits a SYN retry (a second or
        # more) in the kernel: size the backlog to the connection limit.
        backlog = max(100, min(self.limits.max_connections, 4096))
        self._server = await asyncio.start_server(
            self._on_connect, self.listen.host, self.listen.port, backlog=backlog
        )

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        record = ConnectionRecord(self.role, next(self._numbers), _address(writer))
        link = Link(record, self.limits.idle_timeout)
        link.attach(writer)
        self._tasks.add(task)
        try:
            if self._closing:
                link.end("refused: shutting down")
            elif len(self._links) >= self.limits.max_connections:
                link.end(f"refused: {self.limits.max_connections} connections open (limit)")
            else:
                self._links.add(link)
                await self.handle(link, reader, writer)
        except Exception as exc:  # one connection's bug must not take the listener down
            link.end(f"internal error: {describe(exc)}")
        finally:
            link.end("cancelled")  # a no-op unless nothing ended it yet
            self._links.discard(link)
            self._tasks.discard(task)
            self.finished.append(record)
            record.log()

    async def handle(
        self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        raise NotImplementedError

    async def _handshake_slot(self, link: Link) -> None:
        await self.slots.acquire(link, lambda: link.end("evicted: handshake slots full"))

    @staticmethod
    def note_session(link: Link, suite: Suite | None, peer: PublicIdentity | None) -> None:
        link.record.suite = str(suite) if suite else "-"
        link.record.peer = peer.fingerprint().hex() if peer else "-"

    @staticmethod
    def handshake_failure(link: Link, exc: BaseException) -> None:
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
        if self._server is not None:
            self._server.close()
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
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()
