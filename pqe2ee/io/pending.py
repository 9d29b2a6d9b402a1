"""The pending pool: connections accepted whose handshake has not finished yet.

A server does real work for anyone who connects, and a connection that never speaks
costs it a socket and a place in line until the handshake timeout.  If pending
connections shared one bound with established ones, or if a full pool refused the
newcomer, a flood of silent connections (a hundred connects per second from one host is
enough) would lock every honest client out.  This pool is bounded on its own, and when it
is full the *oldest* pending connection is evicted to admit the newcomer: an honest
handshake takes milliseconds, so it finishes long before the flood pushes it out, unless
the attacker opens ``limit`` connections within that time.  An optional per-source limit
evicts the oldest pending connection *of the same source address* instead, so a flood
from one address evicts only its own connections and never an honest client's.
Established connections are never in this pool, so a flood can never evict them.

The pool is plain bookkeeping with no I/O and no clock: the blocking acceptor
(:mod:`pqe2ee.io.accept`), the asyncio server (:func:`pqe2ee.io.aio.start_server`) and the
tunnel server all use it from a single thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["CLEARED", "DEFAULT_MAX_PENDING", "POOL_FULL", "SOURCE_FULL", "Evict", "PendingPool"]

#: Pending handshakes a server keeps by default: far above what honest clients need
#: (each finishes in milliseconds), small enough for a default ``ulimit -n`` of 1024.
DEFAULT_MAX_PENDING = 256

#: Why a connection was evicted: the pool was full, its source had ``per_source``
#: pending connections, or :meth:`PendingPool.evict_all` cleared the pool.
POOL_FULL, SOURCE_FULL, CLEARED = "pool full", "source full", "cleared"

#: What the pool calls to push a connection out, with one of the reasons above.
Evict = Callable[[str], None]


K = TypeVar("K", bound=Hashable)


class PendingPool(Generic[K]):
    """At most ``limit`` pending connections (and ``per_source`` per source address);
    a newcomer evicts the oldest one instead of being refused.

    :param limit: pending connections in all.
    :param per_source: pending connections from one source address (``None``: no such
        limit).
    :raises ValueError: a limit below 1.
    """

    def __init__(self, limit: int, per_source: int | None = None) -> None:
        if limit < 1:
            raise ValueError("the pending-handshake limit must be at least 1")
        if per_source is not None and per_source < 1:
            raise ValueError("the per-source pending limit must be at least 1 (or None)")
        self.limit = limit
        self.per_source = per_source
        # key -> (source, evict), oldest first
        self._pending: OrderedDict[K, tuple[str, Evict]] = OrderedDict()
        self._by_source: dict[str, OrderedDict[K, None]] = {}
        #: Connections evicted because the pool was full.
        self.evictions = 0
        #: Connections evicted because their source had ``per_source`` pending ones.
        self.source_evictions = 0

    @property
    def in_use(self) -> int:
        """Pending connections now."""
        return len(self._pending)

    def from_source(self, source: str) -> int:
        """Pending connections from ``source`` now."""
        return len(self._by_source.get(source, ()))

    def admit(self, key: K, source: str, evict: Evict) -> None:
        """Add ``key`` (from address ``source``), evicting the oldest pending connection
        of its source, or else of the pool, if that is full.

        ``evict(why)`` is called, synchronously, for each connection pushed out, already
        out of the pool; ``why`` is :data:`POOL_FULL`, :data:`SOURCE_FULL` or
        :data:`CLEARED`.  It must close that connection (or make sure it will be closed)
        and must not call back into the pool except :meth:`release`.

        :raises ValueError: ``key`` is already pending.
        """
        if key in self._pending:
            raise ValueError("this connection is already pending")
        if self.per_source is not None:
            mine = self._by_source.get(source)
            while mine and len(mine) >= self.per_source:
                self.source_evictions += 1
                self._evict(next(iter(mine)), SOURCE_FULL)
        while len(self._pending) >= self.limit:
            self.evictions += 1
            self._evict(next(iter(self._pending)), POOL_FULL)
        self._pending[key] = (source, evict)
        self._by_source.setdefault(source, OrderedDict())[key] = None

    def release(self, key: K) -> bool:
        """Take ``key`` out of the pool (its handshake finished or failed).

        :returns: whether it was still pending (False: evicted, or never admitted).
        """
        entry = self._pending.pop(key, None)
        if entry is None:
            return False
        source = entry[0]
        mine = self._by_source[source]
        del mine[key]
        if not mine:
            del self._by_source[source]
        return True

    def eviction_message(self, why: str, source: str) -> str:
        """What an eviction for ``why`` (:data:`POOL_FULL` or :data:`SOURCE_FULL`) of a
        connection from ``source`` is reported as, in log lines and errors alike."""
        if why == SOURCE_FULL:
            return f"evicted: {self.per_source} pending handshakes from {source} (limit)"
        return f"evicted: {self.limit} pending handshakes (limit)"

    def oldest_first(self) -> list[K]:
        """The pending connections, oldest (the next to be evicted) first."""
        return list(self._pending)

    def __contains__(self, key: object) -> bool:
        return key in self._pending

    def evict_all(self) -> None:
        """Evict every pending connection (shutting down, or a session was chosen); not
        counted as evictions."""
        while self._pending:
            self._evict(next(iter(self._pending)), CLEARED)

    def _evict(self, key: K, why: str) -> None:
        evict = self._pending[key][1]
        self.release(key)
        evict(why)
