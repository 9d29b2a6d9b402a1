"""200 concurrent request/response connections through one tunnel pair, and what is
left afterwards: file descriptors, memory, live session objects."""

from __future__ import annotations

import asyncio
import gc
import os
import resource

import pytest

from pqe2ee.handshake import Connection
from pqe2ee.io.tunnel import Limits
from pqe2ee.io.tunnel.link import Link
from tests.io.tunnel.util import Pair, run, tunnel_pair

CONNECTIONS = 200
EXCHANGES = 5


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def _live(cls: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cls)


async def _client(pair: Pair, i: int, start: asyncio.Event) -> bytes:
    reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
    await start.wait()  # every connection open before any talks
    got = b""
    for n in range(EXCHANGES):
        request = f"{i}:{n}:".encode() + bytes([i % 251]) * 1000
        writer.write(request)
        await writer.drain()
        got = await reader.readexactly(len(request))
        assert got == request
    writer.write_eof()
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()
    return got


async def _round(pair: Pair) -> None:
    start = asyncio.Event()
    tasks = [asyncio.create_task(_client(pair, i, start)) for i in range(CONNECTIONS)]
    for _ in range(500):  # bounded: until the client end holds all of them
        if pair.client.open_connections == CONNECTIONS:
            break
        await asyncio.sleep(0.02)
    assert pair.client.open_connections == CONNECTIONS  # really concurrent
    start.set()
    await asyncio.gather(*tasks)
    for _ in range(500):  # bounded: until both ends have let go
        if pair.client.open_connections == pair.server.open_connections == 0:
            break
        await asyncio.sleep(0.02)


def test_200_concurrent_connections_leave_nothing_behind() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2 * 6 * CONNECTIONS:
        pytest.skip(f"needs {2 * 6 * CONNECTIONS} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2 * 6 * CONNECTIONS), hard))
    figures: dict[str, int] = {}

    async def main() -> None:
        # The burst of honest handshakes fits in the server's pending pool (256 by
        # default): none is evicted, however long the busy machine takes.
        limits = Limits()
        async with tunnel_pair(server_limits=limits, client_limits=limits) as pair:
            await _round(pair)  # warm-up: imports, caches, allocator arenas
            figures["fds_before"], figures["rss_before"] = _fds(), _rss_kib()
            await _round(pair)
            figures["fds_after_1"], figures["rss_after_1"] = _fds(), _rss_kib()
            await _round(pair)
            figures["fds_after_2"], figures["rss_after_2"] = _fds(), _rss_kib()
            figures["links"] = _live(Link)
            figures["connections"] = _live(Connection)
            ended = [r for r in pair.server.finished if r.end != "closed"]
            assert ended == []
            assert len(pair.server.finished) == len(pair.client.finished) == 3 * CONNECTIONS
            assert len(pair.service.received) == 3 * CONNECTIONS

    run(main(), timeout=120)
    print(f"\nload figures: {figures}")
    # (other tests' sockets may be collected meanwhile: fewer is fine, more is a leak)
    assert figures["fds_after_1"] <= figures["fds_before"]
    assert figures["fds_after_2"] <= figures["fds_before"]
    assert figures["links"] == 0 and figures["connections"] == 0
    # One 4 MiB bulk-open buffer per session (see pqe2ee/io/tunnel/memory.py) would be
    # 400 x 4 MiB here; one 256 KiB read buffer kept per connection, 50 MiB a round.
    assert figures["rss_after_1"] - figures["rss_before"] < 16 * 1024, figures
    assert figures["rss_after_2"] - figures["rss_after_1"] < 16 * 1024, figures
