"""Handshake slots, the connection limit, and a flood of silent connections."""

from __future__ import annotations

import asyncio
import contextlib

from pqe2ee.io.tunnel import Endpoint, Limits
from pqe2ee.io.tunnel.limits import HandshakeSlots
from tests.tunnel.util import read_until_end, roundtrip, run, tunnel_pair


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


async def _silent(address: Endpoint, n: int) -> list[asyncio.StreamWriter]:
    """``n`` connections that connect and then say nothing."""
    writers = []
    for _ in range(n):
        _, writer = await asyncio.open_connection(address.host, address.port)
        writers.append(writer)
    return writers


def test_flood_of_silent_connections_cannot_hold_the_handshake_slots() -> None:
    """The handshake timeout is long (30 s, beyond the test's own bound): the good
    connection gets through only because silent ones lose their slots (to each other
    and to it) instead of holding them until they time out."""

    async def main() -> None:
        limits = Limits(handshake_timeout=30, max_handshakes=4, evict_after=0.5)
        async with tunnel_pair(server_limits=limits) as pair:
            silent = await _silent(pair.server.address, 40)
            peak = 0
            for _ in range(10):
                await asyncio.sleep(0.02)
                peak = max(peak, pair.server.slots.in_use)
            async with asyncio.timeout(20):
                assert await roundtrip(pair.entry, b"through the flood") == b"through the flood"
            assert peak == 4  # the limit held
            assert pair.server.slots.evictions >= 1
            for writer in silent:
                writer.close()
        evicted = [r for r in pair.server.finished if r.end == "evicted: handshake slots full"]
        assert evicted and all(r.up == 0 for r in evicted)
        assert len(pair.service.received) == 1

    run(main())


def test_connection_limit_refuses_new_connections_until_one_closes() -> None:
    async def main() -> None:
        limits = Limits(max_connections=3, handshake_timeout=30)
        async with tunnel_pair(server_limits=limits) as pair:
            silent = await _silent(pair.server.address, 3)
            for _ in range(100):  # bounded: until the server counts them
                if pair.server.open_connections == 3:
                    break
                await asyncio.sleep(0.02)
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            assert await read_until_end(reader) in (b"", None)  # dropped
            writer.close()
            assert pair.server.finished[-1].end == "refused: 3 connections open (limit)"
            for writer in silent:
                writer.close()
            for _ in range(100):
                if pair.server.open_connections == 0:
                    break
                await asyncio.sleep(0.02)
            assert await roundtrip(pair.entry, b"room now") == b"room now"
            with contextlib.suppress(Exception):
                await asyncio.gather(*(w.wait_closed() for w in silent))
        assert len(pair.service.received) == 1

    run(main())
