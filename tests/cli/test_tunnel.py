"""``pqe2ee tunnel server|client`` as real processes: flags, a TOML file, refusals of
bad settings, and SIGTERM with its grace period."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pqe2ee.io.tunnel import load_toml, server_settings
from tests.io.tunnel.processes import PQE2EE, TunnelProcess, fingerprint, talk
from tests.io.tunnel.util import identity


@contextlib.contextmanager
def _pair(
    keys: Path, service: int, *server_extra: str, client_extra: tuple[str, ...] = ()
) -> Iterator[tuple[TunnelProcess, TunnelProcess]]:
    config = keys / "server.toml"
    config.write_text(
        f'listen = "127.0.0.1:0"\nforward = "127.0.0.1:{service}"\nidentity = "server.key"\n'
        f'allow = ["{fingerprint("client")}"]\n[server]\nrequire_pq = true\n'
    )
    server = TunnelProcess("server", "--config", str(config), *server_extra)
    client = TunnelProcess(
        "client",
        "--listen=127.0.0.1:0",
        f"--connect=127.0.0.1:{server.port}",
        f"--identity={keys / 'client.key'}",
        f"--peer={fingerprint('server')}",
        *client_extra,
    )
    try:
        yield server, client
    finally:
        for proc in (client, server):
            if proc.proc.poll() is None:
                proc.proc.kill()
                proc.proc.wait(10)


def test_processes_carry_data_and_stop_cleanly(keys: Path, service: int) -> None:
    with _pair(keys, service) as (server, client):
        assert talk(client.port, b"hello through processes") == b"hello through processes"
        assert client.stop() == 0
        assert server.stop() == 0
    for proc, peer in ((server, "client"), (client, "server")):
        (line,) = proc.conn_lines()
        assert f"peer={identity(peer).public().fingerprint().hex()}" in line
        assert "up=23 down=23" in line and line.endswith("end=closed")
        assert "hello" not in "\n".join(proc.lines)
        assert any(line.endswith("stopped") for line in proc.lines)


def test_pq_rekey_flags_run_ratchet_steps_and_the_log_line_counts_them(
    keys: Path, service: int
) -> None:
    """Both ends with a small --pq-rekey-bytes (the client with --pq-rekey-after too):
    the echoed 256 KB come back whole and both per-connection lines report
    pq_rekeys=N with N > 0 (the JSON form: tests/cli/test_flags.py)."""
    payload = bytes(range(256)) * 1024
    rekey = ("--pq-rekey-bytes=20000", "--pq-rekey-after=0.5")
    with _pair(keys, service, "--pq-rekey-bytes=20000", client_extra=rekey) as (server, client):
        with socket.create_connection(("127.0.0.1", client.port), timeout=30) as s:
            # a conversation: a step needs both directions open (the responder answers)
            for pos in range(0, len(payload), 32768):
                s.sendall(payload[pos : pos + 32768])
                got = b""
                while len(got) < len(payload[pos : pos + 32768]):
                    got += s.recv(65536)
                assert got == payload[pos : pos + 32768]
            s.shutdown(socket.SHUT_WR)
            assert s.recv(1) == b""
        assert client.stop() == 0
        assert server.stop() == 0
    for proc in (client, server):
        (line,) = proc.conn_lines()
        assert f" up={len(payload)} down={len(payload)} " in line, line
        match = re.search(r" pq_rekeys=(\d+) ", line)
        assert match and int(match.group(1)) > 0, line


def test_pq_rekey_flags_refuse_nonsense(keys: Path) -> None:
    for flag in ("--pq-rekey-bytes=0", "--pq-rekey-after=-1", "--pq-rekey-bytes=lots"):
        out = subprocess.run(
            [*PQE2EE, "tunnel", "client", flag], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 2 and flag.split("=")[0] in out.stderr


def test_sigterm_lets_an_open_connection_finish(keys: Path, service: int) -> None:
    with _pair(keys, service, "--grace", "20") as (server, client):
        with socket.create_connection(("127.0.0.1", client.port), timeout=30) as s:
            s.sendall(b"before;")
            assert s.recv(100) == b"before;"
            server.proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionRefusedError):  # bounded: the listener goes first
                for _ in range(200):
                    socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
                    threading.Event().wait(0.02)
            s.sendall(b"after")  # the open connection still works
            s.shutdown(socket.SHUT_WR)
            rest = b""
            while chunk := s.recv(100):
                rest += chunk
            assert rest == b"after"
        assert server.stop(None) == 0
        assert any(line.endswith("end=closed") for line in server.conn_lines())


def test_sigterm_cuts_what_outlives_the_grace_period(keys: Path, service: int) -> None:
    with _pair(keys, service, "--grace", "0.5") as (server, client):
        with socket.create_connection(("127.0.0.1", client.port), timeout=30) as s:
            s.sendall(b"ping")
            assert s.recv(100) == b"ping"
            assert server.stop(signal.SIGINT) == 0  # returns once the grace is over
            with contextlib.suppress(ConnectionError):
                assert s.recv(100) == b""  # cut
        assert client.stop() == 0
    assert any("end=shutdown: grace period over" in line for line in server.conn_lines())
    assert any("truncated" in line for line in client.conn_lines())


def test_bad_settings_fail_at_once_with_one_line(keys: Path, tmp_path: Path) -> None:
    key = str(keys / "server.key")
    base = ["tunnel", "server", "--listen=127.0.0.1:0", "--forward=127.0.0.1:1"]
    out = subprocess.run([*PQE2EE, *base, "--identity", key], capture_output=True, text=True)
    assert out.returncode == 2
    assert "a tunnel server needs allowed clients" in out.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('listen = "127.0.0.1:0"\nlisten_port = 5\n')
    out = subprocess.run(
        [*PQE2EE, "tunnel", "client", "--config", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "unknown key 'listen_port'" in out.stderr and len(out.stderr.splitlines()) == 1


def test_toml_role_tables_relative_paths_and_types(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        'identity = "keys/me.key"\nmax_connections = 8\n'
        '[server]\nmax_connections = 16\nmax_pending_handshakes = 32\nallow = "ab" \n'
        '[client]\npeer = ["cd"]\nmax_handshakes = 4\n'
    )
    server = load_toml(path, "server")
    assert server == {
        "identity": str(tmp_path / "keys/me.key"),
        "max_connections": 16,
        "max_pending_handshakes": 32,
        "allow": ["ab"],
    }
    client = load_toml(path, "client")
    assert client["max_connections"] == 8 and client["max_handshakes"] == 4
    path.write_text("max_connections = true\n")
    with pytest.raises(ValueError, match="'max_connections' has the wrong type"):
        load_toml(path, "server")
    for gone in ("evict_after = 1", "max_handshakes = 8"):  # the server's old slot options
        path.write_text(gone + "\n")
        with pytest.raises(ValueError, match=r"was removed: .*max_pending_handshakes"):
            load_toml(path, "server")
    path.write_text('peer = "x"\n')
    with pytest.raises(ValueError, match="'peer' is not an option of the tunnel server"):
        load_toml(path, "server")


def test_server_settings_read_allowed_clients_from_a_known_peers_file(keys: Path) -> None:
    peers = keys / "clients"
    peers.write_text(f"# allowed\nalice ed25519 {fingerprint('client')}\n")
    settings = server_settings(
        {
            "listen": "[::1]:0",
            "forward": "127.0.0.1:6379",
            "identity": str(keys / "server.key"),
            "known_peers": str(peers),
            "idle_timeout": 0,
        }
    )
    fp = identity("client").public().fingerprint()
    assert settings.config.peer_fingerprints == {fp}
    assert settings.peer_names == {fp: "alice"}
    assert settings.listen.host == "::1" and settings.limits.idle_timeout is None
    assert settings.config.require_client_identity


def test_a_second_signal_cuts_the_grace_period_short(keys: Path, service: int) -> None:
    """Grace 60 s, beyond the 30 s the test waits: only the second signal ends it."""
    with _pair(keys, service, "--grace", "60") as (server, client):
        with socket.create_connection(("127.0.0.1", client.port), timeout=30) as s:
            s.sendall(b"ping")
            assert s.recv(100) == b"ping"
            server.proc.send_signal(signal.SIGTERM)
            for _ in range(500):  # bounded: until the server says it is shutting down
                if any("shutting down" in line for line in server.lines):
                    break
                threading.Event().wait(0.02)
            assert server.stop(signal.SIGTERM, timeout=30) == 0
        assert client.stop() == 0
    assert any("end=shutdown: cut by a second signal" in x for x in server.conn_lines())


def test_classical_clients_are_refused_unless_the_server_allows_them(keys: Path) -> None:
    base = {
        "listen": "127.0.0.1:0",
        "forward": "127.0.0.1:6379",
        "identity": str(keys / "server.key"),
        "allow": [fingerprint("client")],
    }
    assert not server_settings(base).config.policy.allow_classical_client_identity
    allowed = server_settings({**base, "allow_classical_clients": True})
    assert allowed.config.policy.allow_classical_client_identity
    path = keys / "t.toml"
    path.write_text("[server]\nallow_classical_clients = true\n")
    assert load_toml(path, "server") == {"allow_classical_clients": True}
    path.write_text("allow_classical_clients = true\n")
    with pytest.raises(ValueError, match="not an option of the tunnel client"):
        load_toml(path, "client")
