"""Bytes through a tunnel pair to an in-process echo service: integrity, half-close,
full close, and the one log line per connection."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import socket
import struct

import pytest

from pqe2ee import _binding
from pqe2ee.exceptions import BackendUnavailable
from pqe2ee.io.tunnel import Endpoint, Limits, TunnelClient, TunnelServer, native
from pqe2ee.io.tunnel.listener import DATA_PATH_ENV, data_path_setting
from tests.io.tunnel.util import (
    EchoService,
    client_settings,
    fpr,
    marker,
    read_until_end,
    roundtrip,
    run,
    server_settings,
    tunnel_pair,
)


@pytest.fixture(autouse=True, params=["auto", "python"])
def data_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on the default data path (the C pump when the core is built)
    and on the asyncio fallback."""
    monkeypatch.setenv(DATA_PATH_ENV, request.param)
    return str(request.param)


def test_the_data_path_taken(data_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []
    real = native.splice

    async def spy(*args: object, **kwargs: object) -> None:
        taken.append("c")
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(native, "splice", spy)

    async def main() -> None:
        async with tunnel_pair() as pair:
            assert await roundtrip(pair.entry, b"which way?") == b"which way?"

    run(main())
    native_expected = data_path == "auto" and _binding.CORE_AVAILABLE
    assert taken == (["c", "c"] if native_expected else [])


def test_big_payload_both_ways_and_one_log_line_each(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pqe2ee.tunnel")
    secret = marker("big")
    payload = secret + os.urandom(8 * 1024 * 1024 + 3) + secret

    async def main() -> None:
        async with tunnel_pair() as pair:
            got = await roundtrip(pair.entry, payload)
            assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
            assert pair.service.everything() == payload

    run(main())
    lines = [r.getMessage() for r in caplog.records if " conn=" in r.getMessage()]
    assert len(lines) == 2  # one per end
    server_line = next(line for line in lines if line.startswith("tunnel server"))
    client_line = next(line for line in lines if line.startswith("tunnel client"))
    assert f"peer={fpr('client').hex()}" in server_line
    assert f"peer={fpr('server').hex()}" in client_line
    for line in lines:
        assert f"up={len(payload)} down={len(payload)}" in line
        assert "suite=X25519MLKEM768+ed25519+" in line
        assert line.endswith("end=closed")
    assert not any(secret.decode() in r.getMessage() for r in caplog.records)


def test_many_small_exchanges_on_one_connection() -> None:
    async def main() -> None:
        async with tunnel_pair() as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            for i in range(300):
                line = f"request {i} {'x' * (i % 97)}\n".encode()
                writer.write(line)
                await writer.drain()
                assert await reader.readexactly(len(line)) == line
            writer.close()
            await writer.wait_closed()

    run(main())


def test_half_close_from_the_client_side() -> None:
    """The app ends its stream; the service still answers; the answer arrives whole."""

    async def main() -> None:
        async with tunnel_pair() as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            writer.write(b"all of the request")
            await writer.drain()
            writer.write_eof()
            assert await reader.read() == b"all of the request"  # then the service's EOF
            writer.close()

    run(main())


class _GreetThenHalfClose(EchoService):
    """A service that speaks first, ends its side, and then still reads everything."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = bytearray()
        self.received.append(got)
        writer.write(b"hello, then my end of stream\n")
        writer.write_eof()
        while data := await reader.read(1 << 16):
            got += data
        writer.close()


def test_half_close_from_the_service_side() -> None:
    async def main() -> None:
        service = _GreetThenHalfClose()
        async with tunnel_pair(service=service) as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            assert await reader.read() == b"hello, then my end of stream\n"  # EOF reached
            writer.write(b"x" * 200_000)  # the other direction is still open
            await writer.drain()
            writer.write_eof()
            writer.close()
            await writer.wait_closed()
            for _ in range(200):  # bounded: until the service has read it all
                if service.received and len(service.received[0]) == 200_000:
                    break
                await asyncio.sleep(0.02)
            assert bytes(service.received[0]) == b"x" * 200_000

    run(main())


class _Abrupt(EchoService):
    """A service that reads one chunk, then resets the connection (RST, not FIN)."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.received.append(bytearray(await reader.read(100)))
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


def test_service_reset_is_passed_on_as_an_abort_not_a_clean_end() -> None:
    async def main() -> None:
        service = _Abrupt()
        async with tunnel_pair(service=service) as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            writer.write(b"ping")
            await writer.drain()
            assert await read_until_end(reader) in (b"", None)
            writer.close()
        server_end = pair.server.finished[-1]
        assert not server_end.clean and server_end.end is not None
        client_end = pair.client.finished[-1]
        assert not client_end.clean
        assert "truncated" in (client_end.end or "")  # the session had no close record

    run(main())


def test_idle_timeout_closes_a_quiet_connection() -> None:
    async def main() -> None:
        limits = Limits(idle_timeout=0.5)
        async with tunnel_pair(server_limits=limits) as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            assert await read_until_end(reader) == b""  # a clean end, not a reset
            writer.close()
        end = pair.server.finished[-1]
        assert end.clean and end.end == "idle timeout (0.5 s without data)"
        assert "truncated" not in (pair.client.finished[-1].end or "")

    run(main())


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback (::1) here")
def test_ipv6_loopback_and_known_peer_names_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pqe2ee.tunnel")

    async def main() -> None:
        service = EchoService()
        forward = await service.start()
        settings = server_settings(forward)
        server = TunnelServer(
            dataclasses.replace(
                settings,
                listen=Endpoint("::1", 0),
                peer_names={fpr("client"): "alice"},
            )
        )
        await server.start()
        assert server.address.host == "::1"
        client = TunnelClient(
            dataclasses.replace(client_settings(server.address), listen=Endpoint("::1", 0))
        )
        await client.start()
        assert str(client.address).startswith("[::1]:")
        assert await roundtrip(client.address, b"over ::1") == b"over ::1"
        await client.shutdown(grace=5)
        await server.shutdown(grace=5)
        await service.close()

    run(main())
    (line,) = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("tunnel server conn=")
    ]
    assert f"peer={fpr('client').hex()}(alice)" in line
    assert "from=[::1]:" in line


class _Firehose(EchoService):
    """A service that pushes 1 MiB chunks until the connection stops taking them."""

    sent = 0
    stopped: asyncio.Event | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.received.append(bytearray())
        chunk = b"\xa5" * (1 << 20)
        try:
            for _ in range(256):  # at most 256 MiB
                writer.write(chunk)
                self.sent += len(chunk)
                try:
                    await asyncio.wait_for(writer.drain(), 2)
                except TimeoutError:
                    break  # the far end stopped reading, and the tunnel passed that on
        finally:
            assert self.stopped is not None
            self.stopped.set()
        writer.write_eof()
        await writer.drain()
        await reader.read()
        writer.close()


def test_a_reader_that_stops_holds_the_service_back() -> None:
    """Backpressure goes through both ends: the tunnel does not buffer what the app is
    not reading, so the service's writes block after a few socket buffers' worth."""

    async def main() -> None:
        service = _Firehose()
        service.stopped = asyncio.Event()
        async with tunnel_pair(service=service) as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            async with asyncio.timeout(60):
                await service.stopped.wait()
            held = service.sent
            assert held < 64 << 20  # without backpressure all 256 MiB would be taken
            total = 0
            while chunk := await reader.read(1 << 20):  # now read it all: nothing lost
                assert chunk.count(0xA5) == len(chunk)
                total += len(chunk)
            assert total == held
            writer.close()

    run(main(), timeout=90)


def test_an_unknown_data_path_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_PATH_ENV, "fast")
    with pytest.raises(ValueError, match=DATA_PATH_ENV):
        data_path_setting()
    monkeypatch.setenv(DATA_PATH_ENV, "c")
    if _binding.CORE_AVAILABLE:
        assert data_path_setting() == "c"
    else:  # pragma: no cover - without a build
        with pytest.raises(BackendUnavailable):
            data_path_setting()


def _conn_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if " conn=" in r.getMessage()]


def _pq_rekeys(line: str) -> int:
    return int(line.split(" pq_rekeys=", 1)[1].split(" ", 1)[0])


def test_pq_rekey_bytes_on_both_ends_steps_while_data_flows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both ends with a byte budget, a conversation of 64 KB exchanges: steps complete
    on both ends (a step needs both directions open: the responder must answer) and
    every byte comes back."""
    caplog.set_level(logging.INFO, logger="pqe2ee.tunnel")
    chunks = [os.urandom(64 * 1024) for _ in range(24)]

    async def main() -> None:
        limits = Limits(pq_rekey_bytes=100_000)
        async with tunnel_pair(server_limits=limits, client_limits=limits) as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            for chunk in chunks:
                writer.write(chunk)
                assert await reader.readexactly(len(chunk)) == chunk
            writer.write_eof()
            assert await read_until_end(reader) == b""
            writer.close()

    run(main())
    lines = _conn_lines(caplog)
    assert len(lines) == 2
    total = sum(map(len, chunks))
    for line in lines:
        assert f"up={total} down={total}" in line
        assert _pq_rekeys(line) > 0, line


def test_pq_rekey_after_steps_a_connection_that_keeps_talking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the client end has a (tiny) time trigger; the connection talks in small
    exchanges for a while, so steps come whatever the machine's speed."""
    caplog.set_level(logging.INFO, logger="pqe2ee.tunnel")

    async def main() -> None:
        async with tunnel_pair(client_limits=Limits(pq_rekey_after=0.01)) as pair:
            reader, writer = await asyncio.open_connection(pair.entry.host, pair.entry.port)
            for i in range(60):
                writer.write(b"ping %d\n" % i)
                assert await reader.readline() == b"ping %d\n" % i
                await asyncio.sleep(0.02)
            writer.write_eof()
            assert await read_until_end(reader) == b""
            writer.close()

    run(main())
    lines = _conn_lines(caplog)
    assert len(lines) == 2
    assert all(_pq_rekeys(line) > 0 for line in lines), lines
