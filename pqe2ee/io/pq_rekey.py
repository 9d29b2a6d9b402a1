"""When the adapters start a post-quantum ratchet step on their own (docs/protocol.md §9).

The sans-IO core has no clock: :class:`PqRekeyTrigger` holds the adapter's two triggers,
``pq_rekey_after`` seconds since the session's last step (or its handshake) and
``pq_rekey_bytes`` bytes of application data sent by this side since then, and starts a
step through :meth:`~pqe2ee.handshake.Connection.start_pq_rekey` when one is due.

A step is never started while one is in progress (either side's), nor on a session that
carried no application data since the last step: an idle session would otherwise run
into the flood bound of §9.4 (64 steps in a row with no data between), and there is
nothing new to protect.  Both ends may run triggers: starts that cross resolve to the
client's exchange (§9.4).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pqe2ee.exceptions import LocalProtocolError
from pqe2ee.handshake import Connection

__all__ = ["PqRekeyTrigger", "check_pq_rekey_options"]


def check_pq_rekey_options(after: float | None, nbytes: int | None) -> None:
    """Refuse impossible trigger values.

    :raises ValueError: ``after`` not positive, or ``nbytes`` below 1.
    """
    if after is not None and not after > 0:
        raise ValueError("pq_rekey_after must be positive seconds (or None: no time trigger)")
    if nbytes is not None and (isinstance(nbytes, bool) or nbytes < 1):
        raise ValueError("pq_rekey_bytes must be at least 1 (or None: no byte trigger)")


class PqRekeyTrigger:
    """The automatic ratchet triggers of one session.

    :param conn: the session (handshake complete, or completing later).
    :param after: seconds between steps (None: no time trigger).
    :param nbytes: application bytes this side sends between steps (None: no byte trigger).
    :param clock: monotonic seconds (tests may pass their own).
    :raises ValueError: see :func:`check_pq_rekey_options`.
    """

    def __init__(
        self,
        conn: Connection,
        after: float | None = None,
        nbytes: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_pq_rekey_options(after, nbytes)
        self.conn, self.after, self.nbytes = conn, after, nbytes
        self._clock = clock
        self._last = clock()
        self._seen = conn.pq_rekeys

    @property
    def enabled(self) -> bool:
        """Whether any trigger is set."""
        return self.after is not None or self.nbytes is not None

    def _note_steps(self) -> None:
        if self.conn.pq_rekeys != self._seen:  # a step completed (ours or the peer's)
            self._seen = self.conn.pq_rekeys
            self._last = self._clock()

    def due(self) -> bool:
        """Whether a step should start now."""
        if not self.enabled:
            return False
        self._note_steps()
        conn = self.conn
        if not conn.handshake_complete or conn.pq_rekey_in_progress:
            return False
        sent, received = conn.bytes_since_pq_rekey
        if not sent and not received:
            return False
        if self.nbytes is not None and sent >= self.nbytes:
            return True
        return self.after is not None and self._clock() - self._last >= self.after

    def seconds_left(self) -> float | None:
        """Seconds until the time trigger is next worth checking (None: no time trigger)."""
        if self.after is None:
            return None
        self._note_steps()
        left = self._last + self.after - self._clock()
        return left if left > 0 else self.after

    def poll(self) -> bool:
        """Start a step if one is due; True if one was started.

        A connection that refuses (closed meanwhile, or the sender's flood bound) is left
        as it is: the trigger tries again later.
        """
        if not self.due():
            return False
        try:
            self.conn.start_pq_rekey()
        except LocalProtocolError:
            return False
        self._last = self._clock()
        return True
