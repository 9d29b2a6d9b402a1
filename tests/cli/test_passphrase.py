"""Passphrases of identity files as a person meets them: a real prompt on a terminal (a
pty), a clear failure without one, and ``keygen --change-passphrase``."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pqe2ee.exceptions import InvalidTag
from pqe2ee.handshake import AuthKind, Identity
from pqe2ee.trust import (
    change_passphrase,
    is_protected,
    load_identity,
    save_identity,
    save_public_identity,
)

PQE2EE = [sys.executable, "-m", "pqe2ee"]
NO_ENV = {k: v for k, v in os.environ.items() if k != "PQE2EE_PASSPHRASE"}


class Terminal:
    """``pqe2ee ARGS`` on a pseudo-terminal: what it writes, and typing into it."""

    def __init__(self, *args: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal and stdio
            os.execve(sys.executable, [*PQE2EE, *args], NO_ENV)
        self.pid, self.fd, self.seen, self.pos = pid, fd, b"", 0

    def expect(self, text: str, within: float = 60) -> str:
        """Read until ``text`` appears after what earlier calls matched (or fail after
        ``within`` seconds of silence); returns everything seen so far."""
        want = text.encode()
        while want not in self.seen[self.pos :]:
            ready, _, _ = select.select([self.fd], [], [], within)
            assert ready, f"no {text!r} in {self.seen!r}"
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the child is gone
                chunk = b""
            assert chunk, f"ended without {text!r}: {self.seen!r}"
            self.seen += chunk
        self.pos = self.seen.index(want, self.pos) + len(want)
        return self.seen.decode(errors="replace")

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def wait(self) -> int:
        """The exit status, once everything it wrote has been read."""
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGTERM)
        self.wait()


def _run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*PQE2EE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=NO_ENV,
        **kw,
    )


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Identity]:
    """An identity sealed under "right horse", with its .pub (the cheapest scrypt cost)."""
    tmp = tmp_path_factory.mktemp("pass")
    ident = Identity.generate(AuthKind.ED25519)
    save_identity(ident, tmp / "id.key", passphrase="right horse", log_n=10)
    save_public_identity(ident.public(), tmp / "id.key.pub")
    return tmp / "id.key", ident


def test_fingerprint_asks_on_a_terminal_and_allows_a_retry(
    protected: tuple[Path, Identity],
) -> None:
    path, ident = protected
    term = Terminal("fingerprint", str(path))
    term.expect(f"Enter passphrase for {path}: ")
    term.type("wrong")
    term.expect("Wrong passphrase, try again.")
    term.expect(f"Enter passphrase for {path}: ")
    term.type("right horse")
    out = term.expect(ident.public().fingerprint_hex())
    assert term.wait() == 0
    assert "right horse" not in out  # not echoed


def test_three_wrong_passphrases_fail_with_one_line(protected: tuple[Path, Identity]) -> None:
    path, _ = protected
    term = Terminal("fingerprint", str(path))
    for _ in range(3):
        term.expect(f"Enter passphrase for {path}: ")
        term.type("wrong")
    term.expect("pqe2ee: error: ")
    assert term.wait() == 1
    assert term.seen.count(b"Enter passphrase") == 3
    assert "wrong passphrase (3 tries)" in term.seen.decode()


def test_listen_asks_for_the_passphrase_on_a_terminal(protected: tuple[Path, Identity]) -> None:
    path, _ = protected
    term = Terminal("listen", "--port", "0", "--identity", str(path))
    term.expect(f"Enter passphrase for {path}: ")
    term.type("right horse")
    term.expect("pqe2ee: listening on 127.0.0.1:")
    term.kill()


@pytest.mark.parametrize(
    "command",
    [
        ["fingerprint", "{key}"],
        ["connect", "127.0.0.1:9", "--identity", "{key}", "--no-known-peers"],
        ["listen", "--port", "0", "--identity", "{key}"],
        ["tunnel", "server", "--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9",
         "--identity", "{key}", "--allow", "00" * 32],
        ["tunnel", "client", "--listen", "127.0.0.1:0", "--connect", "127.0.0.1:9",
         "--identity", "{key}", "--peer", "00" * 32],
    ],
    ids=["fingerprint", "connect", "listen", "tunnel-server", "tunnel-client"],
)  # fmt: skip
def test_without_a_terminal_nothing_is_asked_and_the_options_are_named(
    protected: tuple[Path, Identity], command: list[str]
) -> None:
    path, _ = protected
    out = _run(*(arg.replace("{key}", str(path)) for arg in command))
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert "passphrase-protected" in out.stderr
    assert "--passphrase-file FILE" in out.stderr and "PQE2EE_PASSPHRASE" in out.stderr
    assert "Enter passphrase" not in out.stderr


def test_a_passphrase_file_or_the_environment_opens_it_without_asking(
    protected: tuple[Path, Identity],
) -> None:
    path, ident = protected
    (path.parent / "pw").write_text("right horse\n")
    out = _run("fingerprint", str(path), "--passphrase-file", str(path.parent / "pw"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 1)[1].strip() == ident.public().fingerprint_hex()
    env = {**NO_ENV, "PQE2EE_PASSPHRASE": "right horse"}
    out = subprocess.run(
        [*PQE2EE, "fingerprint", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    out = _run("fingerprint", str(path), "--passphrase-file", str(path.parent / "nope"))
    assert out.returncode == 2 and "cannot read --passphrase-file" in out.stderr


# --------------------------------------------------------------- change the passphrase


def _copy(protected: tuple[Path, Identity], tmp_path: Path) -> Path:
    key = tmp_path / "id.key"
    key.write_bytes(protected[0].read_bytes())
    key.chmod(0o600)
    return key


def test_change_passphrase_from_files(protected: tuple[Path, Identity], tmp_path: Path) -> None:
    key, ident = _copy(protected, tmp_path), protected[1]
    (tmp_path / "old").write_text("right horse\n")
    (tmp_path / "new").write_text("battery staple\n")
    out = _run(
        "keygen", "--change-passphrase", str(key),
        "--passphrase-file", str(tmp_path / "old"),
        "--new-passphrase-file", str(tmp_path / "new"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "passphrase changed" in out.stderr
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert load_identity(key, passphrase="battery staple").public() == ident.public()
    with pytest.raises(InvalidTag):
        load_identity(key, passphrase="right horse")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_wrong_old_passphrase_changes_nothing(
    protected: tuple[Path, Identity], tmp_path: Path
) -> None:
    key = _copy(protected, tmp_path)
    before = key.read_bytes()
    (tmp_path / "old").write_text("not it\n")
    (tmp_path / "new").write_text("battery staple\n")
    out = _run(
        "keygen", "--change-passphrase", str(key),
        "--passphrase-file", str(tmp_path / "old"),
        "--new-passphrase-file", str(tmp_path / "new"),
    )  # fmt: skip
    assert out.returncode == 1
    assert "wrong passphrase" in out.stderr and out.stderr.count("\n") == 1
    assert key.read_bytes() == before


def test_change_passphrase_on_a_terminal_and_remove_it(
    protected: tuple[Path, Identity], tmp_path: Path
) -> None:
    key, ident = _copy(protected, tmp_path), protected[1]
    term = Terminal("keygen", "--change-passphrase", str(key))
    term.expect(f"Enter passphrase for {key}: ")
    term.type("right horse")
    term.expect("Enter new passphrase")
    term.type("")
    term.expect("Enter the same passphrase again: ")
    term.type("")
    term.expect("passphrase removed")
    assert term.wait() == 0
    assert not is_protected(key)
    assert load_identity(key).public() == ident.public()
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_new_passphrases_that_differ_change_nothing(
    protected: tuple[Path, Identity], tmp_path: Path
) -> None:
    key = _copy(protected, tmp_path)
    before = key.read_bytes()
    term = Terminal("keygen", "--change-passphrase", str(key))
    term.expect("Enter passphrase for")
    term.type("right horse")
    term.expect("Enter new passphrase")
    term.type("one")
    term.expect("again: ")
    term.type("two")
    term.expect("do not match")
    assert term.wait() == 2
    assert key.read_bytes() == before


def test_change_passphrase_without_a_terminal_needs_the_new_passphrase_file(
    protected: tuple[Path, Identity], tmp_path: Path
) -> None:
    key = _copy(protected, tmp_path)
    (tmp_path / "old").write_text("right horse\n")
    out = _run(
        "keygen", "--change-passphrase", str(key), "--passphrase-file", str(tmp_path / "old")
    )
    assert out.returncode == 2
    assert "--new-passphrase-file FILE" in out.stderr


def test_change_passphrase_in_the_library(tmp_path: Path) -> None:
    ident = Identity.generate(AuthKind.ED25519)
    path = tmp_path / "k"
    save_identity(ident, path, log_n=10)
    assert not is_protected(path)
    change_passphrase(path, None, "sesame", log_n=10)
    assert is_protected(path)
    with pytest.raises(InvalidTag):
        change_passphrase(path, "wrong", None)
    assert is_protected(path)
    change_passphrase(path, "sesame", None)
    assert load_identity(path).public() == ident.public()
