"""Each bad peer ends its own connection only: the service never sees a byte from it,
and a good connection open at the same time completes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from pqe2ee.handshake import Config, Connection, Policy
from pqe2ee.io.tunnel import Endpoint, Limits, TunnelClient, TunnelServer
from tests.io.tunnel.util import (
    LOOPBACK,
    Pair,
    client_settings,
    marker,
    read_until_end,
    run,
    server_settings,
    tunnel_pair,
)


@contextlib.asynccontextmanager
async def good_connection(pair: Pair) -> AsyncIterator[None]:
    """A connection that is mid-conversation while the body runs, and finishes after."""
    reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
    writer.write(b"first half;")
    await writer.drain()
    assert await reader.readexactly(11) == b"first half;"
    yield
    writer.write(b"second half")
    await writer.drain()
    writer.write_eof()
    assert await reader.read() == b"second half"
    writer.close()
    await writer.wait_closed()


async def refused_app(entry: Endpoint, secret: bytes) -> None:
    """An app whose connection must be dropped: it sends a secret and sees the end."""
    reader, writer = await asyncio.open_connection(entry.host, entry.port)
    with contextlib.suppress(ConnectionError):
        writer.write(secret)
        await writer.drain()
    assert await read_until_end(reader) in (b"", None)
    writer.close()


def _service_saw_only_the_good_one(pair: Pair, secret: bytes) -> None:
    assert len(pair.service.received) == 1
    assert bytes(pair.service.received[0]) == b"first half;second half"
    assert secret not in pair.service.everything()


async def _server_refused(pair: Pair, prefix: str) -> bool:
    """Whether the server ended a connection for ``prefix`` (waits, bounded)."""
    for _ in range(100):
        if any((r.end or "").startswith(prefix) for r in pair.server.finished):
            return True
        await asyncio.sleep(0.02)
    return False


def _no_secret_logged(caplog: pytest.LogCaptureFixture, secret: bytes) -> None:
    assert not any(secret.decode() in r.getMessage() for r in caplog.records)


def test_unknown_client_identity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pqe2ee.tunnel")
    secret = marker("stranger")

    async def main() -> None:
        async with tunnel_pair() as pair:
            async with good_connection(pair):
                stranger = await pair.extra_client(me="stranger")
                await refused_app(stranger.address, secret)
                await stranger.shutdown(grace=1)
                assert "identity refused" in (stranger.finished[-1].end or "")
                refused = [r for r in pair.server.finished if r.end and "not the pinned" in r.end]
                assert len(refused) == 1 and refused[0].up == 0 and not refused[0].clean
            _service_saw_only_the_good_one(pair, secret)

    run(main())
    _no_secret_logged(caplog, secret)


def test_wrong_server_fingerprint_drops_the_local_connection() -> None:
    secret = marker("wrong-server")

    async def main() -> None:
        async with tunnel_pair() as pair:
            async with good_connection(pair):
                mistaken = await pair.extra_client(pin="stranger")
                await refused_app(mistaken.address, secret)
                await mistaken.shutdown(grace=1)
                end = mistaken.finished[-1]
                assert end.end is not None and "not the pinned one" in end.end
                assert end.up == 0
            _service_saw_only_the_good_one(pair, secret)

    run(main())


def test_require_pq_server_refuses_a_classical_client() -> None:
    secret = marker("classical")

    async def main() -> None:
        async with tunnel_pair(server_policy=Policy(require_pq=True)) as pair:
            async with good_connection(pair):
                classical = await pair.extra_client(policy=Policy.for_mode("classical"))
                await refused_app(classical.address, secret)
                await classical.shutdown(grace=1)
                # the client is refused in the clear: it says so, without taking the
                # unauthenticated reason for the server's verdict
                client_end = classical.finished[-1].end or ""
                assert "UnauthenticatedAlert" in client_end and "downgrade" in client_end
                assert any("DowngradeError" in (r.end or "") for r in pair.server.finished)
            _service_saw_only_the_good_one(pair, secret)

    run(main())


def test_require_pq_client_refuses_a_classical_server() -> None:
    secret = marker("classical-server")

    async def main() -> None:
        async with tunnel_pair() as pair:
            async with good_connection(pair):
                classical = TunnelServer(
                    server_settings(
                        pair.server.settings.forward, policy=Policy.for_mode("classical")
                    )
                )
                await classical.start()
                careful = TunnelClient(
                    client_settings(classical.address, policy=Policy(require_pq=True))
                )
                await careful.start()
                await refused_app(careful.address, secret)
                await careful.shutdown(grace=1)
                await classical.shutdown(grace=1)
                end = careful.finished[-1].end or ""
                # require_pq offers no classical suite at all: nothing in common
                assert end.startswith("handshake failed: UnauthenticatedAlert: ")
                assert "'no common suite'" in end and "not authenticated" in end
            _service_saw_only_the_good_one(pair, secret)

    run(main())


def test_garbage_to_the_server(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pqe2ee.tunnel")
    secret = marker("garbage")

    async def main() -> None:
        async with tunnel_pair() as pair:
            async with good_connection(pair):
                server = pair.server.address
                reader, writer = await asyncio.open_connection(server.host, server.port)
                # a well-framed plaintext handshake frame whose message is nonsense
                writer.write(b"\x16" + len(secret).to_bytes(3, "big") + secret)
                await writer.drain()
                assert await read_until_end(reader) is not None  # an alert, then the end
                writer.close()
                assert await _server_refused(pair, "handshake failed: RemoteProtocolError")
            _service_saw_only_the_good_one(pair, secret)

    run(main())
    _no_secret_logged(caplog, secret)


async def _fake_server(behaviour: bytes | None) -> tuple[asyncio.Server, Endpoint]:
    """A 'tunnel server' that answers garbage (bytes) or nothing at all (None)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        if behaviour is not None:
            writer.write(behaviour)
            await writer.drain()
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(serve, LOOPBACK, 0)
    return server, Endpoint(LOOPBACK, server.sockets[0].getsockname()[1])


def test_garbage_from_the_server_drops_the_local_connection() -> None:
    secret = marker("garbage-server")

    async def main() -> None:
        async with tunnel_pair() as pair:
            async with good_connection(pair):
                fake, address = await _fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                client = TunnelClient(client_settings(address))
                await client.start()
                await refused_app(client.address, secret)
                await client.shutdown(grace=1)
                fake.close()
                end = client.finished[-1].end or ""
                assert end.startswith("handshake failed: RemoteProtocolError")
            _service_saw_only_the_good_one(pair, secret)

    run(main())


def test_client_that_stops_mid_handshake_times_out() -> None:
    secret = marker("stall")

    async def main() -> None:
        limits = Limits(handshake_timeout=2)
        async with tunnel_pair(server_limits=limits) as pair:
            async with good_connection(pair):
                server = pair.server.address
                reader, writer = await asyncio.open_connection(server.host, server.port)
                hello = Connection(Config(), "client").data_to_send()
                writer.write(hello)  # a real ClientHello, then silence
                await writer.drain()
                assert await read_until_end(reader) is not None  # the server's flight, then its end
                writer.close()
                assert any(r.end == "handshake timeout" for r in pair.server.finished)
            _service_saw_only_the_good_one(pair, secret)

    run(main())


def test_server_that_stops_mid_handshake_times_out() -> None:
    secret = marker("stalled-server")

    async def main() -> None:
        async with tunnel_pair() as pair:
            async with good_connection(pair):
                fake, address = await _fake_server(None)
                limits = Limits(handshake_timeout=0.5)
                client = TunnelClient(client_settings(address, limits=limits))
                await client.start()
                await refused_app(client.address, secret)
                await client.shutdown(grace=1)
                fake.close()
                assert client.finished[-1].end == "handshake timeout"
            _service_saw_only_the_good_one(pair, secret)

    run(main())
