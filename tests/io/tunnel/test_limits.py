"""The pending pool, the connection limit, handshake slots, and floods of silent
connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from pqe2ee.io.tunnel import Endpoint, Limits
from pqe2ee.io.tunnel.limits import HandshakeSlots
from pqe2ee.io.tunnel.listener import DATA_PATH_ENV
from tests.io.tunnel.util import (
    raise_fd_limit,
    read_until_end,
    roundtrip,
    run,
    silent_connections,
    silent_flood,
    tunnel_pair,
)

FLOOD = 1500


def test_slots_wait_while_holders_are_young_and_evict_old_ones() -> None:
    async def main() -> None:
        slots = HandshakeSlots(2, evict_after=0.5)
        evicted: list[str] = []
        await slots.acquire("a", lambda: evicted.append("a"))
        await slots.acquire("b", lambda: evicted.append("b"))
        assert slots.in_use == 2
        third = asyncio.create_task(slots.acquire("c", lambda: evicted.append("c")))
        await asyncio.sleep(0)
        assert not third.done() and evicted == []  # young holders are not evicted
        await third  # once "a" is old enough, it goes
        assert evicted == ["a"] and slots.in_use == 2 and slots.evictions == 1
        slots.release("a")  # an evicted holder releasing is harmless
        assert slots.in_use == 2
        slots.release("b")
        slots.release("c")
        assert slots.in_use == 0

    run(main())


def test_slots_without_eviction_hand_a_released_slot_to_a_waiter() -> None:
    async def main() -> None:
        slots = HandshakeSlots(1, evict_after=None)
        await slots.acquire("a", lambda: None)
        waiter = asyncio.create_task(slots.acquire("b", lambda: None))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        slots.release("a")
        await waiter
        assert slots.in_use == 1 and slots.evictions == 0

    run(main())


def test_a_waiter_cancelled_after_its_wake_up_passes_the_slot_on() -> None:
    async def main() -> None:
        slots = HandshakeSlots(1, evict_after=None)
        await slots.acquire("a", lambda: None)
        b = asyncio.create_task(slots.acquire("b", lambda: None))
        c = asyncio.create_task(slots.acquire("c", lambda: None))
        await asyncio.sleep(0.05)
        slots.release("a")  # wakes b ...
        b.cancel()  # ... which gives up (say, its handshake timed out) before it runs
        with contextlib.suppress(asyncio.CancelledError):
            await b
        async with asyncio.timeout(10):  # no eviction: only a passed-on wake frees c
            await c
        assert slots.in_use == 1

    run(main())


@pytest.fixture(params=["auto", "python"])
def data_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The flood tests run on the default data path (the C pump when the core is built)
    and on the asyncio fallback."""
    monkeypatch.setenv(DATA_PATH_ENV, request.param)
    return str(request.param)


async def _open_session(entry: Endpoint) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection through the tunnel that has carried bytes both ways (so its session
    is established) and stays open."""
    reader, writer = await asyncio.open_connection(entry.host, entry.port)
    writer.write(b"established;")
    await writer.drain()
    assert await reader.readexactly(12) == b"established;"
    return reader, writer


async def _finish_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"still here")
    await writer.drain()
    writer.write_eof()
    assert await reader.read() == b"still here"
    writer.close()


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (bounded by the test's timeout) until ``condition()`` holds."""
    while not condition():
        await asyncio.sleep(0.02)


def test_a_flood_of_silent_connections_does_not_lock_honest_clients_out(data_path: str) -> None:
    """1,500 connections that never speak, then more at 300 per second, against a
    handshake timeout of 60 s and the default limits (256 pending, 1024 established):
    before the pending pool, they took every connection place and newcomers were refused
    until the flood stopped.  Now a newcomer evicts the oldest pending connection, so the
    honest one gets through at once (the 10 s bound is a failure bound, far below the
    60 s timeout), the evicted ones are the oldest, and an established session goes on
    through the flood."""
    raise_fd_limit(3 * FLOOD)

    async def main() -> None:
        limits = Limits(handshake_timeout=60)
        async with tunnel_pair(server_limits=limits) as pair:
            server = pair.server
            session = await _open_session(pair.entry)
            async with silent_flood(server.address, FLOOD) as flood:
                # the whole burst accepted (and pending, evicted or refused) first
                await _until(lambda: server.accepted > FLOOD)
                async with asyncio.timeout(10):
                    got = await roundtrip(pair.entry, b"through the flood")
                assert got == b"through the flood"
                await _finish_session(*session)  # the established session survived
                pool = server.pending
                assert pool.in_use <= pool.limit
                assert pool.evictions >= FLOOD - pool.limit
                # the oldest were evicted: the first one sees its end (a reset) ...
                async with asyncio.timeout(10):
                    assert await read_until_end(flood[0][0]) in (b"", None)
                # ... and every connection evicted is older than every one still pending
                ended = [r for r in server.finished if r.end and r.end.startswith("evicted")]
                still = [link.record.number for link in pool.oldest_first()]
                assert ended and still and max(r.number for r in ended) < min(still)
                assert {r.end for r in ended} == {"evicted: 256 pending handshakes (limit)"}
        assert len(pair.service.received) == 2  # only the honest connections got through

    run(main(), timeout=120)


def test_established_sessions_count_against_max_connections_pending_ones_do_not() -> None:
    async def main() -> None:
        limits = Limits(max_connections=2, handshake_timeout=60, max_pending_handshakes=8)
        async with tunnel_pair(server_limits=limits) as pair:
            server = pair.server
            first = await _open_session(pair.entry)
            flood = await silent_connections(server.address, 20)  # beyond both limits
            await _until(lambda: server.pending.evictions >= 12)
            second = await _open_session(pair.entry)  # pending ones took no place
            assert server.established_connections == 2
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            assert await read_until_end(reader) in (b"", None)  # no room for a third
            writer.close()
            assert any(r.end == "refused: 2 connections open (limit)" for r in server.finished)
            await _finish_session(*first)
            await _finish_session(*second)
            await _until(lambda: server.established_connections == 0)
            assert await roundtrip(pair.entry, b"room now") == b"room now"
            for _, w in flood:
                w.close()
        assert len(pair.service.received) == 3

    run(main())


def test_per_source_limit_makes_a_flooding_address_evict_only_its_own() -> None:
    """A flood from 127.0.0.2 with a per-source limit of 8: it evicts its own oldest
    pending connections, never the slow pending one from 127.0.0.1."""

    async def main() -> None:
        limits = Limits(handshake_timeout=60, max_pending_handshakes=64, max_pending_per_source=8)
        async with tunnel_pair(server_limits=limits) as pair:
            server = pair.server
            slow = await silent_connections(server.address, 1)  # from 127.0.0.1
            await _until(lambda: server.pending.in_use == 1)
            flood = await silent_connections(server.address, 100, source="127.0.0.2")
            await _until(lambda: server.pending.source_evictions == 100 - 8)
            pool = server.pending
            assert pool.evictions == 0  # the pool itself never filled up
            assert pool.from_source("127.0.0.2") == 8 and pool.from_source("127.0.0.1") == 1
            ends = [r.end for r in server.finished]
            assert ends.count("evicted: 8 pending handshakes from 127.0.0.2 (limit)") == 92
            async with asyncio.timeout(10):
                assert await roundtrip(pair.entry, b"from elsewhere") == b"from elsewhere"
            assert pool.from_source("127.0.0.1") == 1  # the slow one is still pending
            for _, w in slow + flood:
                w.close()

    run(main())


def test_options_of_the_pending_pool_are_checked() -> None:
    with pytest.raises(ValueError, match="max_pending_handshakes"):
        Limits(max_pending_handshakes=0)
    with pytest.raises(ValueError, match="max_pending_per_source"):
        Limits(max_pending_per_source=0)
    assert Limits().max_pending_handshakes == 256 and Limits().max_pending_per_source is None
