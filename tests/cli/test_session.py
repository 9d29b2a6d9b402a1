"""keygen / fingerprint / listen / connect as a user runs them, in real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.io.tunnel.util import raise_fd_limit

PQE2EE = [sys.executable, "-m", "pqe2ee"]
FLOOD = 1500


def _run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PQE2EE, *args], capture_output=True, text=True, timeout=60, **kw)  # type: ignore[call-overload]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _keygen(tmp: Path, name: str, auth: str) -> str:
    out = _run("keygen", "--auth", auth, "-o", str(tmp / name))
    assert out.returncode == 0, out.stderr
    kind, fpr = out.stdout.strip().split(" ", 1)
    assert kind == auth
    assert oct((tmp / name).stat().st_mode & 0o777) == "0o600"
    fp = _run("fingerprint", str(tmp / f"{name}.pub"))
    assert fp.stdout.strip() == f"{auth} {fpr}"
    return fpr


def _listen(
    tmp: Path, *extra: str, stdin: bytes | None = None, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``pqe2ee listen`` on a free port; return once it says it is listening."""
    port = port or _free_port()
    proc = subprocess.Popen(
        [*PQE2EE, "listen", "--port", str(port), "--identity", str(tmp / "server.key"), *extra],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        proc.stdin = None
    assert proc.stderr is not None
    assert b"listening on" in proc.stderr.readline()
    return proc, port


def _until_refused(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """A listener's stdout and stderr once it has refused a connection.

    ``listen`` goes on listening after a failed handshake, so it is stopped here (its
    exit by SIGTERM shows it was still waiting) after its first "refused" line, read
    within a bound.
    """
    assert proc.stderr is not None
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(b"pqe2ee: refused "):
                break
    finally:
        watchdog.cancel()
    proc.terminate()
    out, rest = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, b"".join(lines) + rest  # it was listening
    return out, b"".join(lines) + rest


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str, str]:
    return (
        tmp_path,
        _keygen(tmp_path, "server.key", "hybrid"),
        _keygen(tmp_path, "client.key", "hybrid"),
    )


def test_listen_connect_both_ways(keys: tuple[Path, str, str]) -> None:
    tmp, server_fpr, client_fpr = keys
    proc, port = _listen(tmp, "--peer", client_fpr, stdin=b"from the server\n")
    client = _run(
        "connect",
        f"127.0.0.1:{port}",
        "--identity",
        str(tmp / "client.key"),
        "--peer",
        server_fpr,
        input="from the client\n",
    )
    out, err = proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert client.stdout == "from the server\n"
    assert out == b"from the client\n"
    assert "suite X25519MLKEM768+hybrid" in client.stderr


def test_listen_connect_take_the_pq_rekey_flags(keys: tuple[Path, str, str]) -> None:
    tmp, server_fpr, client_fpr = keys
    down, up = os.urandom(50_000), os.urandom(300_000)  # (listen's stdin: one pipe's worth)
    flags = ("--pq-rekey-bytes", "5000", "--pq-rekey-after", "30")
    proc, port = _listen(tmp, "--peer", client_fpr, *flags, stdin=down)
    command = [*PQE2EE, "connect", f"127.0.0.1:{port}", "--identity", str(tmp / "client.key")]
    client = subprocess.run(
        [*command, "--peer", server_fpr, *flags],
        input=up,
        capture_output=True,
        timeout=60,
    )
    out, err = proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert client.stdout == down and out == up
    # how many steps complete before the ends close depends on timing; that the flags
    # reached the session is what shows here (the steps: tests/io/test_pq_ratchet_io.py)
    assert b"post-quantum ratchet steps completed" in client.stderr
    assert b"post-quantum ratchet steps completed" in err
    for bad in (("--pq-rekey-bytes", "0"), ("--pq-rekey-after", "0")):
        refused = _run("connect", "127.0.0.1:1", *bad)
        assert refused.returncode == 2 and bad[0] in refused.stderr


def test_wrong_fingerprint_exits_nonzero_with_one_line(keys: tuple[Path, str, str]) -> None:
    tmp, _, _ = keys
    proc, port = _listen(tmp)
    client = _run("connect", f"127.0.0.1:{port}", "--peer", "00" * 32, input="secret\n")
    _, err = _until_refused(proc)
    assert client.returncode == 1
    lines = client.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "not the pinned one" in lines[0]
    assert client.stdout == ""
    assert b"identity refused" in err


def test_unknown_client_is_refused_by_a_pinning_server(keys: tuple[Path, str, str]) -> None:
    tmp, _, client_fpr = keys
    _keygen(tmp, "stranger.key", "hybrid")
    proc, port = _listen(tmp, "--peer", client_fpr, stdin=b"must not leak\n")
    client = _run(
        "connect", f"127.0.0.1:{port}", "--identity", str(tmp / "stranger.key"), input="hi\n"
    )
    out, err = _until_refused(proc)
    assert out == b""
    assert b"not the pinned one" in err
    assert "must not leak" not in client.stdout


def test_require_pq_against_classical_peer(keys: tuple[Path, str, str]) -> None:
    tmp, _, _ = keys
    proc, port = _listen(tmp, "--require-pq")
    client = _run("connect", f"127.0.0.1:{port}", "--mode", "classical", input="")
    _, err = _until_refused(proc)
    assert client.returncode == 1
    assert "downgrade" in client.stderr
    assert b"--require-pq" in err and b"require_pq" not in err


def test_bad_arguments_and_missing_files(tmp_path: Path) -> None:
    out = _run("fingerprint", str(tmp_path / "nope"))
    assert out.returncode == 1
    assert "No such file" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = _run("connect", "no-port-here")
    assert out.returncode == 2
    assert "HOST:PORT" in out.stderr
    out = _run("connect", "127.0.0.1:9", "--peer", "xyz")
    assert out.returncode == 2
    assert "not a fingerprint" in out.stderr


def test_keygen_with_passphrase(tmp_path: Path) -> None:
    env = {**os.environ, "PQE2EE_PASSPHRASE": "hunter2hunter2"}
    out = _run("keygen", "-o", str(tmp_path / "k"), env=env)
    assert out.returncode == 0, out.stderr
    assert _run("fingerprint", str(tmp_path / "k"), env=env).returncode == 0
    wrong = _run(
        "fingerprint", str(tmp_path / "k"), env={**os.environ, "PQE2EE_PASSPHRASE": "nope"}
    )
    assert wrong.returncode == 1
    assert "wrong passphrase" in wrong.stderr


def test_safety_number_is_the_same_from_both_sides(keys: tuple[Path, str, str]) -> None:
    tmp, _, _ = keys
    a = _run("safety-number", str(tmp / "server.key.pub"), str(tmp / "client.key.pub"))
    b = _run("safety-number", str(tmp / "client.key"), str(tmp / "server.key.pub"))
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert len(a.stdout.split()) == 12


def test_a_post_quantum_listener_refuses_a_classical_client_unless_allowed(
    keys: tuple[Path, str, str],
) -> None:
    tmp, server_fpr, _ = keys  # the server's identity is hybrid
    _keygen(tmp, "classical.key", "ed25519")
    connect = ("--identity", str(tmp / "classical.key"), "--peer", server_fpr)
    proc, port = _listen(tmp, "--require-client-identity", stdin=b"must not leak\n")
    client = _run("connect", f"127.0.0.1:{port}", *connect, input="hi\n")
    out, err = _until_refused(proc)
    assert out == b""
    assert b"post-quantum client identity is required" in err
    assert client.returncode == 1 and "must not leak" not in client.stdout

    proc, port = _listen(
        tmp, "--require-client-identity", "--allow-classical-client", stdin=b"welcome\n"
    )
    client = _run("connect", f"127.0.0.1:{port}", *connect, input="hi\n")
    out, err = proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert (out, client.stdout) == (b"hi\n", "welcome\n")


def _flood(port: int, n: int) -> list[socket.socket]:
    """``n`` connections to ``port`` that say nothing (refused ones left out)."""
    out = []
    for _ in range(n):
        with contextlib.suppress(ConnectionRefusedError):
            out.append(socket.create_connection(("127.0.0.1", port)))
    return out


def test_listen_serves_an_honest_client_through_a_flood_of_silent_connections(
    keys: tuple[Path, str, str],
) -> None:
    """1,500 silent connections first, 100 more a second while the honest client
    connects, and a handshake timeout of 60 s: ``listen`` used to take the first
    connection and wait on it; now it goes on accepting, evicts the oldest silent ones,
    and the honest client's session goes through (within a 20 s failure bound: two
    Python start-ups)."""
    raise_fd_limit(3 * FLOOD)
    tmp, server_fpr, client_fpr = keys
    proc, port = _listen(
        tmp, "--peer", client_fpr, "--handshake-timeout", "60", stdin=b"from the server\n"
    )
    flood = _flood(port, FLOOD)
    stop = threading.Event()
    more: list[socket.socket] = []

    def sustain() -> None:  # the attacker goes on while the honest client connects
        while not stop.wait(1 / 100):  # its pace (as in the report), not a wait for an event
            more.extend(_flood(port, 1))
            if len(more) > 300:  # it closes its older ones
                more.pop(0).close()

    attacker = threading.Thread(target=sustain, daemon=True)
    attacker.start()
    try:
        identity = str(tmp / "client.key")
        client = subprocess.run(
            [*PQE2EE, "connect", f"127.0.0.1:{port}", "--identity", identity, "--peer", server_fpr],
            input="from the client\n",
            capture_output=True,
            text=True,
            timeout=20,
        )
        out, err = proc.communicate(timeout=20)
    finally:
        stop.set()
        attacker.join()
        proc.kill()
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert client.stdout == "from the server\n" and out == b"from the client\n"
    assert b"evicted to make room" in err
    flood[0].settimeout(10)  # the oldest was evicted (reset), not left to time out
    with contextlib.suppress(ConnectionResetError):
        assert flood[0].recv(1) == b""
    for s in flood + more:
        s.close()


def test_listen_drops_a_silent_connection_after_the_handshake_timeout(
    keys: tuple[Path, str, str],
) -> None:
    """One silent connection no longer holds ``listen``: it times out and the next
    client is served by the same process."""
    tmp, server_fpr, _ = keys
    proc, port = _listen(tmp, "--handshake-timeout", "0.5", stdin=b"hi\n")
    silent = socket.create_connection(("127.0.0.1", port))
    silent.settimeout(20)
    with contextlib.suppress(ConnectionResetError):
        assert silent.recv(1) == b""  # dropped after its timeout, listen still up
    client = _run("connect", f"127.0.0.1:{port}", "--peer", server_fpr, input="")
    _, err = proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert client.stdout == "hi\n"
    assert b"dropped 1 connections" in err
    silent.close()


def test_listen_outlives_a_peer_that_fails_its_handshake(keys: tuple[Path, str, str]) -> None:
    """Garbage from a stranger, then a client with the wrong identity: each gets a line
    on stderr, and the expected client is still served by the same process (one byte
    used to end ``listen`` with exit 1)."""
    tmp, server_fpr, client_fpr = keys
    _keygen(tmp, "stranger.key", "hybrid")
    proc, port = _listen(tmp, "--peer", client_fpr, stdin=b"for the client\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as garbage:
        garbage.sendall(b"GET / HTTP/1.1\r\n\r\n")
        garbage.settimeout(30)
        with contextlib.suppress(ConnectionResetError):
            while garbage.recv(100):  # its alert, then the end
                pass
    stranger = _run(
        "connect", f"127.0.0.1:{port}", "--identity", str(tmp / "stranger.key"), input="x\n"
    )
    assert stranger.returncode == 1 and "identity refused" in stranger.stderr
    client = _run(
        "connect",
        f"127.0.0.1:{port}",
        "--identity",
        str(tmp / "client.key"),
        "--peer",
        server_fpr,
        input="hello\n",
    )
    out, err = proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert (out, client.stdout) == (b"hello\n", "for the client\n")
    refused = [line for line in err.decode().splitlines() if line.startswith("pqe2ee: refused")]
    assert len(refused) == 2, err
    assert "the peer does not speak pqe2ee (it sent what looks like HTTP)" in refused[0]
    assert "not the pinned one" in refused[1]


@pytest.mark.parametrize("how", ["peer-key", "known-peers"])
def test_kem_identities_from_keygen_to_a_session(tmp_path: Path, how: str) -> None:
    """``keygen --auth kem`` on both sides; the client knows the server's key from its
    .pub file (``--peer-key``) or from its known peers after the first connection, and
    both ways the session carries data with kem authentication."""
    server_fpr = _keygen(tmp_path, "server.key", "kem")
    client_fpr = _keygen(tmp_path, "client.key", "kem")
    store = tmp_path / "known_peers"
    rounds = 2 if how == "known-peers" else 1
    port = _free_port()  # one name in known peers: the same HOST:PORT both times
    for n in range(rounds):
        proc, _ = _listen(tmp_path, "--peer", client_fpr, stdin=b"hello kem\n", port=port)
        trust = (
            ["--peer-key", str(tmp_path / "server.key.pub")]
            if how == "peer-key"
            else ["--known-peers", str(store)]
        )
        client = _run(
            "connect",
            f"127.0.0.1:{port}",
            "--identity",
            str(tmp_path / "client.key"),
            *trust,
            input="from a kem client\n",
        )
        out, err = proc.communicate(timeout=60)
        assert client.returncode == 0, client.stderr
        assert proc.returncode == 0, err
        assert client.stdout == "hello kem\n" and out == b"from a kem client\n"
        assert "+kem+" in client.stderr and f"peer kem {server_fpr}" in client.stderr
        if how == "known-peers":
            assert ("added" in client.stderr) == (n == 0)
    if how == "known-peers":
        name, kind, *rest = store.read_text().split()
        assert name == f"127.0.0.1:{port}"
        assert kind == "kem" and len(rest) == 2  # fingerprint and key
