"""Connecting to a scan target and naming what went wrong, for people reading a report.

Both probes open a TCP connection the same way and turn every network failure into one
short sentence for :attr:`ScanResult.error <pqe2ee.scan.model.ScanResult.error>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket

from pqe2ee.scan.model import Target

__all__ = ["BoundedReader", "close", "connect", "describe_network_error"]


async def connect(target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection to ``target`` (hostnames resolve; IPv6 works).

    A name with several addresses is tried the Happy Eyeballs way (RFC 8305): the next
    address after 250 ms, so one address that drops packets does not use up the deadline.

    :raises OSError: the name does not resolve, the port is closed, the host unreachable.
    """
    return await asyncio.open_connection(target.host, target.port, happy_eyeballs_delay=0.25)


async def close(writer: asyncio.StreamWriter) -> None:
    """Close the connection without waiting on a peer that does not answer."""
    writer.close()
    with contextlib.suppress(OSError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


def describe_network_error(exc: BaseException, target: Target) -> str:
    """One sentence naming a connection failure (``exc`` from :func:`connect` or a read)."""
    where = (
        f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    )
    if isinstance(exc, socket.gaierror):
        return f"{target.host!r} does not resolve ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where} (nothing listens on that port)"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by {where}"
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"{where} closed the connection"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"{where} is unreachable ({exc.strerror})"
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {exc.strerror or exc}"
    return f"{where}: {exc}"


class BoundedReader:
    """Reads from a stream with a hard cap on what is buffered: a hostile peer that
    announces or sends more than ``limit`` bytes gets an error, not our memory."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        """Wrap ``reader``; never hold more than ``limit`` unread bytes."""
        self._reader = reader
        self._limit = limit
        self._buffer = bytearray()

    async def _fill(self) -> bool:
        chunk = await self._reader.read(4096)
        if not chunk:
            return False
        self._buffer += chunk
        return True

    async def line(self, max_length: int) -> bytes | None:
        """The next line, ending in ``\\n``, at most ``max_length`` bytes with the newline.

        :returns: the line with its line ending, or ``None`` if it is longer than
            ``max_length``.
        :raises asyncio.IncompleteReadError: the peer closed before a full line.
        """
        while True:
            end = self._buffer.find(b"\n", 0, max_length)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) >= max_length:
                return None
            if not await self._fill():
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)

    async def exactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes (``n`` no more than the limit).

        :raises ValueError: ``n`` is over the limit (the caller checks lengths first).
        :raises asyncio.IncompleteReadError: the peer closed first.
        """
        if n > self._limit:
            raise ValueError(f"read of {n} bytes over the limit of {self._limit}")
        while len(self._buffer) < n:
            if not await self._fill():
                raise asyncio.IncompleteReadError(bytes(self._buffer), n)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data
