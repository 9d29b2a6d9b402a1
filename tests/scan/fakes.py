"""Fake SSH servers on loopback, for the hostile-server and runner tests."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from pqe2ee.scan.model import Target

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def name_list(names: list[str]) -> bytes:
    data = ",".join(names).encode()
    return struct.pack(">I", len(data)) + data


def kexinit_payload(kex: list[str], host_keys: list[str]) -> bytes:
    lists = [kex, host_keys, ["aes128-ctr"], ["aes128-ctr"], ["hmac-sha2-256"]]
    lists += [["hmac-sha2-256"], ["none"], ["none"], [], []]
    return bytes([20]) + bytes(16) + b"".join(name_list(n) for n in lists) + b"\x00" + bytes(4)


def packet(payload: bytes, padding: int | None = None) -> bytes:
    if padding is None:
        padding = 8 - (len(payload) + 5) % 8
        padding += 8 if padding < 4 else 0
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


GOOD_KEX = ["mlkem768x25519-sha256", "curve25519-sha256"]
GOOD_GREETING = b"SSH-2.0-FakeSSH_1.0\r\n" + packet(kexinit_payload(GOOD_KEX, ["ssh-ed25519"]))


def sends(data: bytes, *, then_wait: bool = True) -> Handler:
    """A server that sends ``data`` and then waits for the client to close."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then_wait:
            await reader.read()
        else:
            await reader.readline()  # unread data would turn the close into a reset
        writer.close()

    return handler


@asynccontextmanager
async def fake_server(handler: Handler, protocol: str = "ssh") -> AsyncIterator[Target]:
    """Serve ``handler`` on a free loopback port for the block; yields its target."""
    tasks: set[asyncio.Task[None]] = set()

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Target(protocol, "127.0.0.1", port)
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0) rather than a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
