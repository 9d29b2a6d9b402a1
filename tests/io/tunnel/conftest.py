"""Fixtures for the tunnel tests that run real processes: a threaded echo service and
key files for the cached "server" and "client" identities."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pqe2ee.trust import save_identity
from tests.io.tunnel.util import identity


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)


@pytest.fixture
def service() -> Iterator[int]:
    """The port of an echo service (one thread per connection)."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """A folder with server.key and client.key (unprotected)."""
    save_identity(identity("server"), tmp_path / "server.key")
    save_identity(identity("client"), tmp_path / "client.key")
    return tmp_path
