"""Handshake slots: a bound on handshakes in flight that silent peers cannot hold.

A server does real work for anyone who connects, and a half-open connection costs it a
socket and a slot while it waits.  A plain semaphore would let an attacker keep every
slot with a few silent connections, renewed once per handshake timeout.  Here a newcomer
that finds all slots taken evicts the oldest holder, provided that holder has had its
slot for at least ``evict_after`` seconds; otherwise it waits for a slot.  An honest
handshake takes milliseconds, so an attacker must now open connections faster than
``max_handshakes`` per ``evict_after`` to keep one honest client out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["HandshakeSlots"]


class HandshakeSlots:
    """At most ``limit`` holders; holders older than ``evict_after`` s can be evicted.

    :param limit: slots.
    :param evict_after: seconds a holder keeps its slot against newcomers (``None``:
        never evict, newcomers only wait).
    """

    def __init__(self, limit: int, evict_after: float | None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.evict_after = evict_after
        self._holders: dict[object, tuple[float, Callable[[], None]]] = {}  # oldest first
        self._waiters: list[asyncio.Future[None]] = []
        self.evictions = 0

    @property
    def in_use(self) -> int:
        """How many slots are held now."""
        return len(self._holders)

    async def acquire(self, key: object, evict: Callable[[], None]) -> None:
        """Take a slot for ``key``; ``evict()`` is called if it is later taken away.

        Waits (bounded by the caller's own timeout) while every holder is younger than
        ``evict_after``.
        """
        loop = asyncio.get_running_loop()
        while len(self._holders) >= self.limit:
            oldest = next(iter(self._holders))
            since, evict_oldest = self._holders[oldest]
            age = loop.time() - since
            if self.evict_after is not None and age >= self.evict_after:
                del self._holders[oldest]
                self.evictions += 1
                evict_oldest()
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            timeout = None if self.evict_after is None else self.evict_after - age
            try:
                await asyncio.wait([waiter], timeout=timeout)
            except BaseException:
                if waiter.done():  # a release woke this waiter: hand the wake on
                    self._wake_one()
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._holders[key] = (loop.time(), evict)

    def release(self, key: object) -> None:
        """Give the slot back (harmless if it was evicted or never taken)."""
        if self._holders.pop(key, None) is not None:
            self._wake_one()

    def _wake_one(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
                return
