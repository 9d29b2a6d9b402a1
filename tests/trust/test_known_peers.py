"""The known-peers file: format rules, locking, atomic replacement, server-side keying,
and how a trust-store failure ends a connection."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pqe2ee.exceptions import (
    IdentityRejected,
    InvalidInput,
    KnownPeerMismatch,
    RemoteProtocolError,
    TrustStoreError,
)
from pqe2ee.handshake import Config, Connection, PublicIdentity, State
from pqe2ee.handshake.connection import Alert
from pqe2ee.trust import KnownPeers
from tests.handshake.util import identity, pair, run


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _line(name: str, who: PublicIdentity) -> str:
    return f"{name} {who.kind.value} {who.fingerprint().hex()}\n"


# ---------------------------------------------------------------------- format
def test_a_new_store_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "config" / "pqe2ee" / "known_peers"
    old = os.umask(0o022)
    try:
        assert KnownPeers(path).check("host:1", identity("ed25519", 0).public()) == "added"
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir() if p.name != ".known_peers.lock"] == [
        "known_peers"
    ]


def test_a_record_keeps_the_file_0600_and_its_comments(tmp_path: Path) -> None:
    path = tmp_path / "known"
    a, b = identity("ed25519", 0).public(), identity("ed25519", 1).public()
    path.write_text("# my servers\n" + _line("a:1", a).rstrip("\n"))  # no final newline
    path.chmod(0o644)
    assert KnownPeers(path).check("b:1", b) == "added"
    assert path.read_text() == "# my servers\n" + _line("a:1", a) + _line("b:1", b)
    assert _mode(path) == 0o600


def test_two_lines_for_one_name_are_refused_on_load(tmp_path: Path) -> None:
    path = tmp_path / "known"
    a, b = identity("ed25519", 0).public(), identity("ed25519", 1).public()
    path.write_text(_line("host:1", a) + "# comment\n" + _line("host:1", b))
    with pytest.raises(InvalidInput, match=r"known:3: host:1 is already on line 1"):
        KnownPeers(path).load()
    # in a handshake the store is unusable: a trust-store failure, not an acceptance
    with pytest.raises(TrustStoreError, match=r"known:3: host:1 is already on line 1"):
        KnownPeers(path).check("host:1", a)


@pytest.mark.parametrize("name", ["", "a b", "a\tb", "host#1:22", "a\nb", "a\x00b"])
def test_names_with_whitespace_hash_or_control_characters_are_refused(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / "known"
    with pytest.raises(ValueError, match="known-peers name"):
        KnownPeers(path).check(name, identity("ed25519", 0).public())
    with pytest.raises(ValueError, match="known-peers name"):
        KnownPeers(path).server_check(name)
    assert not path.exists()


def test_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "known"
    fp = identity("ed25519", 0).public().fingerprint().hex()
    for bad, why in [
        ("host:1 ed25519\n", "want 'NAME KIND FINGERPRINT'"),
        (f"host:1 rsa {fp}\n", "'rsa' is not a valid AuthKind"),
        ("host:1 ed25519 abcd\n", "not a fingerprint"),
    ]:
        path.write_text("# ok\n" + bad)
        with pytest.raises(InvalidInput, match=rf"known:2: {why}"):
            KnownPeers(path).load()


def test_default_store_location() -> None:
    from pqe2ee.trust import default_known_peers_path

    assert default_known_peers_path({"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/h"}) == Path(
        "/x/cfg/pqe2ee/known_peers"
    )
    assert default_known_peers_path({"HOME": "/h"}) == Path("/h/.config/pqe2ee/known_peers")
    # a relative XDG_CONFIG_HOME is ignored, as the XDG specification says
    assert default_known_peers_path({"XDG_CONFIG_HOME": "cfg", "HOME": "/h"}) == Path(
        "/h/.config/pqe2ee/known_peers"
    )


# ---------------------------------------------------------------------- locking
def test_the_file_is_replaced_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "known"
    real_replace = os.replace
    seen: list[bool] = []

    def replace_checking_the_lock(src: str, dst: str | os.PathLike[str]) -> None:
        fd = os.open(tmp_path / ".known.lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append(False)  # nobody held it
        except BlockingIOError:
            seen.append(True)
        finally:
            os.close(fd)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_checking_the_lock)
    KnownPeers(path).check("host:1", identity("ed25519", 0).public())
    KnownPeers(path).check_client(identity("ed25519", 1).public(), accept_new=True)
    assert seen == [True, True]


def test_concurrent_first_uses_of_one_name_record_exactly_one_key(tmp_path: Path) -> None:
    path = tmp_path / "known"
    keys = [identity("ed25519", n).public() for n in range(8)]
    start = threading.Barrier(len(keys))
    results: list[str | BaseException] = [""] * len(keys)

    def first_use(n: int) -> None:
        start.wait()
        try:
            results[n] = KnownPeers(path).check("host:1", keys[n])
        except KnownPeerMismatch as exc:
            results[n] = exc

    threads = [threading.Thread(target=first_use, args=(n,)) for n in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("added") == 1
    assert sum(isinstance(r, KnownPeerMismatch) for r in results) == len(keys) - 1
    winner = keys[results.index("added")]
    assert path.read_text() == _line("host:1", winner)


_WRITER = """
import sys
from pqe2ee.handshake import AuthKind, Identity
from pqe2ee.trust import KnownPeers
peers = KnownPeers(sys.argv[1])
for i in range(int(sys.argv[3])):
    peers.check(f"{sys.argv[2]}-{i}", Identity.generate(AuthKind.ED25519).public())
"""


def test_concurrent_processes_keep_every_line(tmp_path: Path) -> None:
    path = tmp_path / "known"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"p{n}", "10"])
        for n in range(4)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    names = set(KnownPeers(path).entries())
    assert names == {f"p{n}-{i}" for n in range(4) for i in range(10)}
    assert _mode(path) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_symlinked_store_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "known_peers"
    real.parent.mkdir()
    real.write_text("")
    link = tmp_path / "known"
    link.symlink_to(real)
    KnownPeers(link).check("host:1", identity("ed25519", 0).public())
    assert link.is_symlink()
    assert "host:1" in real.read_text()


# ---------------------------------------------------------------------- write failures
def test_an_oserror_while_writing_is_a_trust_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(src: str, dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    path = tmp_path / "known"
    with pytest.raises(TrustStoreError, match=r"cannot record host:1 in .*known: No space") as info:
        KnownPeers(path).check("host:1", identity("ed25519", 0).public())
    assert isinstance(info.value.__cause__, OSError)
    assert not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".known.lock"]  # no temp file left


def test_a_failed_record_in_a_handshake_kills_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_disk(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_disk)
    client, server = pair(Config(check_peer=KnownPeers(tmp_path / "known").server_check("h:1")))
    out = run(client, server)  # a raw OSError would escape run() here
    assert type(out.client_error) is TrustStoreError
    assert "Input/output error" in str(out.client_error)
    assert not (tmp_path / "known").exists()
    assert out.client_error.alert == Alert.INTERNAL_ERROR
    assert not out.client_done
    assert client.state is State.ERROR
    with pytest.raises(TrustStoreError):
        client.next_event()  # dead, and says so again
    # the server hears an internal-error alert, not a finished handshake
    assert isinstance(out.server_error, RemoteProtocolError)
    assert "internal error" in str(out.server_error)
    assert not out.server_done


def test_an_unusable_store_path_fails_the_handshake_cleanly(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    store = KnownPeers(tmp_path / "not-a-folder" / "known")
    client, server = pair(Config(check_peer=store.server_check("h:1")))
    out = run(client, server)
    assert type(out.client_error) is TrustStoreError
    assert "not-a-folder" in str(out.client_error)
    assert client.state is State.ERROR


def test_a_store_made_malformed_meanwhile_fails_the_handshake(tmp_path: Path) -> None:
    path = tmp_path / "known"
    path.write_text("this is not a line\n")
    out = run(*pair(Config(check_peer=KnownPeers(path).server_check("h:1"))))
    assert type(out.client_error) is TrustStoreError
    assert "known:1" in str(out.client_error)


# ---------------------------------------------------------------------- server side
def test_clients_are_keyed_by_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "clients"
    added: list[str] = []
    peers = KnownPeers(path, on_record=lambda store, name, who: added.append(name))
    first, second = identity("ed25519", 0).public(), identity("hybrid", 0).public()
    assert peers.check_client(first) == "added"
    assert added == [f"client-{first.fingerprint().hex()[:16]}"]
    assert peers.check_client(first) == "known"
    with pytest.raises(KnownPeerMismatch, match=r"UNKNOWN CLIENT IDENTITY: .*clients:1 expects"):
        peers.check_client(second)
    assert len(peers.entries()) == 1  # the refusal recorded nothing
    assert peers.check_client(second, accept_new=True) == "added"
    assert peers.check_client(second) == "known"
    assert len(added) == 2


def test_a_client_on_any_line_is_known_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "clients"  # the tunnel server's allow-list format
    path.write_text(_line("alice", identity("ed25519", 0).public()))
    assert KnownPeers(path).check_client(identity("ed25519", 0).public()) == "known"


def _server(path: Path, *, accept_new: bool = False) -> Config:
    return Config(
        identity=identity("ed25519", 0),
        check_peer=KnownPeers(path).client_check(accept_new=accept_new),
        require_client_identity=True,
    )


def test_a_server_records_its_first_client_and_refuses_others(tmp_path: Path) -> None:
    path = tmp_path / "clients"
    anonymous = run(*pair(Config(), _server(path)))
    assert isinstance(anonymous.server_error, IdentityRejected)
    assert not path.exists()

    first = run(*pair(Config(identity=identity("ed25519", 1)), _server(path)))
    assert first.server_done and first.client_done
    fp = identity("ed25519", 1).public().fingerprint()
    assert KnownPeers(path).entries() == {f"client-{fp.hex()[:16]}": fp}
    again = run(*pair(Config(identity=identity("ed25519", 1)), _server(path)))
    assert again.server_done

    other = run(*pair(Config(identity=identity("ed25519", 2)), _server(path)))
    assert isinstance(other.server_error, KnownPeerMismatch)
    assert "clients:1 expects" in str(other.server_error)
    assert isinstance(other.client_error, IdentityRejected)
    assert not other.server_done

    allowed = run(*pair(Config(identity=identity("ed25519", 2)), _server(path, accept_new=True)))
    assert allowed.server_done
    assert len(KnownPeers(path).entries()) == 2


def test_a_server_with_a_peer_check_must_ask_for_the_client_identity(tmp_path: Path) -> None:
    check = KnownPeers(tmp_path / "k").client_check()
    config = Config(identity=identity("ed25519", 0), check_peer=check)
    with pytest.raises(ValueError, match="require_client_identity"):
        Connection(config, "server")


# ---------------------------------------------------------------------- first use
def test_known_peers_trust_on_first_use_then_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "known_peers"
    peers = KnownPeers(path)
    a, b = identity("ed25519", 0).public(), identity("ed25519", 1).public()
    assert peers.check("host:1", a) == "added"
    assert peers.check("host:1", a) == "known"
    assert peers.check("host:2", b) == "added"
    with pytest.raises(KnownPeerMismatch, match=r"known_peers:1 expects") as info:
        peers.check("host:1", b)
    assert "HAS CHANGED" in str(info.value)
    assert path.read_text().count("\n") == 2  # nothing replaced or added by the mismatch


def test_known_peers_in_a_handshake(tmp_path: Path) -> None:
    peers = KnownPeers(tmp_path / "known")
    client_config = Config(check_peer=peers.server_check("example:443"))
    out = run(*pair(client_config, Config(identity=identity("ed25519", 0))))
    assert out.client_done
    # the same name now presents a different server identity: refused, loudly
    out = run(*pair(client_config, Config(identity=identity("ed25519", 1))))
    assert isinstance(out.client_error, KnownPeerMismatch)
    assert not out.client_done
