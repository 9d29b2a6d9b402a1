"""One tunnelled connection once both ends exist: bytes both ways, half-close, idle.

:class:`Link` is the connection's record and the way to end it on either data path;
:meth:`Link.splice` is the asyncio streams path (the fallback without the C core; the C
path is :mod:`pqe2ee.io.tunnel.native`).

Each direction is copied by its own task.  The end of one direction's stream is passed
on as the end of the other side's stream (``write_eof``: a TCP FIN on the plain side,
the authenticated close record on the session side), while the other direction keeps
going, so half-closed protocols work.  When both directions have ended cleanly, both
sides are closed cleanly.  An error on either side (a reset, a truncated or tampered
session, a refused identity) aborts both sides instead: the far end then sees a reset or
a truncated session, never a clean end that would pass for complete data.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

from pqe2ee.io.tunnel.connlog import ConnectionRecord, describe

__all__ = ["Link"]

_CHUNK = 1 << 18
_CLOSE_TIMEOUT = 10.0


class _Reader(Protocol):
    def read(self, n: int = -1) -> Awaitable[bytes]: ...


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...

    def drain(self) -> Awaitable[None]: ...

    def write_eof(self) -> None: ...

    def close(self) -> None: ...

    def wait_closed(self) -> Awaitable[None]: ...


class _SideError(Exception):
    """An error on one named side of the connection."""

    def __init__(self, side: str, exc: BaseException) -> None:
        super().__init__(f"{side}: {describe(exc)}")


async def _copy(
    reader: _Reader,
    writer: _Writer,
    count: Callable[[int], None],
    source: str,
    sink: str,
) -> None:
    while True:
        try:
            data = await reader.read(_CHUNK)
        except Exception as exc:
            raise _SideError(source, exc) from exc
        try:
            if not data:
                writer.write_eof()
                return
            writer.write(data)
            count(len(data))
            await writer.drain()
        except Exception as exc:
            raise _SideError(sink, exc) from exc


class Link:
    """The transports of one connection, its record, and the ways it can end.

    :param record: the connection's log record (bytes, reason).
    :param idle_timeout: close after this many seconds without a byte either way.
    """

    def __init__(self, record: ConnectionRecord, idle_timeout: float | None) -> None:
        self.record = record
        self.idle_timeout = idle_timeout
        self._raw: list[asyncio.StreamWriter] = []
        self._writers: list[_Writer] = []
        self._last = 0.0
        self._cut: Callable[[], None] | None = None

    def attach(self, raw: asyncio.StreamWriter) -> None:
        """Track a transport that :meth:`end` must be able to cut."""
        self._raw.append(raw)

    def set_cut(self, cut: Callable[[], None] | None) -> None:
        """How :meth:`end` interrupts whatever owns the raw sockets now (the handshake's
        task, the C pump's thread); None: nothing to interrupt."""
        self._cut = cut

    def end(self, reason: str, *, graceful: bool = False) -> None:
        """End the connection now, for ``reason``: cut every socket (the far ends see a
        reset or a truncated session), or close them cleanly if ``graceful``.  Only the
        first call acts: later ones are consequences of it."""
        if self.record.end is not None:
            return
        self.record.finish(reason, clean=graceful)
        if graceful and self._writers:
            for writer in self._writers:
                with contextlib.suppress(Exception):
                    writer.close()
        else:
            self.abort()

    def abort(self) -> None:
        """Reset every attached socket and interrupt their current owner, at once."""
        for raw in self._raw:
            raw.transport.abort()
        if self._cut is not None:
            self._cut()

    def _touch_up(self, n: int) -> None:
        self.record.up += n
        self._last = asyncio.get_running_loop().time()

    def _touch_down(self, n: int) -> None:
        self.record.down += n
        self._last = asyncio.get_running_loop().time()

    async def _watch_idle(self, idle: float) -> None:
        loop = asyncio.get_running_loop()
        while (remaining := self._last + idle - loop.time()) > 0:
            await asyncio.sleep(remaining)
        self.end(f"idle timeout ({idle:g} s without data)", graceful=True)

    async def splice(
        self,
        up_reader: _Reader,
        up_writer: _Writer,
        down_reader: _Reader,
        down_writer: _Writer,
        *,
        names: tuple[str, str],
    ) -> None:
        """Copy ``up_reader`` -> ``up_writer`` and ``down_reader`` -> ``down_writer``
        until both are done or one fails; then close or cut both sides.

        ``names`` are the client-facing and service-facing sides, for the log.
        """
        self._writers = [up_writer, down_writer]
        self._last = asyncio.get_running_loop().time()
        near, far = names
        tasks = {
            asyncio.create_task(_copy(up_reader, up_writer, self._touch_up, near, far)),
            asyncio.create_task(_copy(down_reader, down_writer, self._touch_down, far, near)),
        }
        watchdog = None
        if self.idle_timeout is not None:
            watchdog = asyncio.create_task(self._watch_idle(self.idle_timeout))
        try:
            pending = tasks
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    exc = task.exception()
                    if exc is not None:
                        self.end(str(exc) if isinstance(exc, _SideError) else describe(exc))
        finally:
            if watchdog is not None:
                watchdog.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.record.end is not None:
            if not self.record.clean:
                self.abort()
            return
        self.record.finish("closed", clean=True)
        for writer in self._writers:
            writer.close()
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                for writer in self._writers:
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
        except TimeoutError:
            self.abort()  # the peer stopped reading what was left to flush
