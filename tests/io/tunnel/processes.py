"""Tunnel processes for the tests that run ``pqe2ee tunnel`` for real (tests/cli/test_tunnel.py
and test_injection.py): a process whose stderr is collected, the fingerprint of a cached
identity, and one request/response exchange."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading

from pqe2ee.io.tunnel import parse_endpoint
from tests.io.tunnel.util import identity

PQE2EE = [sys.executable, "-m", "pqe2ee"]


def fingerprint(name: str) -> str:
    return identity(name).public().fingerprint_hex()


class TunnelProcess:
    """A tunnel process; its stderr is collected by a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*PQE2EE, "tunnel", *args], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        self.lines: list[str] = []
        self._port: int | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if line.startswith("pqe2ee: tunnel") and " listening on " in line:
                self._port = parse_endpoint(line.rsplit(" ", 1)[1]).port
                self._ready.set()
        self._ready.set()

    @property
    def port(self) -> int:
        assert self._ready.wait(30), self.lines
        assert self._port is not None, self.lines
        return self._port

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` (None: it was sent already) and wait for the exit status."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._thread.join(10)
        return code

    def conn_lines(self) -> list[str]:
        return [line for line in self.lines if " conn=" in line]


def talk(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)
