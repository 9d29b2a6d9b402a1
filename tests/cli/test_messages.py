"""The one line a failed command prints, found by running each failure for real: it says
where (host:port), what happened in words, and the flag to change, never a temporary
file's name or an API field."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pqe2ee.handshake.record import foreign_protocol

PQE2EE = [sys.executable, "-m", "pqe2ee"]


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PQE2EE, *args], capture_output=True, text=True, timeout=120, input=stdin
    )


def _error_line(out: subprocess.CompletedProcess[str]) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("pqe2ee"), lines
    return lines[0]


@contextlib.contextmanager
def _server(reply: bytes | None) -> Iterator[int]:
    """A TCP server on a free port that reads what comes, then writes ``reply`` (None:
    stays silent until the test ends) to each connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            while not done.is_set():
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    if reply is None:
                        done.wait(60)
                    else:
                        conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_refused_connection_names_host_and_port() -> None:
    port = _closed_port()
    out = _run("connect", f"127.0.0.1:{port}", "--no-known-peers")
    assert out.returncode == 1
    assert f"cannot connect to 127.0.0.1:{port}: Connection refused" in _error_line(out)


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "looks like HTTP"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "looks like SSH"),
        (b"\x15\x03\x03\x00\x02\x02\x46", "looks like TLS"),
    ],
    ids=["http", "ssh", "tls"],
)
def test_a_peer_that_speaks_another_protocol_is_named(reply: bytes, words: str) -> None:
    with _server(reply) as port:
        out = _run("connect", f"127.0.0.1:{port}", "--no-known-peers")
    line = _error_line(out)
    assert out.returncode == 1
    assert f"127.0.0.1:{port}: the peer does not speak pqe2ee (it sent what {words}" in line
    assert "content type" not in line


def test_what_a_foreign_stream_looks_like() -> None:
    assert foreign_protocol(b"H") == "it sent what looks like HTTP"
    assert foreign_protocol(b"GET / HTTP/1.1\r\n") == "it sent what looks like HTTP"
    assert foreign_protocol(b"\x16\x03\x01\x02\x00") is not None
    assert "TLS" in (foreign_protocol(b"\x16\x03\x01") or "")
    assert foreign_protocol(b"SSH-2.0-x") == "it sent what looks like SSH"
    assert foreign_protocol(b"220 mail ESMTP") == "it sent text: '220 mail ESMTP'"
    assert foreign_protocol(b"\x00\xff\x10") is None
    assert foreign_protocol(b"\x16\x00") is None  # a pqe2ee handshake frame's start


def test_a_silent_server_times_out_the_handshake_with_the_flag_named() -> None:
    with _server(None) as port:
        out = _run("connect", f"127.0.0.1:{port}", "--no-known-peers", "--handshake-timeout", "0.5")
    assert out.returncode == 1
    line = _error_line(out)
    assert f"127.0.0.1:{port}: the handshake timed out after 0.5 s (--handshake-timeout)" in line


def test_cli_errors_name_flags_not_api_fields() -> None:
    out = _run("connect", "127.0.0.1:9", "--mode", "classical", "--require-pq", "--no-known-peers")
    assert out.returncode == 2
    line = _error_line(out)
    assert "--require-pq" in line and "require_pq" not in line


def test_a_bad_recipient_is_named(tmp_path: Path) -> None:
    out = _run("age", "encrypt", "-r", "age1qqqq", "-r", "age1bogus", stdin="x")
    line = _error_line(out)
    assert "-r age1qqqq:" in line


def test_no_temporary_file_name_in_errors(tmp_path: Path) -> None:
    key = tmp_path / "k"
    assert _run("age", "keygen", "-o", str(key)).returncode == 0
    recipient = _run("age", "convert", str(key)).stdout.strip()
    target = tmp_path / "missing-dir" / "out.age"
    out = _run("age", "encrypt", "-r", recipient, "-o", str(target), stdin="x")
    line = _error_line(out)
    assert str(target) in line and ".partial" not in line
    out = _run("keygen", "-o", str(target))
    line = _error_line(out)
    assert f"{target}: No such file or directory" in line and ".partial" not in line


def test_a_refused_client_never_reads_connected(tmp_path: Path) -> None:
    for name in ("server", "client", "other"):
        assert _run("keygen", "-o", str(tmp_path / name)).returncode == 0
    other = _run("fingerprint", str(tmp_path / "other.pub")).stdout.split(" ", 1)[1].strip()
    server_fpr = _run("fingerprint", str(tmp_path / "server.pub")).stdout.split(" ", 1)[1]
    port = _closed_port()
    listener = subprocess.Popen(
        [*PQE2EE, "listen", "--port", str(port), "--identity", str(tmp_path / "server"),
         "--peer", other],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert listener.stderr is not None
        assert b"listening on" in listener.stderr.readline()
        out = _run(
            "connect", f"127.0.0.1:{port}", "--identity", str(tmp_path / "client"),
            "--peer", server_fpr.replace(" ", ""), stdin="hello\n",
        )  # fmt: skip
        assert out.returncode == 1
        line = _error_line(out)
        assert "connected" not in out.stderr
        assert f"127.0.0.1:{port}: " in line and "identity refused" in line
        refused = listener.stderr.readline().decode()
        assert refused.startswith("pqe2ee: refused ")
        # the client's fingerprint, grouped as `pqe2ee fingerprint` prints it
        client_fpr = _run("fingerprint", str(tmp_path / "client.pub")).stdout.split(" ", 1)[1]
        assert f"peer identity {client_fpr.strip()} is not the pinned one" in refused
    finally:
        listener.kill()
        listener.wait(30)


def test_an_accepted_client_reads_connected_with_the_grouped_fingerprint(tmp_path: Path) -> None:
    for name in ("server", "client"):
        assert _run("keygen", "-o", str(tmp_path / name)).returncode == 0
    fpr = {
        n: _run("fingerprint", str(tmp_path / f"{n}.pub")).stdout.split(" ", 1)[1].strip()
        for n in ("server", "client")
    }
    port = _closed_port()
    listener = subprocess.Popen(
        [*PQE2EE, "listen", "--port", str(port), "--identity", str(tmp_path / "server"),
         "--peer", fpr["client"].replace(" ", "")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert listener.stderr is not None and listener.stdin is not None
        listener.stdin.write(b"welcome\n")
        listener.stdin.close()
        listener.stdin = None
        assert b"listening on" in listener.stderr.readline()
        out = _run(
            "connect", f"127.0.0.1:{port}", "--identity", str(tmp_path / "client"),
            "--peer", fpr["server"], stdin="hello\n",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert out.stdout == "welcome\n"
        assert f"connected to 127.0.0.1:{port}" in out.stderr
        assert f"peer ed25519 {fpr['server']}" in out.stderr
        quiet = listener.communicate(timeout=60)[1].decode()
        assert f"peer ed25519 {fpr['client']}" in quiet
    finally:
        listener.kill()
        listener.wait(30)
