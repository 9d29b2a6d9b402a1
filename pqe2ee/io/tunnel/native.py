"""One tunnelled connection on the C data path: the pump in a thread of its own.

After the handshake the connection's bytes move in the C core
(:class:`~pqe2ee.io.socket_pump.SocketPump`), in a thread that serves only this connection
while it lasts (not the default executor: hundreds of connections may be open, each
mostly blocked in poll(); the listener's connection limit bounds the threads, and up to
64 idle ones are kept for the next connections).  The event loop only
waits for the pump to come back: when both directions have ended (close both sockets
cleanly), after the idle timeout (send the authenticated close and end cleanly), or when
:meth:`Link.end <pqe2ee.io.tunnel.link.Link.end>` wakes it through a pipe (shutdown,
eviction: reset both sockets).  Half-close and control records are the pump's business.
The post-quantum ratchet's time trigger (``pq_rekey_after``) wakes the pump through the
same pipe from an event-loop timer; the loop then starts the step between two runs and
lets the pump go on (its byte trigger is the pump's own, see
:class:`~pqe2ee.io.socket_pump.SocketPump`).
On any error the session socket is closed without a close record (the peer sees
truncation) and the plaintext socket is reset: never a clean end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import socket
import threading
from collections.abc import Callable
from typing import Any

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import Connection
from pqe2ee.io.pq_rekey import PqRekeyTrigger
from pqe2ee.io.socket_pump import Outcome, SideError, SocketPump
from pqe2ee.io.tunnel import sockets
from pqe2ee.io.tunnel.connlog import describe
from pqe2ee.io.tunnel.link import Link

__all__ = ["splice"]

_CLOSE_TIMEOUT = 10.0


class _Worker:
    """A thread that runs the blocking calls one connection submits, one at a time.

    Workers are kept for the next connection when their connection ends (at most
    :data:`_POOL_MAX` idle ones): starting a thread costs more than a short connection's
    whole data path.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="pqe2ee-pump", daemon=True)
        self._thread.start()

    @classmethod
    def get(cls) -> _Worker:
        with _POOL_LOCK:
            if _POOL:
                return _POOL.pop()
        return cls()

    def put_back(self) -> None:
        """Return to the pool (call only when no job of this worker is pending)."""
        with _POOL_LOCK:
            if len(_POOL) < _POOL_MAX:
                _POOL.append(self)
                return
        self._jobs.put(None)

    def _main(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, future, loop = job
            try:
                result, error = call(), None
            except BaseException as exc:  # handed to the waiting coroutine
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(_settle, future, result, error)
            # an idle worker in the pool must not keep its last connection alive
            del job, call, future, loop, result, error

    def submit(self, call: Callable[[], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((call, future, loop))
        return future


_POOL_MAX = 64
_POOL: list[_Worker] = []
_POOL_LOCK = threading.Lock()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def splice(
    link: Link,
    conn: Connection,
    plain: socket.socket,
    session: socket.socket,
    *,
    plain_is_near: bool,
    names: tuple[str, str],
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
) -> None:
    """Carry ``conn``'s data between ``plain`` and ``session`` until both directions
    end or one fails; then close (or reset) both sockets, which this call now owns.

    :param plain_is_near: the plaintext side is the client-facing one (the client end),
        so bytes read from it count as ``up``.
    :param names: the client-facing and service-facing sides, for the log.
    :param pq_rekey_after: start a post-quantum ratchet step this often (seconds).
    :param pq_rekey_bytes: and whenever this side sent this many bytes since the last.
    """
    near, far = names
    plain_name, session_name = (near, far) if plain_is_near else (far, near)
    record = link.record
    clean = False
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    loop = asyncio.get_running_loop()
    clock = PqRekeyTrigger(conn, pq_rekey_after, None, clock=loop.time)
    rekey_due = False
    timer: asyncio.TimerHandle | None = None

    def wake() -> None:
        with contextlib.suppress(OSError):
            os.write(wake_w, b"!")

    def on_timer() -> None:
        nonlocal rekey_due
        rekey_due = True
        wake()

    def arm() -> None:
        nonlocal timer
        left = clock.seconds_left()
        if left is not None:
            timer = loop.call_later(left, on_timer)

    pump: SocketPump | None = None
    worker: _Worker | None = None
    try:
        pump = running = SocketPump(conn, plain, session, pq_rekey_bytes=pq_rekey_bytes)
        worker = _Worker.get()
        link.set_cut(wake)
        arm()
        finishing = False
        moved, last_move = (0, 0), loop.time()
        while record.end is None or finishing:
            timeout = _CLOSE_TIMEOUT if finishing else link.idle_timeout
            if timeout is not None and not finishing:
                # the pump counts idleness from each run's start: after a ratchet wake
                # what is left of it, so the timer's wake-ups never keep a session alive
                timeout = max(0.0, timeout - (loop.time() - last_move))
            future = worker.submit(functools.partial(running.run, timeout, wake_r))
            try:
                outcome = await asyncio.shield(future)
            except asyncio.CancelledError:
                await _stop(future, wake)
                raise
            finally:
                _count(link, running, plain_is_near)
            if (running.to_session, running.to_plain) != moved:
                moved, last_move = (running.to_session, running.to_plain), loop.time()
            if outcome is Outcome.DONE:
                record.finish("closed", clean=True)
                clean = record.clean
                break
            if outcome is Outcome.WAKE and rekey_due and record.end is None and not finishing:
                rekey_due = False
                _drain(wake_r)
                if record.end is None:  # (Link.end() sets it before it wakes)
                    running.start_pq_rekey(if_due=clock)
                    arm()
                    continue
            if outcome is Outcome.WAKE or finishing:
                break  # Link.end() asked, or the last flush did not finish in time
            if outcome is Outcome.TIMEOUT:
                record.finish(f"idle timeout ({link.idle_timeout:g} s without data)", clean=True)
                pump.finish()  # the close record, then FIN both ways
                finishing = True
    except SideError as exc:
        side = plain_name if exc.side == "plain" else session_name
        link.end(f"{side}: {describe(exc.error)}")
    except RemoteProtocolError as exc:
        link.end(f"{session_name}: {describe(exc)}")
    finally:
        if timer is not None:
            timer.cancel()
        record.pq_rekeys = conn.pq_rekeys
        link.set_cut(None)
        if worker is not None:
            worker.put_back()
        # on an error the session just stops (the peer sees truncation: no close record)
        # and the plaintext side is reset (a FIN there would pass for a clean end)
        sockets.close(session)
        if clean:
            sockets.close(plain)
        else:
            sockets.reset(plain)
        if pump is not None:
            pump.release()
        os.close(wake_r)
        os.close(wake_w)


async def _stop(future: asyncio.Future[Any], wake: Callable[[], None]) -> None:
    """Wake the pump and wait until its thread has left it (the sockets and the pump's
    memory may go only then), whatever else gets cancelled meanwhile."""
    wake()
    while not future.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([future])


def _drain(fd: int) -> None:
    """Empty the wake pipe (non-blocking), so the next run does not return at once."""
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 64):
            pass


def _count(link: Link, pump: SocketPump, plain_is_near: bool) -> None:
    up, down = (
        (pump.to_session, pump.to_plain) if plain_is_near else (pump.to_plain, pump.to_session)
    )
    link.record.up, link.record.down = up, down
