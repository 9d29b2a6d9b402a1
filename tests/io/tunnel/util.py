"""In-process plumbing for tunnel tests: identities, an echo service, a tunnel pair."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import resource
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache

import pytest

from pqe2ee.handshake import AuthKind, Config, Identity, Policy
from pqe2ee.io.tunnel import (
    ClientSettings,
    Endpoint,
    Limits,
    ServerSettings,
    TunnelClient,
    TunnelServer,
)

LOOPBACK = "127.0.0.1"
TEST_TIMEOUT = 60.0


@cache
def identity(name: str, kind: str = "ed25519") -> Identity:
    """Cached identities by name: "server", "client", "stranger", ..."""
    return Identity.generate(AuthKind(kind))


def fpr(name: str) -> bytes:
    return identity(name).public().fingerprint()


@dataclass
class EchoService:
    """A TCP service that echoes what it reads; at the client's end of stream it ends
    its own (half-close), and it records every connection's bytes."""

    greeting: bytes = b""
    received: list[bytearray] = field(default_factory=list)
    server: asyncio.Server | None = None
    open: int = 0

    async def start(self) -> Endpoint:
        self.server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        return Endpoint(LOOPBACK, self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = bytearray()
        self.received.append(got)
        self.open += 1
        try:
            if self.greeting:
                writer.write(self.greeting)
            while data := await reader.read(1 << 16):
                got += data
                writer.write(data)
                await writer.drain()
            writer.write_eof()
            await writer.drain()
            await reader.read()  # until the tunnel closes the connection
        except (ConnectionError, OSError):
            pass
        finally:
            self.open -= 1
            writer.close()

    def everything(self) -> bytes:
        return b"".join(bytes(r) for r in self.received)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


def server_settings(
    forward: Endpoint,
    *,
    allow: tuple[str, ...] = ("client",),
    policy: Policy | None = None,
    limits: Limits | None = None,
) -> ServerSettings:
    return ServerSettings(
        listen=Endpoint(LOOPBACK, 0),
        forward=forward,
        config=Config(
            identity=identity("server"),
            policy=policy or Policy(),
            peer_fingerprints=frozenset(fpr(a) for a in allow),
            require_client_identity=True,
        ),
        limits=limits or Limits(),
    )


def client_settings(
    connect: Endpoint,
    *,
    me: str = "client",
    pin: str = "server",
    policy: Policy | None = None,
    limits: Limits | None = None,
) -> ClientSettings:
    return ClientSettings(
        listen=Endpoint(LOOPBACK, 0),
        connect=connect,
        config=Config(
            identity=identity(me),
            policy=policy or Policy(),
            peer_fingerprints=frozenset({fpr(pin)}),
        ),
        limits=limits or Limits(),
    )


@dataclass
class Pair:
    service: EchoService
    server: TunnelServer
    client: TunnelClient

    @property
    def entry(self) -> Endpoint:
        return self.client.address

    async def extra_client(self, **kwargs: object) -> TunnelClient:
        """Another client end towards the same server (other identity, pin, policy)."""
        client = TunnelClient(client_settings(self.server.address, **kwargs))  # type: ignore[arg-type]
        await client.start()
        return client


@contextlib.asynccontextmanager
async def tunnel_pair(
    *,
    service: EchoService | None = None,
    server_limits: Limits | None = None,
    client_limits: Limits | None = None,
    server_policy: Policy | None = None,
    forward: Endpoint | None = None,
) -> AsyncIterator[Pair]:
    """A tunnel pair in front of ``service`` (default: a new echo service), or in front
    of the real service at ``forward``."""
    service = service or EchoService()
    if forward is None:
        forward = await service.start()
    server = TunnelServer(server_settings(forward, policy=server_policy, limits=server_limits))
    await server.start()
    client = TunnelClient(client_settings(server.address, limits=client_limits))
    await client.start()
    try:
        yield Pair(service, server, client)
    finally:
        await client.shutdown(grace=5)
        await server.shutdown(grace=5)
        await service.close()


async def roundtrip(entry: Endpoint, payload: bytes) -> bytes:
    """Send ``payload``, half-close, read everything back until the end."""
    reader, writer = await asyncio.open_connection(entry.host, entry.port)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    data = await reader.read()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return data


async def read_until_end(reader: asyncio.StreamReader) -> bytes | None:
    """Everything until the end of stream, or None if the connection was reset."""
    try:
        return await reader.read()
    except ConnectionError:
        return None


def marker(tag: str) -> bytes:
    """Plaintext no log line or refused connection may ever show."""
    return f"PLAINTEXT-{tag}-{os.urandom(8).hex()}".encode()


def run(coro: object, timeout: float = TEST_TIMEOUT) -> None:
    """Run a test coroutine with an overall bound."""

    async def bounded() -> None:
        async with asyncio.timeout(timeout):
            await coro  # type: ignore[misc]

    asyncio.run(bounded())


def raise_fd_limit(needed: int) -> None:
    """Raise the soft limit on open files to ``needed`` (skip if the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def silent_connections(
    address: Endpoint, n: int, *, source: str | None = None
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``n`` connections to ``address`` (from the address ``source``) that connect and
    then say nothing, oldest first."""
    local = (source, 0) if source else None
    out = []
    for _ in range(n):
        out.append(await asyncio.open_connection(address.host, address.port, local_addr=local))
    return out


@contextlib.asynccontextmanager
async def silent_flood(
    address: Endpoint, n: int, *, rate: float = 300.0, keep: int = 300
) -> AsyncIterator[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """A flood as an attacker runs it: ``n`` silent connections at once (yielded, oldest
    first, kept open), then new silent connections at ``rate`` per second while the body
    runs, of which the last ``keep`` stay open (the attacker closes its older ones)."""
    burst = await silent_connections(address, n)
    more: collections.deque[asyncio.StreamWriter] = collections.deque()

    async def sustain() -> None:
        while True:
            await asyncio.sleep(1 / rate)  # the attacker's pace, not a wait for an event
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(address.host, address.port)
                more.append(writer)
            while len(more) > keep:
                more.popleft().close()

    task = asyncio.create_task(sustain())
    try:
        yield burst
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for _, writer in burst:
            writer.close()
        for writer in more:
            writer.close()
