"""asyncio adapters: pqe2ee sessions as reader/writer pairs.

:func:`open_connection` and :func:`start_server` mirror :mod:`asyncio`'s functions of
the same names; :func:`wrap_streams` puts a session over any existing asyncio stream
pair (a plain TCP connection, a TLS one, a subprocess pipe).  The handshake runs before
the pair is returned, under ``handshake_timeout``.  Protocol logic lives in the sans-IO
:class:`~pqe2ee.handshake.Connection`; this file only moves bytes.

The handshake core does no I/O of its own, but a ``Config.check_peer`` callback runs
where the core is driven, here in the event loop: a known-peers check
(:meth:`pqe2ee.trust.KnownPeers.server_check`) reads the file and, on first use, writes
and fsyncs it, which blocks the loop for that long.  A server with many clients should
check against what it loaded at start-up (pins, or an allow list in memory), as the
tunnel does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from pqe2ee.exceptions import HandshakeEvicted, LocalProtocolError, RemoteProtocolError
from pqe2ee.handshake import (
    NEED_DATA,
    Config,
    Connection,
    ConnectionClosed,
    DataReceived,
    HandshakeComplete,
    PublicIdentity,
    Suite,
)
from pqe2ee.io.addresses import source_of
from pqe2ee.io.pending import DEFAULT_MAX_PENDING, PendingPool
from pqe2ee.io.pq_rekey import PqRekeyTrigger, check_pq_rekey_options

__all__ = [
    "SecureReader",
    "SecureWriter",
    "open_connection",
    "start_server",
    "wrap_established",
    "wrap_streams",
]

_READ_SIZE = 1 << 18


class _Session:
    """The shared state of one reader/writer pair."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: Connection,
        trigger: PqRekeyTrigger | None = None,
    ):
        self.raw_reader, self.raw_writer, self.conn = reader, writer, conn
        self.trigger = trigger or PqRekeyTrigger(conn)
        self.buffer = bytearray()
        self.peer_closed = False
        self.suite: Suite | None = None
        self.peer_identity: PublicIdentity | None = None

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.raw_writer.write(out)

    async def handshake(self) -> None:
        while True:
            event = self.conn.next_event()
            self.flush()
            await self.raw_writer.drain()
            if isinstance(event, HandshakeComplete):
                self.suite, self.peer_identity = event.suite, event.peer_identity
                return
            if event is not NEED_DATA:  # pragma: no cover - nothing else comes first
                raise RemoteProtocolError(f"unexpected event {event!r} during the handshake")
            self.conn.receive_data(await self.raw_reader.read(_READ_SIZE))

    async def next_chunk(self) -> bytes:
        """The next record's worth of plaintext, or ``b""`` once the peer has closed."""
        while not self.peer_closed:
            event = self.conn.next_event()
            if event is NEED_DATA:
                self.trigger.poll()
            self.flush()  # key updates the peer asked for, ratchet records
            if event is NEED_DATA:
                self.conn.receive_data(await self.raw_reader.read(_READ_SIZE))
            elif isinstance(event, DataReceived):
                return event.data
            elif isinstance(event, ConnectionClosed):
                self.peer_closed = True
        return b""

    async def fill(self) -> None:
        """Wait for at least one more byte of plaintext, or the peer's close."""
        if not self.buffer:
            self.buffer += await self.next_chunk()


class SecureReader:
    """The reading half: authenticated plaintext, like :class:`asyncio.StreamReader`."""

    def __init__(self, session: _Session) -> None:
        self._s = session

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all until the peer's close if ``n < 0``); ``b""`` at the end.

        :raises RemoteProtocolError: tampering, or truncation (no authenticated close).
        """
        if n < 0:
            while not self._s.peer_closed:
                await self._fill_more()
            data = bytes(self._s.buffer)
            self._s.buffer.clear()
            return data
        if not self._s.buffer:
            chunk = await self._s.next_chunk()  # the common case: hand the record over whole
            if len(chunk) <= n:
                return chunk
            self._s.buffer += chunk[n:]
            return chunk[:n]
        data = bytes(self._s.buffer[:n])
        del self._s.buffer[:n]
        return data

    async def _fill_more(self) -> None:
        """Wait for more plaintext (or the close) beyond what is already buffered."""
        held = bytes(self._s.buffer)
        self._s.buffer.clear()
        await self._s.fill()
        self._s.buffer[:0] = held

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or :class:`asyncio.IncompleteReadError` at the end."""
        while len(self._s.buffer) < n and not self._s.peer_closed:
            await self._fill_more()
        if len(self._s.buffer) < n:
            partial = bytes(self._s.buffer)
            self._s.buffer.clear()
            raise asyncio.IncompleteReadError(partial, n)
        data = bytes(self._s.buffer[:n])
        del self._s.buffer[:n]
        return data

    async def readline(self) -> bytes:
        """Up to and including the next ``\\n`` (or what is left at the end)."""
        while b"\n" not in self._s.buffer and not self._s.peer_closed:
            await self._fill_more()
        end = self._s.buffer.find(b"\n")
        end = len(self._s.buffer) if end < 0 else end + 1
        data = bytes(self._s.buffer[:end])
        del self._s.buffer[:end]
        return data

    def at_eof(self) -> bool:
        """True once the peer's authenticated close has arrived and every byte was read."""
        return self._s.peer_closed and not self._s.buffer


class SecureWriter:
    """The writing half, like :class:`asyncio.StreamWriter`."""

    def __init__(self, session: _Session) -> None:
        self._s = session

    @property
    def suite(self) -> Suite | None:
        """The negotiated suite."""
        return self._s.suite

    @property
    def peer_identity(self) -> PublicIdentity | None:
        """The peer's verified identity (None for a client that sent none)."""
        return self._s.peer_identity

    def write(self, data: bytes) -> None:
        """Seal ``data`` as application records and queue them on the transport.

        :raises LocalProtocolError: after :meth:`write_eof` or :meth:`close`, or once the
            session has failed.
        """
        self._s.conn.send_data(bytes(data))
        self._s.trigger.poll()
        self._s.flush()

    def start_pq_rekey(self) -> None:
        """Start a post-quantum ratchet step now (docs/protocol.md §9; see
        :meth:`pqe2ee.handshake.Connection.start_pq_rekey`).  It completes once the
        reading half has read the peer's answer; data flows both ways meanwhile.

        :raises LocalProtocolError: not connected and open, or a step is in progress.
        """
        self._s.conn.start_pq_rekey()
        self._s.flush()

    @property
    def pq_rekeys(self) -> int:
        """Post-quantum ratchet steps completed in this session."""
        return self._s.conn.pq_rekeys

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark."""
        await self._s.raw_writer.drain()

    def write_eof(self) -> None:
        """Send the authenticated close and half-close the transport; reading goes on."""
        self._s.conn.close()
        self._s.flush()
        if self._s.raw_writer.can_write_eof():
            self._s.raw_writer.write_eof()

    def close(self) -> None:
        """Send the authenticated close and close the transport."""
        if self._s.conn.handshake_complete:
            self._s.conn.close()
            self._s.flush()
        self._s.raw_writer.close()

    async def wait_closed(self) -> None:
        """Wait until the transport is closed; a connection error at the end is ignored."""
        with contextlib.suppress(ConnectionError, OSError):
            await self._s.raw_writer.wait_closed()

    def is_closing(self) -> bool:
        """Whether the transport is closed or closing."""
        return self._s.raw_writer.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's information (``peername``, ``sockname``, ``ssl_object``...)."""
        return self._s.raw_writer.get_extra_info(name, default)

    def export_keying_material(self, label: str, context: bytes, length: int) -> bytes:
        """Keys bound to this session for the application's own use (docs/protocol.md §5).

        Both ends get the same bytes for the same ``label`` and ``context``, and no one
        else can compute them; see :meth:`pqe2ee.handshake.Connection.export_keying_material`.
        """
        return self._s.conn.export_keying_material(label, context, length)


async def wrap_streams(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    config: Config,
    *,
    server_side: bool = False,
    handshake_timeout: float | None = 30.0,
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
) -> tuple[SecureReader, SecureWriter]:
    """Run a handshake over an existing stream pair and return the secure pair.

    :param pq_rekey_after: start a post-quantum ratchet step (docs/protocol.md §9) once
        this many seconds passed since the last; checked whenever the pair writes or
        reads, skipped while the session carries no data.
    :param pq_rekey_bytes: start one once this side wrote this many bytes since the last.
    :raises ValueError: a trigger value that is not positive.
    :raises RemoteProtocolError: the handshake failed.
    :raises TimeoutError: it did not finish within ``handshake_timeout`` seconds.
    On any failure, and on cancellation, the transport is closed before the exception
    propagates.
    """
    conn = Connection(config, "server" if server_side else "client")
    trigger = PqRekeyTrigger(conn, pq_rekey_after, pq_rekey_bytes)
    session = _Session(reader, writer, conn, trigger)
    try:
        await asyncio.wait_for(session.handshake(), handshake_timeout)
    except BaseException:  # a failure, a timeout, or a cancellation from outside
        with contextlib.suppress(OSError):
            session.flush()  # the alert, if any
        writer.close()
        raise
    return SecureReader(session), SecureWriter(session)


def wrap_established(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    conn: Connection,
    *,
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
) -> tuple[SecureReader, SecureWriter]:
    """The secure pair over a stream pair whose handshake ``conn`` has already completed
    (elsewhere, for example over the bare socket); bytes ``conn`` holds unprocessed
    come first.

    :param pq_rekey_after: automatic ratchet steps, as for :func:`wrap_streams`.
    :param pq_rekey_bytes: likewise, by bytes written.
    :raises LocalProtocolError: ``conn``'s handshake is not complete.
    """
    if not conn.handshake_complete:
        raise LocalProtocolError("wrap_established needs a connection past its handshake")
    trigger = PqRekeyTrigger(conn, pq_rekey_after, pq_rekey_bytes)
    session = _Session(reader, writer, conn, trigger)
    session.suite, session.peer_identity = conn.suite, conn.peer_identity
    return SecureReader(session), SecureWriter(session)


async def open_connection(
    host: str,
    port: int,
    config: Config,
    *,
    handshake_timeout: float | None = 30.0,
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
    **kwargs: Any,
) -> tuple[SecureReader, SecureWriter]:
    """Connect to ``host:port`` and run the handshake as the client (the ratchet
    triggers as for :func:`wrap_streams`)."""
    reader, writer = await asyncio.open_connection(host, port, **kwargs)
    return await wrap_streams(
        reader,
        writer,
        config,
        handshake_timeout=handshake_timeout,
        pq_rekey_after=pq_rekey_after,
        pq_rekey_bytes=pq_rekey_bytes,
    )


async def start_server(
    client_connected_cb: Callable[[SecureReader, SecureWriter], Awaitable[None]],
    host: str | None,
    port: int,
    config: Config,
    *,
    handshake_timeout: float | None = 30.0,
    on_handshake_error: Callable[[BaseException], None] | None = None,
    max_pending_handshakes: int = DEFAULT_MAX_PENDING,
    max_pending_per_source: int | None = None,
    pending: PendingPool[asyncio.Task[Any]] | None = None,
    pq_rekey_after: float | None = None,
    pq_rekey_bytes: int | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """Serve pqe2ee sessions: ``client_connected_cb`` gets each authenticated pair.

    A connection whose handshake fails or times out is closed and reported to
    ``on_handshake_error``; it never reaches the callback.

    Connections whose handshake has not finished are held in a bounded pool
    (:class:`~pqe2ee.io.pending.PendingPool`): when ``max_pending_handshakes`` are
    pending, the oldest is closed (reported as
    :class:`~pqe2ee.exceptions.HandshakeEvicted`) to admit the newcomer, so silent
    connections cannot lock honest clients out; with ``max_pending_per_source``, a source
    address over its share evicts its own oldest instead.  Connections past their
    handshake are the callback's and are never evicted.

    :param pq_rekey_after: automatic ratchet steps of each session, as for
        :func:`wrap_streams`.
    :param pq_rekey_bytes: likewise, by bytes written.
    :param pending: a pool to use instead of a new one made from the two limits (to share
        it between servers, or to read its eviction counters).
    :param kwargs: passed to :func:`asyncio.start_server`; ``backlog`` defaults to the
        pool's size (at least 100, at most 4096), so a burst of connects is not left to
        SYN retries.
    """
    check_pq_rekey_options(pq_rekey_after, pq_rekey_bytes)
    pool = pending or PendingPool(max_pending_handshakes, max_pending_per_source)
    kwargs.setdefault("backlog", max(100, min(pool.limit, 4096)))

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        source = source_of(peer)
        evicted: list[str] = []

        def evict(why: str) -> None:
            evicted.append(why)
            writer.transport.abort()  # a reset: nothing of it lingers
            task.cancel()

        pool.admit(task, source, evict)
        try:
            pair = await wrap_streams(
                reader,
                writer,
                config,
                server_side=True,
                handshake_timeout=handshake_timeout,
                pq_rekey_after=pq_rekey_after,
                pq_rekey_bytes=pq_rekey_bytes,
            )
        except asyncio.CancelledError:
            if not evicted:
                raise
            task.uncancel()
            if on_handshake_error is not None:
                on_handshake_error(HandshakeEvicted(pool.eviction_message(evicted[0], source)))
            return
        except (RemoteProtocolError, TimeoutError, OSError) as exc:
            if on_handshake_error is not None:
                on_handshake_error(exc)
            return
        finally:
            pool.release(task)
        await client_connected_cb(*pair)

    return await asyncio.start_server(on_connect, host, port, **kwargs)
