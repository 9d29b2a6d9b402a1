"""The SSH probe against Debian's OpenSSH server and against hostile fake servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.scan.model import ScanResult, Target
from pqe2ee.scan.ssh import CLIENT_IDENTIFICATION, parse_identification, parse_kexinit, scan_ssh
from tests.scan.fakes import (
    GOOD_GREETING,
    GOOD_KEX,
    closed_port,
    fake_server,
    kexinit_payload,
    packet,
    reset,
    sends,
)
from tests.scan.fakes import Handler as FakeHandler

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def sshd() -> Iterator[Callable[..., Target]]:
    """Start Debian's OpenSSH server on a free loopback port with a throwaway host key."""
    if not os.path.exists(SSHD):
        pytest.skip("no OpenSSH server (apt-get install openssh-server; .ci/run does)")
    if os.geteuid() == 0:
        # sshd run as root wants its privilege separation directory, which the Debian
        # service creates at start-up; no service runs here, so make it the same way.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def start(*extra: str) -> Target:
            d = Path(tempfile.mkdtemp(dir=tmp))
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-f", str(d / "key"), "-N", ""], check=True
            )
            port = _free_port()
            lines = [f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {d / 'key'}"]
            if socket.has_ipv6 and _ipv6_loopback():
                lines.append("ListenAddress ::1")
            lines += ["UsePAM no", f"PidFile {d / 'pid'}", "StrictModes no", *extra]
            (d / "config").write_text("\n".join(lines) + "\n")
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(d / "config")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            for _ in range(200):
                if proc.poll() is not None:
                    pytest.fail(f"sshd exited with {proc.returncode}")
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        return Target("ssh", "127.0.0.1", port)
                time.sleep(0.05)
            pytest.fail("sshd did not start listening")

        yield start
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _openssh_version(banner: str) -> tuple[int, int]:
    match = re.match(r"SSH-2\.0-OpenSSH_(\d+)\.(\d+)", banner)
    assert match, banner
    return int(match[1]), int(match[2])


def test_openssh_offers_post_quantum_key_exchange(sshd: Callable[..., Target]) -> None:
    result = asyncio.run(scan_ssh(sshd(), timeout=10))
    assert result.reachable, result.error
    assert result.error is None
    assert result.banner is not None
    version = _openssh_version(result.banner)
    # sntrup761x25519 is OpenSSH's default since 9.0, mlkem768x25519 since 9.9
    if version >= (9, 0):
        assert "sntrup761x25519-sha512@openssh.com" in result.kex_methods
    if version >= (9, 9):
        assert "mlkem768x25519-sha256" in result.kex_methods
    assert "curve25519-sha256" in result.kex_methods
    assert result.host_key_algorithms == ["ssh-ed25519"]
    assert result.pq_key_exchange is True
    assert result.to_json()["kex_methods"] == result.kex_methods


def test_openssh_by_hostname_and_over_ipv6(sshd: Callable[..., Target]) -> None:
    target = sshd()
    names = ["localhost"] + (["::1"] if _ipv6_loopback() else [])
    for host in names:
        result = asyncio.run(scan_ssh(Target("ssh", host, target.port), timeout=10))
        assert result.reachable, (host, result.error)
        assert result.pq_key_exchange
    if "::1" in names:
        assert result.target == f"ssh://[::1]:{target.port}"


def test_openssh_restricted_to_classical_kex(sshd: Callable[..., Target]) -> None:
    target = sshd("KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256")
    result = asyncio.run(scan_ssh(target, timeout=10))
    assert result.reachable, result.error
    assert result.kex_methods[:2] == ["curve25519-sha256", "ecdh-sha2-nistp256"]
    assert not any("sntrup" in m or "mlkem" in m for m in result.kex_methods)
    assert result.pq_key_exchange is False


def _scan(handler: FakeHandler, timeout: float = 5.0) -> ScanResult:
    async def main() -> ScanResult:
        async with fake_server(handler) as target:
            return await scan_ssh(target, timeout=timeout)

    return asyncio.run(main())


def test_fake_server_with_lines_before_the_identification() -> None:
    result = _scan(sends(b"Welcome\r\nauthorised use only\n" + GOOD_GREETING))
    assert result.reachable, result.error
    assert result.banner == "SSH-2.0-FakeSSH_1.0"
    assert result.kex_methods == GOOD_KEX
    assert result.pq_key_exchange is True


def test_ignore_and_debug_packets_before_kexinit_are_skipped() -> None:
    ignore = packet(b"\x02" + bytes(8))
    debug = packet(b"\x04\x00" + bytes(8))
    kexinit = packet(kexinit_payload(["curve25519-sha256"], ["rsa-sha2-512"]))
    result = _scan(sends(b"SSH-2.0-x\r\n" + ignore + debug + kexinit))
    assert result.reachable, result.error
    assert result.kex_methods == ["curve25519-sha256"]
    assert result.host_key_algorithms == ["rsa-sha2-512"]
    assert result.pq_key_exchange is False


def test_the_probe_sends_only_its_identification() -> None:
    received = bytearray()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GOOD_GREETING)
        await writer.drain()
        while chunk := await reader.read(4096):
            received.extend(chunk)

    async def main() -> ScanResult:
        async with fake_server(handler) as target:
            result = await scan_ssh(target, timeout=5)
            await asyncio.sleep(0.2)  # let the server read to the end of the stream
            return result

    assert asyncio.run(main()).reachable
    assert bytes(received) == CLIENT_IDENTIFICATION == b"SSH-2.0-pqe2ee_scan\r\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(random.Random(1).randrange(256) for _ in range(2000)), "not an SSH server"),
        (b"A" * 300, "longer than 255 bytes"),
        (b"hello\n" * 100, "no identification string in its first 64 lines"),
        (b"SSH-1.5-OldServer\r\n", "SSH protocol 1.5"),
        (b"SSH-2.0-\r\n", "malformed SSH identification"),
        (b"SSH-2.0-x\x01y\r\n", "control characters"),
        (b"SSH-2.0-\xff\r\n", "not ASCII"),
        (b"SSH-2.0-x\r\n\x80\x00\x00\x00", "packet length 2147483648 is over the 35000"),
        (b"SSH-2.0-x\r\n\x00\x00\x88\xb9", "packet length 35001"),
        (b"SSH-2.0-x\r\n\x00\x00\x00\x01", "too short"),
        (
            b"SSH-2.0-x\r\n" + packet(b"\x15" + bytes(10)),
            "expected KEXINIT (message 20), got message 21",
        ),
        (b"SSH-2.0-x\r\n" + packet(kexinit_payload(["a"], ["b"]), 2), "bad padding length 2"),
        (b"SSH-2.0-x\r\n" + packet(b"\x02") * 9, "no KEXINIT after 8 ignored packets"),
        (b"SSH-2.0-x\r\n" + packet(kexinit_payload(["a b"], ["c"])), "bad algorithm name 'a b'"),
        (b"SSH-2.0-x\r\n" + packet(kexinit_payload(["a,"], ["c"])), "bad algorithm name ''"),
        (b"SSH-2.0-x\r\n" + packet(kexinit_payload(["x" * 65], ["c"])), "bad algorithm name"),
        (b"SSH-2.0-x\r\n" + packet(kexinit_payload([], ["c"])), "offers no key exchange"),
        (b"SSH-2.0-x\r\n" + packet(bytes([20]) + bytes(16) + b"\xff\xff\xff\xff"), "runs past"),
        (b"SSH-2.0-x\r\n" + packet(bytes([20]) + bytes(10)), "truncated in its cookie"),
    ],
    ids=lambda value: value if isinstance(value, str) else "server",
)
def test_hostile_server(data: bytes, message: str) -> None:
    result = _scan(sends(data))
    assert result.reachable is False
    assert result.error is not None
    assert message in result.error, result.error
    assert result.kex_methods == []
    assert result.pq_key_exchange is False


def test_http_server() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    result = _scan(handler)
    assert result.reachable is False
    assert result.error == "not an SSH server: it answered with HTTP"


def test_server_that_closes_mid_packet() -> None:
    result = _scan(sends(GOOD_GREETING[:40], then_wait=False))
    assert result.reachable is False
    assert result.error is not None
    assert result.error.endswith("closed the connection while waiting for KEXINIT")
    assert result.banner == "SSH-2.0-FakeSSH_1.0"


def test_server_that_resets() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-x\r\n")
        await writer.drain()
        await reader.readline()  # the probe's identification has arrived
        reset(writer)

    result = _scan(handler)
    assert result.reachable is False
    assert result.error is not None
    assert result.error.startswith("connection reset by 127.0.0.1:"), result.error


def test_trickling_server_is_cut_off_at_the_deadline() -> None:
    # A byte every half second never trips a per-read timeout; only a deadline for the
    # whole probe ends it before the 255-byte line limit (two minutes away).
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"SSH-2.0-" + b"x" * 300:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.5)

    result = _scan(handler, timeout=1.5)
    assert result.reachable is False
    assert result.error == "timed out after 1.5 s waiting for the SSH identification string"


def test_silent_server_times_out_while_waiting_for_kexinit() -> None:
    result = _scan(sends(b"SSH-2.0-x\r\n"), timeout=0.5)
    assert result.error == "timed out after 0.5 s waiting for KEXINIT"
    assert result.banner == "SSH-2.0-x"


def test_closed_port() -> None:
    port = closed_port()
    result = asyncio.run(scan_ssh(Target("ssh", "127.0.0.1", port), timeout=5))
    assert result.reachable is False
    assert result.error == f"connection refused by 127.0.0.1:{port} (nothing listens on that port)"


def test_name_that_does_not_resolve() -> None:
    result = asyncio.run(scan_ssh(Target("ssh", "nonexistent.invalid", 22), timeout=5))
    assert result.reachable is False
    assert result.error is not None
    assert result.error.startswith("'nonexistent.invalid' does not resolve")
    assert result.target == "ssh://nonexistent.invalid:22"


def test_identification_parser() -> None:
    assert parse_identification(b"SSH-1.99-Compat\r\n") == "SSH-1.99-Compat"
    assert parse_identification(b"SSH-2.0-OpenSSH_9.2p1 Debian\n") == "SSH-2.0-OpenSSH_9.2p1 Debian"
    with pytest.raises(RemoteProtocolError, match="malformed"):
        parse_identification(b"SSH-2.0\r\n")


def test_kexinit_parser_on_random_input_raises_only_remote_protocol_error() -> None:
    rng = random.Random(14)
    good = kexinit_payload(GOOD_KEX, ["ssh-ed25519"])
    assert parse_kexinit(good).kex_algorithms == GOOD_KEX
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = data[: rng.randrange(len(data) + 1)]
        with contextlib.suppress(RemoteProtocolError):
            parse_kexinit(bytes(data))


@pytest.mark.parametrize("how", ["close", "reset"])
def test_connections_dropped_before_the_banner_are_retried(how: str) -> None:
    attempts = 0

    async def drops_two(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:  # as OpenSSH does beyond MaxStartups
            await reader.readline()
            if how == "reset":
                reset(writer)
            return
        await sends(GOOD_GREETING)(reader, writer)

    result = _scan(drops_two)
    assert result.reachable, result.error
    assert attempts == 3


def test_a_server_that_always_drops_is_tried_three_times() -> None:
    attempts = 0

    async def drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        await reader.readline()

    result = _scan(drops)
    assert attempts == 3
    assert result.error is not None
    assert result.error.endswith(
        "closed the connection while waiting for the SSH identification string"
    )


def test_openssh_too_busy_is_named() -> None:
    result = _scan(sends(b"Exceeded MaxStartups\r\n", then_wait=False))
    assert result.reachable is False
    assert result.error == (
        "the server turned the connection away as too busy (OpenSSH's MaxStartups); "
        "scan it with a lower concurrency"
    )


def test_closed_ipv6_port_is_named_in_brackets() -> None:
    if not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    result = asyncio.run(scan_ssh(Target("ssh", "::1", port), timeout=5))
    assert result.error == f"connection refused by [::1]:{port} (nothing listens on that port)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>\n<body>no\n", "not an SSH server: it sent '<html>' and closed"),
        (b"\r\n\r\n220 smtp.example ESMTP", "it sent '220 smtp.example ESMTP' and closed"),
        (b"\x00\x01garbage", "it sent '??garbage' and closed"),
    ],
)
def test_server_that_says_something_else_and_closes(data: bytes, message: str) -> None:
    attempts = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        await sends(data, then_wait=False)(reader, writer)

    result = _scan(handler)
    assert result.error is not None
    assert result.error.startswith("not an SSH server: ")
    assert result.error.endswith(message), result.error
    assert attempts == 1  # a server that answered is not retried


def test_python_http_server() -> None:
    """The standard library's HTTP server answers the probe's line as HTTP/0.9: a bare
    HTML error page, no status line."""
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        result = asyncio.run(scan_ssh(Target("ssh", "127.0.0.1", int(port)), timeout=5))
    finally:
        server.shutdown()
        server.server_close()
    assert result.reachable is False
    assert result.error is not None
    assert result.error.startswith("not an SSH server:"), result.error
