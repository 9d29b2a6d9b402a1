"""The adapters over real transports: socketpairs, TCP loopback, TLS, asyncio."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pqe2ee.bench.handshake import self_signed_ed25519
from pqe2ee.exceptions import IdentityRejected, RemoteProtocolError, UnauthenticatedAlert
from pqe2ee.handshake import Config
from pqe2ee.io import aio, wrap_socket
from tests.handshake.util import identity

SERVER_ID = identity("ed25519")
PIN = frozenset({SERVER_ID.public().fingerprint()})


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_socketpair_round_trip_big_and_small() -> None:
    a, b = socket.socketpair()
    a.settimeout(30)
    b.settimeout(30)
    payload = os.urandom(3 * 1024 * 1024 + 17)

    def server() -> bytes:
        with wrap_socket(b, Config(identity=SERVER_ID), server_side=True) as s:
            got = bytearray()
            while chunk := s.recv(1 << 16):
                got += chunk
            s.sendall(b"thanks:" + str(len(got)).encode())
            return bytes(got)

    thread, result = _in_thread(server)
    with wrap_socket(a, Config(peer_fingerprints=PIN)) as c:
        assert c.suite is not None and c.suite.mode == "hybrid"
        assert c.peer_identity == SERVER_ID.public()
        c.sendall(payload)
        c.shutdown_write()
        reply = c.recv(100)
        assert c.recv(100) == b""
    thread.join(30)
    assert result.get("value") == payload, result.get("error")
    assert reply == f"thanks:{len(payload)}".encode()


def test_truncated_stream_is_an_error_not_an_eof() -> None:
    a, b = socket.socketpair()
    a.settimeout(30)
    b.settimeout(30)

    def server() -> None:
        s = wrap_socket(b, Config(identity=SERVER_ID), server_side=True)
        s.sendall(b"partial")
        b.shutdown(socket.SHUT_WR)  # the raw socket ends without the close record

    thread, _ = _in_thread(server)
    c = wrap_socket(a, Config())
    assert c.recv(100) == b"partial"
    with pytest.raises(RemoteProtocolError, match="truncated"):
        c.recv(100)
    thread.join(30)
    c.close()
    b.close()


def test_wrong_server_identity_fails_the_client_and_closes() -> None:
    a, b = socket.socketpair()
    a.settimeout(30)
    b.settimeout(30)
    thread, result = _in_thread(
        lambda: wrap_socket(b, Config(identity=identity("ed25519", 5)), server_side=True)
    )
    with pytest.raises(IdentityRejected, match="not the pinned one"):
        wrap_socket(a, Config(peer_fingerprints=PIN))
    thread.join(30)
    # the alert reached the server, which cannot tell who sent it
    assert isinstance(result.get("error"), UnauthenticatedAlert)


def test_over_tls_with_channel_binding(tmp_path: Path) -> None:
    """pqe2ee inside an existing TLS 1.3 connection, bound to it by the TLS exporter."""
    cert, key = (Path(p) for p in self_signed_ed25519(tmp_path))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    # Python's ssl has no RFC 9266 exporter; both ends know the server certificate,
    # so its hash stands in as the binding here.
    cb = hashlib.sha256(cert.read_bytes()).digest()

    def server() -> bytes:
        conn, _ = listener.accept()
        with (
            server_ctx.wrap_socket(conn, server_side=True) as tls,
            wrap_socket(tls, Config(identity=SERVER_ID, channel_binding=cb), server_side=True) as s,
        ):
            return s.recv(100)

    thread, result = _in_thread(server)
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() == "TLSv1.3"
        with wrap_socket(tls, Config(peer_fingerprints=PIN, channel_binding=cb)) as c:
            c.sendall(b"inner hello")
    thread.join(30)
    listener.close()
    assert result.get("value") == b"inner hello", result.get("error")


def test_asyncio_echo_many_clients() -> None:
    async def main() -> None:
        async def echo(reader: aio.SecureReader, writer: aio.SecureWriter) -> None:
            while line := await reader.readline():
                writer.write(line.upper())
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        errors: list[BaseException] = []
        server = await aio.start_server(
            echo, "127.0.0.1", 0, Config(identity=SERVER_ID), on_handshake_error=errors.append
        )
        port = server.sockets[0].getsockname()[1]

        async def client(i: int) -> bytes:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port, Config(peer_fingerprints=PIN)
            )
            assert writer.peer_identity == SERVER_ID.public()
            writer.write(f"hello {i}\n".encode() * 3)
            await writer.drain()
            writer.write_eof()
            data = await reader.read()
            assert reader.at_eof()
            writer.close()
            await writer.wait_closed()
            return data

        results = await asyncio.gather(*(client(i) for i in range(20)))
        assert results == [f"HELLO {i}\n".encode() * 3 for i in range(20)]
        # a client pinning another identity is refused; the server reports its failure
        with pytest.raises(IdentityRejected):
            await aio.open_connection(
                "127.0.0.1", port, Config(peer_fingerprints=frozenset({bytes(32)}))
            )
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_asyncio_handshake_timeout() -> None:
    async def main() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)  # accepts, then never answers
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TimeoutError):
            await aio.open_connection("127.0.0.1", port, Config(), handshake_timeout=0.3)
        server.close()

    asyncio.run(main())


def test_asyncio_readexactly_and_incomplete() -> None:
    async def main() -> None:
        async def send_and_close(reader: aio.SecureReader, writer: aio.SecureWriter) -> None:
            writer.write(b"0123456789")
            await writer.drain()
            writer.close()

        server = await aio.start_server(send_and_close, "127.0.0.1", 0, Config(identity=SERVER_ID))
        port = server.sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection("127.0.0.1", port, Config())
        assert await reader.readexactly(4) == b"0123"
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await reader.readexactly(10)
        assert info.value.partial == b"456789"
        writer.close()
        server.close()

    asyncio.run(main())
