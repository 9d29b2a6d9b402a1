"""What the tunnel logs: one line per connection, when it ends.

The line names the connection, where it came from, the peer's fingerprint and the suite
(both public), the bytes carried each way, how long it lasted and why it ended.  It never
holds a key or a byte of the data carried; reasons are built from exception types and
the messages pqe2ee and the OS give, cut to a bounded length.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

__all__ = ["LOGGER", "ConnectionRecord", "describe"]

LOGGER = logging.getLogger("pqe2ee.tunnel")

_MAX_REASON = 240


def describe(exc: BaseException) -> str:
    """A short, single-line reason for ``exc``: its type and message, nothing else."""
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    reason = f"{name}: {text}" if text else name
    return reason[:_MAX_REASON]


@dataclass
class ConnectionRecord:
    """The facts about one connection that its log line reports.

    ``up`` counts plaintext bytes moving towards the service (client to server),
    ``down`` the bytes coming back; both count what was delivered to the other side.
    """

    role: str
    number: int
    remote: str
    started: float = field(default_factory=time.monotonic)
    peer: str = "-"
    suite: str = "-"
    up: int = 0
    down: int = 0
    #: post-quantum ratchet steps the session completed (docs/protocol.md §9)
    pq_rekeys: int = 0
    end: str | None = None
    clean: bool = False

    def finish(self, reason: str, *, clean: bool = False) -> None:
        """Set why the connection ended; the first reason given stays."""
        if self.end is None:
            self.end = reason
            self.clean = clean

    def line(self) -> str:
        """The log line: ``tunnel <role> conn=… from=… peer=… suite=… up=… down=…
        pq_rekeys=… duration=…s end=…``, public facts only."""
        duration = time.monotonic() - self.started
        return (
            f"tunnel {self.role} conn={self.number} from={self.remote} peer={self.peer} "
            f"suite={self.suite} up={self.up} down={self.down} pq_rekeys={self.pq_rekeys} "
            f"duration={duration:.3f}s "
            f"end={self.end or 'unknown'}"
        )

    def fields(self) -> dict[str, str | int | float]:
        """The facts of :meth:`line` as separate values (for a structured log)."""
        return {
            "role": self.role,
            "conn": self.number,
            "remote": self.remote,
            "peer": self.peer,
            "suite": self.suite,
            "up": self.up,
            "down": self.down,
            "pq_rekeys": self.pq_rekeys,
            "duration_s": round(time.monotonic() - self.started, 3),
            "end": self.end or "unknown",
        }

    def log(self) -> None:
        """Log :meth:`line` on ``pqe2ee.tunnel``: INFO if the end was clean, else WARNING.

        The record also carries :meth:`fields` as attributes (``extra``), for a
        formatter that writes them out one by one (``pqe2ee tunnel --log-format json``).
        """
        level = logging.INFO if self.clean else logging.WARNING
        LOGGER.log(level, "%s", self.line(), extra=self.fields())
