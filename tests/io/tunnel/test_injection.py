"""An on-path attacker against live tunnel processes (issue 11): a proxy between the two
ends injects the header of a plaintext frame (``16 00 5f ff``) into one established
session at a record boundary.  No key is needed for that.  The server must close that
session at once, stay idle (it once spun a core per attacked connection, deaf to
SIGTERM), keep serving the other sessions, and still stop within its grace period."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pqe2ee import _binding
from tests.io.tunnel.processes import TunnelProcess, fingerprint, talk

INJECTED = bytes.fromhex("16005fff")
WAIT = 30.0


class _Proxy:
    """A TCP forwarder to ``target``; :meth:`inject` adds bytes to the first
    connection's client-to-server stream, between two of its reads."""

    def __init__(self, target: int) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.upstreams: list[socket.socket] = []
        self.server_ended = threading.Event()  # the server ended the first connection
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                down, _ = self._listener.accept()
                up = socket.create_connection(("127.0.0.1", self._target))
                first = not self.upstreams
                self.upstreams.append(up)
                threading.Thread(target=self._copy, args=(down, up, None), daemon=True).start()
                ended = self.server_ended if first else None
                threading.Thread(target=self._copy, args=(up, down, ended), daemon=True).start()

    def _copy(self, src: socket.socket, dst: socket.socket, ended: threading.Event | None) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(1 << 16):
                with self._lock:
                    dst.sendall(data)
        if ended is not None:
            ended.set()
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def inject(self, data: bytes) -> None:
        with self._lock:  # never inside a forwarded read: at a record boundary when idle
            self.upstreams[0].sendall(data)

    def close(self) -> None:
        self._listener.close()
        for s in self.upstreams:
            s.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _attacked_pair(
    keys: Path, service: int
) -> Iterator[tuple[TunnelProcess, TunnelProcess, _Proxy]]:
    config = keys / "server.toml"
    config.write_text(
        f'listen = "127.0.0.1:0"\nforward = "127.0.0.1:{service}"\nidentity = "server.key"\n'
        f'allow = ["{fingerprint("client")}"]\n'
    )
    server = TunnelProcess("server", "--config", str(config), "--grace", "2")
    proxy = _Proxy(server.port)
    client = TunnelProcess(
        "client",
        "--listen=127.0.0.1:0",
        f"--connect=127.0.0.1:{proxy.port}",
        f"--identity={keys / 'client.key'}",
        f"--peer={fingerprint('server')}",
    )
    try:
        yield server, client, proxy
    finally:
        for proc in (client, server):
            if proc.proc.poll() is None:
                proc.proc.kill()
                proc.proc.wait(10)
        proxy.close()


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc for CPU time")
@pytest.mark.parametrize("data_path", ["c", "python"])
def test_injected_plaintext_header_closes_only_that_session(
    keys: Path, service: int, data_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if data_path == "c" and not _binding.CORE_AVAILABLE:
        pytest.skip(_binding.CORE_ERROR)
    monkeypatch.setenv("PQE2EE_TUNNEL_DATA_PATH", data_path)
    with _attacked_pair(keys, service) as (server, client, proxy):
        attacked = socket.create_connection(("127.0.0.1", client.port), timeout=WAIT)
        attacked.sendall(b"ping")
        assert attacked.recv(100) == b"ping"  # established, and idle at a record boundary
        other = socket.create_connection(("127.0.0.1", client.port), timeout=WAIT)
        other.sendall(b"before;")
        assert other.recv(100) == b"before;"

        cpu_before = _cpu_seconds(server.proc.pid)
        proxy.inject(INJECTED)
        # the server ends the attacked session (bounded wait: it never did before)
        assert proxy.server_ended.wait(WAIT), server.lines
        threading.Event().wait(2.0)  # a spinning pump would burn about that much CPU now
        assert _cpu_seconds(server.proc.pid) - cpu_before < 0.5

        with contextlib.suppress(ConnectionError):
            assert attacked.recv(100) == b""  # the client end passed the end on
        attacked.close()
        other.sendall(b"after")  # the other session is untouched
        other.shutdown(socket.SHUT_WR)
        rest = b""
        while chunk := other.recv(100):
            rest += chunk
        assert rest == b"after"
        other.close()
        assert talk(client.port, b"a new one") == b"a new one"

        assert server.stop(signal.SIGTERM, timeout=2 + 15) == 0  # within the grace period
        ends = [line for line in server.conn_lines() if "after keys were set" in line]
        assert len(ends) == 1, server.conn_lines()
        assert "ping" not in "\n".join(server.lines)
