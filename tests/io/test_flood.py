"""Floods of silent connections against the servers of pqe2ee.io: the pending pool
(oldest evicted first, per-source shares), the asyncio server and the blocking acceptor
(:func:`pqe2ee.io.accept.accept_session`, behind ``pqe2ee listen``) that use it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from pqe2ee import exceptions
from pqe2ee.handshake import Config
from pqe2ee.io import aio, wrap_socket
from pqe2ee.io.accept import accept_session
from pqe2ee.io.pending import CLEARED, POOL_FULL, SOURCE_FULL, PendingPool
from pqe2ee.io.tunnel import Endpoint
from tests.handshake.util import identity
from tests.io.test_adapters import _in_thread
from tests.io.tunnel.util import raise_fd_limit, read_until_end, silent_connections, silent_flood

SERVER_ID = identity("ed25519")
PIN = frozenset({SERVER_ID.public().fingerprint()})
FLOOD = 1500


# ------------------------------------------------------------------ the pool itself
def test_a_full_pool_evicts_its_oldest_member_never_the_newcomer() -> None:
    pool: PendingPool[str] = PendingPool(3)
    out: list[tuple[str, str]] = []
    for key in "abcde":
        pool.admit(key, "10.0.0.1", lambda why, key=key: out.append((key, why)))
    assert out == [("a", POOL_FULL), ("b", POOL_FULL)]
    assert pool.oldest_first() == ["c", "d", "e"] and pool.evictions == 2
    assert pool.release("d") and not pool.release("a")  # "a" was evicted already
    pool.admit("f", "10.0.0.1", lambda why: out.append(("f", why)))
    assert pool.oldest_first() == ["c", "e", "f"] and pool.evictions == 2
    pool.evict_all()
    assert pool.in_use == 0 and out[-3:] == [("c", CLEARED), ("e", CLEARED), ("f", CLEARED)]
    with pytest.raises(ValueError, match="at least 1"):
        PendingPool(0)
    with pytest.raises(ValueError, match="per-source"):
        PendingPool(1, per_source=0)


def test_a_source_over_its_share_evicts_its_own_oldest() -> None:
    pool: PendingPool[str] = PendingPool(10, per_source=2)
    out: list[tuple[str, str]] = []

    def evict(key: str) -> Callable[[str], None]:
        return lambda why: out.append((key, why))

    pool.admit("honest", "192.0.2.1", evict("honest"))
    for i in range(5):
        pool.admit(f"flood{i}", "198.51.100.7", evict(f"flood{i}"))
    assert out == [(f"flood{i}", SOURCE_FULL) for i in range(3)]
    assert pool.oldest_first() == ["honest", "flood3", "flood4"]
    assert pool.from_source("198.51.100.7") == 2 and pool.source_evictions == 3
    assert pool.evictions == 0
    with pytest.raises(ValueError, match="already pending"):
        pool.admit("honest", "192.0.2.1", evict("honest"))


# ------------------------------------------------------------ the asyncio server
async def _echo(reader: aio.SecureReader, writer: aio.SecureWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


async def _session(port: int) -> tuple[aio.SecureReader, aio.SecureWriter]:
    reader, writer = await aio.open_connection("127.0.0.1", port, Config(peer_fingerprints=PIN))
    writer.write(b"hello\n")
    await writer.drain()
    assert await reader.readline() == b"hello\n"
    return reader, writer


def test_asyncio_server_under_a_flood_serves_honest_clients_and_evicts_the_oldest() -> None:
    """1,500 silent connections and more at 300 per second, against a handshake timeout
    of 60 s: the honest client gets a session (within a 10 s failure bound), the oldest
    silent connection is closed long before its timeout, and a session established
    before the flood goes on."""
    raise_fd_limit(3 * FLOOD)

    async def main() -> None:
        errors: list[BaseException] = []
        server = await aio.start_server(
            _echo,
            "127.0.0.1",
            0,
            Config(identity=SERVER_ID),
            handshake_timeout=60,
            on_handshake_error=errors.append,
        )
        port = server.sockets[0].getsockname()[1]
        before = await _session(port)
        async with silent_flood(Endpoint("127.0.0.1", port), FLOOD) as flood:
            async with asyncio.timeout(10):
                _, writer = await _session(port)
            writer.close()
            async with asyncio.timeout(10):  # the oldest was evicted, not left to time out
                assert await read_until_end(flood[0][0]) in (b"", None)
            before[1].write(b"still here\n")  # established sessions are never evicted
            await before[1].drain()
            assert await before[0].readline() == b"still here\n"
        evicted = [e for e in errors if isinstance(e, exceptions.HandshakeEvicted)]
        assert len(evicted) >= FLOOD - 256
        assert str(evicted[0]) == "evicted: 256 pending handshakes (limit)"
        before[1].close()
        server.close()

    asyncio.run(main())


def test_asyncio_server_per_source_share() -> None:
    async def main() -> None:
        pool: PendingPool[asyncio.Task[Any]] = PendingPool(64, per_source=4)
        errors: list[BaseException] = []
        server = await aio.start_server(
            _echo,
            "127.0.0.1",
            0,
            Config(identity=SERVER_ID),
            handshake_timeout=60,
            pending=pool,
            on_handshake_error=errors.append,
        )
        port = server.sockets[0].getsockname()[1]
        address = Endpoint("127.0.0.1", port)
        slow = await silent_connections(address, 1)
        flood = await silent_connections(address, 30, source="127.0.0.2")
        while pool.source_evictions < 26:  # bounded by the test's own timeout below
            await asyncio.sleep(0.02)
        assert pool.from_source("127.0.0.1") == 1 and pool.evictions == 0
        assert str(errors[0]) == "evicted: 4 pending handshakes from 127.0.0.2 (limit)"
        async with asyncio.timeout(10):
            _, writer = await _session(port)
        writer.close()
        for _, w in slow + flood:
            w.close()
        server.close()

    async def bounded() -> None:
        async with asyncio.timeout(60):
            await main()

    asyncio.run(bounded())


# ------------------------------------------------------- the blocking acceptor
def _accept_in_thread(
    listener: socket.socket, **kwargs: Any
) -> tuple[threading.Thread, dict[str, Any]]:
    return _in_thread(lambda: accept_session(listener, Config(identity=SERVER_ID), **kwargs))


def test_accept_session_goes_on_past_garbage_and_a_flooding_source_when_asked() -> None:
    """With ``raise_failures=False`` and a per-source share of 4: a peer sending garbage
    is dropped, a flood from 127.0.0.2 evicts only its own, and the pending connection
    from 127.0.0.1 (opened first) is still there when the honest client's session is
    chosen; every drop is reported, and the rest are closed at the end."""
    drops: list[tuple[Any, BaseException]] = []
    with socket.create_server(("127.0.0.1", 0), backlog=256) as listener:
        port = listener.getsockname()[1]
        thread, result = _accept_in_thread(
            listener,
            handshake_timeout=60,
            max_pending_per_source=4,
            raise_failures=False,
            on_drop=lambda address, error: drops.append((address, error)),
        )
        slow = socket.create_connection(("127.0.0.1", port))
        garbage = socket.create_connection(("127.0.0.1", port))
        garbage.sendall(b"GET / HTTP/1.1\r\n\r\n")
        flood = []
        for _ in range(20):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            flood.append(s)
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        session = wrap_socket(client, Config(peer_fingerprints=PIN))
        thread.join(timeout=10)
        assert "error" not in result, result.get("error")
        served, address = result["value"]
        assert address == client.getsockname()
        session.sendall(b"ping")
        assert served.recv(4) == b"ping"
        served.close()
        session.close()
    kinds = [type(e) for _, e in drops]
    assert kinds.count(exceptions.HandshakeEvicted) == 16  # the flood's own oldest
    assert all(a[0] == "127.0.0.2" for a, e in drops if isinstance(e, exceptions.HandshakeEvicted))
    assert any(isinstance(e, exceptions.RemoteProtocolError) for _, e in drops)  # the garbage
    slow.settimeout(10)  # closed once the session was chosen
    with contextlib.suppress(ConnectionResetError):
        assert slow.recv(1) == b""
    for s in [slow, garbage, *flood]:
        s.close()


def test_accept_session_raises_a_handshake_failure_by_default() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        thread, result = _accept_in_thread(listener, handshake_timeout=60)
        silent = socket.create_connection(("127.0.0.1", port))  # does not stop it
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        with pytest.raises(exceptions.IdentityRejected):
            wrap_socket(client, Config(peer_fingerprints=frozenset({bytes(32)})))
        thread.join(timeout=10)
        error = result.get("error")  # the client's alert, as the server received it
        assert isinstance(error, exceptions.RemoteProtocolError)
        assert "identity refused" in str(error)
        silent.settimeout(10)  # closed when the call gave up
        with contextlib.suppress(ConnectionResetError):
            assert silent.recv(1) == b""
        silent.close()


class _OutOfDescriptors(socket.socket):
    """A listener whose accept() fails with EMFILE while ``exhausted`` is set."""

    exhausted = threading.Event()
    calls = 0

    def accept(self) -> tuple[socket.socket, Any]:
        type(self).calls += 1
        if self.exhausted.is_set():
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


def test_accept_session_waits_instead_of_spinning_when_out_of_descriptors() -> None:
    """EMFILE leaves the connection in the backlog and the listener readable: the loop
    once returned to select() at once, spinning a core until a descriptor freed up."""
    listener = _OutOfDescriptors(socket.AF_INET, socket.SOCK_STREAM)
    with listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        _OutOfDescriptors.exhausted.set()
        thread, result = _accept_in_thread(listener, handshake_timeout=60)
        waiting = socket.create_connection(("127.0.0.1", port), timeout=10)
        threading.Event().wait(1.0)  # a window to count accept() calls in
        calls = _OutOfDescriptors.calls
        _OutOfDescriptors.exhausted.clear()
        assert 1 <= calls <= 50, calls  # a retry every 0.1 s, not tens of thousands
        session = wrap_socket(waiting, Config())  # served once descriptors are back
        thread.join(timeout=10)
        assert "value" in result, result
        result["value"][0].close()
        session.close()
