"""Known peers on the command line, in real processes: ``listen --known-peers``, the
default store of ``connect``, ``--no-known-peers``, and identity files checked at start-up.

Each test runs with its own ``XDG_CONFIG_HOME`` (tests/conftest.py), and these set
``HOME`` too, so nothing here touches the user's real store.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from .test_session import PQE2EE, _free_port, _keygen, _run, _until_refused


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return (
        tmp_path,
        _keygen(tmp_path, "server.key", "ed25519"),
        _keygen(tmp_path, "client.key", "ed25519"),
    )


def _fp(text: str) -> str:
    return text.replace(" ", "")


def _listen(key: Path, *extra: str, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = port or _free_port()
    proc = subprocess.Popen(
        [*PQE2EE, "listen", "--port", str(port), "--identity", str(key), *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    assert b"listening on" in proc.stderr.readline()
    return proc, port


def _connect(port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run("connect", f"127.0.0.1:{port}", *extra, input="hello\n")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------------- listen
def test_listen_with_known_peers_refuses_an_anonymous_client(
    keys: tuple[Path, str, str],
) -> None:
    tmp, server_fpr, _ = keys
    clients = tmp / "clients"
    proc, port = _listen(tmp / "server.key", "--known-peers", str(clients))
    client = _connect(port, "--peer", server_fpr)
    out, err = _until_refused(proc)
    assert b"client sent no identity" in err
    assert out == b""
    # The client finished its side of the handshake before the server refused it, so
    # its stdin thread may be blocked in a read when the alert arrives: it must still
    # exit with the error (once it aborted on the buffered reader's lock at exit).
    assert client.returncode == 1, client.stderr
    assert "identity refused" in client.stderr
    assert not clients.exists()


def test_listen_records_the_first_client_and_refuses_another_loudly(
    keys: tuple[Path, str, str],
) -> None:
    tmp, server_fpr, client_fpr = keys
    _keygen(tmp, "stranger.key", "ed25519")
    clients = tmp / "clients"
    server_key = tmp / "server.key"

    proc, port = _listen(server_key, "--known-peers", str(clients))
    first = _connect(port, "--identity", str(tmp / "client.key"), "--peer", server_fpr)
    out, err = proc.communicate(timeout=60)
    assert first.returncode == 0, first.stderr
    assert proc.returncode == 0, err
    assert out == b"hello\n"
    added = f"pqe2ee: added client-{_fp(client_fpr)[:16]} (ed25519 {client_fpr}) to {clients}"
    assert added.encode() in err
    assert clients.read_text().split() == [
        f"client-{_fp(client_fpr)[:16]}",
        "ed25519",
        _fp(client_fpr),
    ]
    assert _mode(clients) == 0o600

    # same address, another client identity: refused, naming the file and line
    proc, port = _listen(server_key, "--known-peers", str(clients))
    stranger = _connect(port, "--identity", str(tmp / "stranger.key"), "--peer", server_fpr)
    out, err = _until_refused(proc)
    lines = [line for line in err.decode().splitlines() if line.startswith("pqe2ee: refused")]
    assert "UNKNOWN CLIENT IDENTITY" in lines[-1]
    assert f"{clients}:1 expects {client_fpr}" in lines[-1]
    assert out == b""
    assert stranger.returncode == 1, stranger.stderr  # see the note in the test above
    assert "identity refused" in stranger.stderr
    assert len(clients.read_text().splitlines()) == 1

    # the recorded client comes back: known, nothing added
    proc, port = _listen(server_key, "--known-peers", str(clients))
    again = _connect(port, "--identity", str(tmp / "client.key"), "--peer", server_fpr)
    _, err = proc.communicate(timeout=60)
    assert again.returncode == 0, again.stderr
    assert proc.returncode == 0, err
    assert b"added" not in err

    # an explicit --accept-new-clients lets the stranger in and records it
    proc, port = _listen(server_key, "--known-peers", str(clients), "--accept-new-clients")
    stranger = _connect(port, "--identity", str(tmp / "stranger.key"), "--peer", server_fpr)
    _, err = proc.communicate(timeout=60)
    assert stranger.returncode == 0, stranger.stderr
    assert proc.returncode == 0, err
    assert len(clients.read_text().splitlines()) == 2


def test_accept_new_clients_needs_known_peers(keys: tuple[Path, str, str]) -> None:
    tmp, _, _ = keys
    out = _run(
        "listen", "--port", "9", "--identity", str(tmp / "server.key"), "--accept-new-clients"
    )
    assert out.returncode == 2
    assert "--accept-new-clients needs --known-peers" in out.stderr
    assert "listening" not in out.stderr


# ---------------------------------------------------------------------- connect
def test_connect_uses_a_default_store_and_refuses_a_changed_key(
    keys: tuple[Path, str, str],
) -> None:
    tmp, server_fpr, _ = keys
    _keygen(tmp, "impostor.key", "ed25519")
    store = tmp / "cfg" / "pqe2ee" / "known_peers"
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "cfg")}

    proc, port = _listen(tmp / "server.key")
    first = _run("connect", f"127.0.0.1:{port}", input="hello\n", env=env)
    proc.communicate(timeout=60)
    assert first.returncode == 0, first.stderr
    assert f"pqe2ee: added 127.0.0.1:{port} (ed25519 {server_fpr}) to {store}" in first.stderr
    assert store.read_text() == f"127.0.0.1:{port} ed25519 {_fp(server_fpr)}\n"
    assert _mode(store) == 0o600
    assert _mode(store.parent) == 0o700

    proc, port = _listen(tmp / "server.key", port=port)
    known = _run("connect", f"127.0.0.1:{port}", input="hello\n", env=env)
    proc.communicate(timeout=60)
    assert known.returncode == 0, known.stderr
    assert "added" not in known.stderr

    proc, port = _listen(tmp / "impostor.key", port=port)
    changed = _run("connect", f"127.0.0.1:{port}", input="secret\n", env=env)
    _until_refused(proc)  # the client's alert: the impostor goes on listening
    assert changed.returncode == 1
    lines = changed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"IDENTITY OF 127.0.0.1:{port} HAS CHANGED: {store}:1 expects" in lines[0]
    assert changed.stdout == ""
    assert store.read_text() == f"127.0.0.1:{port} ed25519 {_fp(server_fpr)}\n"


def test_connect_without_xdg_config_home_uses_dot_config(keys: tuple[Path, str, str]) -> None:
    tmp, _, _ = keys
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
    proc, port = _listen(tmp / "server.key")
    client = _run("connect", f"127.0.0.1:{port}", input="", env=env)
    proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert (tmp / "home" / ".config" / "pqe2ee" / "known_peers").exists()


def test_no_known_peers_checks_and_records_nothing(keys: tuple[Path, str, str]) -> None:
    tmp, _, _ = keys
    cfg = Path(os.environ["XDG_CONFIG_HOME"])
    proc, port = _listen(tmp / "server.key")
    client = _connect(port, "--no-known-peers")
    proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert "added" not in client.stderr
    assert not (cfg / "pqe2ee").exists()
    both = _run("connect", "127.0.0.1:9", "--no-known-peers", "--known-peers", "x")
    assert both.returncode == 2
    assert "not allowed with" in both.stderr
    assert "not checked" in _run("connect", "--help").stdout


def test_pins_win_over_the_default_store(keys: tuple[Path, str, str]) -> None:
    tmp, server_fpr, _ = keys
    cfg = Path(os.environ["XDG_CONFIG_HOME"])
    proc, port = _listen(tmp / "server.key")
    client = _connect(port, "--peer", server_fpr)
    proc.communicate(timeout=60)
    assert client.returncode == 0, client.stderr
    assert not (cfg / "pqe2ee").exists()


def test_a_store_with_duplicate_names_fails_before_connecting(
    keys: tuple[Path, str, str],
) -> None:
    _, server_fpr, client_fpr = keys
    store = Path(os.environ["XDG_CONFIG_HOME"]) / "pqe2ee" / "known_peers"
    store.parent.mkdir(parents=True)
    store.write_text(f"h:1 ed25519 {_fp(server_fpr)}\nh:1 ed25519 {_fp(client_fpr)}\n")
    out = _run("connect", "127.0.0.1:9")  # nothing listens there: the store fails first
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"pqe2ee: error: {store}:2: h:1 is already on line 1; "
        "one line per name (delete the line you no longer trust)"
    )


# ---------------------------------------------------------------------- identity files
def test_listen_with_a_missing_identity_exits_2_before_binding(tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"
    out = _run("listen", "--port", str(_free_port()), "--identity", str(missing))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pqe2ee: ")
    assert str(missing) in lines[0]
    assert "listening" not in out.stderr
    out = _run("connect", "127.0.0.1:9", "--identity", str(missing), "--no-known-peers")
    assert out.returncode == 2
    assert str(missing) in out.stderr


def test_a_refused_client_whose_stdin_stays_open_exits_with_the_error(
    keys: tuple[Path, str, str],
) -> None:
    """Its stdin thread is blocked in a read when the refusal arrives; the process once
    aborted at exit on the buffered reader's lock (SIGABRT) instead of exiting 1."""
    tmp, server_fpr, _ = keys
    proc, port = _listen(tmp / "server.key", "--require-client-identity")
    client = subprocess.Popen(
        [*PQE2EE, "connect", f"127.0.0.1:{port}", "--peer", server_fpr],
        stdin=subprocess.PIPE,  # never written, never closed
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert client.wait(60) == 1
        assert client.stderr is not None
        assert b"identity refused" in client.stderr.read()
    finally:
        if client.poll() is None:
            client.kill()
        client.communicate()
    _until_refused(proc)
