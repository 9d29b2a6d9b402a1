"""``pqe2ee age …`` in-process, and interop with the real ``age`` binary (Debian's 1.1.1,
no post-quantum support): files made by each side open on the other, for X25519
recipients, binary and armored, one and several chunks.

``.ci/run`` installs ``age`` when it is missing; where it cannot be installed the
interop tests are skipped with that reason.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pqe2ee import age
from pqe2ee.cli import main

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(
    AGE is None or AGE_KEYGEN is None,
    reason="the age binary is not installed (Debian: apt-get install age; .ci/run does it)",
)


def cli(*argv: str | Path) -> int:
    return main(["age", *map(str, argv)])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "plain"
    path.write_bytes(os.urandom(3 * 65536 + 123))
    return path


def test_keygen_convert_encrypt_decrypt(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for pq in (False, True):
        key = tmp_path / f"key{pq}"
        assert cli("keygen", *(["--pq"] if pq else []), "-o", key) == 0
        lines = key.read_text().splitlines()
        assert lines[0].startswith("# created: ")
        recipient = lines[1].removeprefix("# public key: ")
        assert recipient.startswith("age1pq1" if pq else "age1")
        assert oct(key.stat().st_mode & 0o777) == "0o600"
        assert f"Public key: {recipient}" in capsys.readouterr().err
        assert cli("convert", key) == 0
        assert capsys.readouterr().out == recipient + "\n"
        for armor in ([], ["-a"]):
            enc, dec = tmp_path / "enc", tmp_path / "dec"
            assert cli("encrypt", "-r", recipient, *armor, "-o", enc, data) == 0
            assert cli("decrypt", "-i", key, "-o", dec, enc) == 0
            assert dec.read_bytes() == data.read_bytes()


def test_keygen_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key"
    key.write_text("keep me")
    assert cli("keygen", "-o", key) == 1
    assert key.read_text() == "keep me"
    assert capsys.readouterr().err.count("\n") == 1


def test_passphrase(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "swordfish")
    monkeypatch.setattr("pqe2ee.age.scrypt.DEFAULT_WORK_FACTOR", 10)  # fast, for the test
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    assert cli("encrypt", "-p", "-o", enc, data) == 0
    assert b"-> scrypt " in enc.read_bytes()[:200]
    assert cli("decrypt", "-o", dec, enc) == 0  # no -i: asks for the passphrase
    assert dec.read_bytes() == data.read_bytes()
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "wrong")
    dec.unlink()
    assert cli("decrypt", "-o", dec, enc) == 1
    assert not dec.exists()
    assert "no identity matched" in capsys.readouterr().err


# Every failure gives one line on stderr, a non-zero status and no output file.
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-1], "payload"),
        (lambda b: b.replace(b"-> X25519 ", b"-> X25519 x ", 1), "argument"),
        (lambda b: b[:20] + b"X" + b[21:], "not an age file|unsupported"),
        (lambda b: b.replace(b"\n--- ", b"\n---  ", 1), "base64"),
        (lambda b: b.replace(b"--- ", b"--- A", 1)[:-1], "MAC|base64"),
    ],
)
def test_failures_are_one_line(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str], damage: object, message: str
) -> None:
    ident = age.X25519Identity.generate()
    key = tmp_path / "key"
    key.write_text(f"{ident}\n")
    enc = tmp_path / "enc"
    age.encrypt(data, enc, [ident.recipient()])
    enc.write_bytes(damage(enc.read_bytes()))  # type: ignore[operator]
    out = tmp_path / "out"
    out.write_bytes(b"precious")
    assert cli("decrypt", "-i", key, "-o", out, enc) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("pqe2ee age: error: ")
    assert re.search(message, err), err
    assert out.read_bytes() == b"precious"


def test_usage_errors(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pq = age.HybridIdentity.generate()
    x = age.X25519Identity.generate()
    assert cli("encrypt", "-r", str(pq.recipient()), "-r", str(x.recipient()), data) == 1
    assert "cannot be mixed" in capsys.readouterr().err
    assert cli("encrypt", "-o", tmp_path / "o", data) == 1
    assert "at least one recipient" in capsys.readouterr().err
    assert cli("decrypt", "-i", tmp_path / "missing", data) == 1
    assert "missing" in capsys.readouterr().err
    assert cli("encrypt", "-r", "age1nonsense", data) == 1
    assert capsys.readouterr().err.count("\n") == 1


# --- interop with age 1.1.1 ------------------------------------------------------------


def run(*argv: str | Path) -> bytes:
    return subprocess.run(list(map(str, argv)), check=True, capture_output=True).stdout


@needs_age
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("size", [0, 1000, 5 * 65536 + 7], ids=["empty", "1chunk", "6chunks"])
def test_interop_both_directions(tmp_path: Path, armor: bool, size: int) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(size))
    theirs, ours = tmp_path / "theirs.key", tmp_path / "ours.key"
    run(AGE_KEYGEN, "-o", theirs)
    assert cli("keygen", "-o", ours) == 0
    r_theirs = run(AGE_KEYGEN, "-y", theirs).decode().strip()
    r_ours = ours.read_text().splitlines()[1].removeprefix("# public key: ")
    a = ["-a"] if armor else []

    # pqe2ee encrypts to both keys; age opens it with its key.
    enc = tmp_path / "by-pqe2ee"
    assert cli("encrypt", "-r", r_theirs, "-r", r_ours, *a, "-o", enc, plain) == 0
    assert run(AGE, "-d", "-i", theirs, enc) == plain.read_bytes()

    # age encrypts to both keys; pqe2ee opens it with its key.
    enc2, dec = tmp_path / "by-age", tmp_path / "dec"
    run(AGE, "-e", "-r", r_theirs, "-r", r_ours, *a, "-o", enc2, plain)
    assert cli("decrypt", "-i", ours, "-o", dec, enc2) == 0
    assert dec.read_bytes() == plain.read_bytes()

    # Keys cross over too: age's identity file works in pqe2ee and ours in age.
    assert cli("decrypt", "-i", theirs, "-o", dec, enc) == 0
    assert run(AGE, "-d", "-i", ours, enc2) == plain.read_bytes()


@needs_age
def test_age_refuses_what_we_refuse(tmp_path: Path) -> None:
    """A tampered payload fails in both implementations."""
    ident = age.X25519Identity.generate()
    key = tmp_path / "key"
    key.write_text(f"{ident}\n")
    enc = tmp_path / "enc"
    age.encrypt(io.BytesIO(os.urandom(70000)), enc, [ident.recipient()])
    raw = bytearray(enc.read_bytes())
    raw[-30] ^= 1
    enc.write_bytes(bytes(raw))
    proc = subprocess.run([str(AGE), "-d", "-i", str(key), str(enc)], capture_output=True)
    assert proc.returncode != 0
    assert cli("decrypt", "-i", key, "-o", tmp_path / "out", enc) == 1


def test_pipes_through_the_installed_command(tmp_path: Path) -> None:
    """stdin to stdout, as in ``… | pqe2ee age encrypt -r … | pqe2ee age decrypt -i …``."""
    exe = Path(sys.executable).with_name("pqe2ee")
    ident = age.HybridIdentity.generate()
    key = tmp_path / "key"
    key.write_text(f"{ident}\n")
    data = os.urandom(100_000)
    enc = subprocess.run(
        [exe, "age", "encrypt", "-r", str(ident.recipient()), "-a"],
        input=data, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert enc.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    dec = subprocess.run(
        [exe, "age", "decrypt", "-i", key], input=enc, capture_output=True, check=True
    ).stdout
    assert dec == data
    bad = subprocess.run(
        [exe, "age", "decrypt", "-i", key], input=enc[:-80] + enc[-40:], capture_output=True
    )
    assert bad.returncode == 1
    assert bad.stdout == b""
    assert bad.stderr.count(b"\n") == 1


def test_progress_reader_counts_every_byte() -> None:
    from pqe2ee.cli.age import _Progress

    seen: list[int] = []
    reader = io.BufferedReader(_Progress(io.BytesIO(b"x" * 1000), seen.append), 64)
    assert reader.read() == b"x" * 1000
    assert sum(seen) == 1000


def test_progress_bar_on_a_terminal(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Big input and stderr on a terminal: a progress bar; otherwise stderr stays quiet."""
    ident = age.X25519Identity.generate()
    enc = tmp_path / "enc"
    assert cli("encrypt", "-r", str(ident.recipient()), "-o", enc, data) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setattr("pqe2ee.cli.age.PROGRESS_MIN", 1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli("encrypt", "-r", str(ident.recipient()), "-o", enc, data) == 0
    assert "encrypting" in capsys.readouterr().err
    with enc.open("rb") as f:
        assert age.AgeReader(f, [ident]).read() == data.read_bytes()


def test_recipients_file_and_identity_as_recipient(tmp_path: Path, data: Path) -> None:
    a, b, c = (age.HybridIdentity.generate() for _ in range(3))
    rfile = tmp_path / "recipients.txt"
    rfile.write_text(f"# team\n{a.recipient()}\n\n{b.recipient()}\n")
    key_c = tmp_path / "c.key"
    key_c.write_text(f"# created: now\n{c}\n")
    enc = tmp_path / "enc"
    assert cli("encrypt", "-R", rfile, "-i", key_c, "-o", enc, data) == 0
    for ident in (a, b, c):
        key = tmp_path / "k"
        key.write_text(f"{ident}\n")
        out = tmp_path / "out"
        assert cli("decrypt", "-i", key, "-o", out, enc) == 0
        assert out.read_bytes() == data.read_bytes()
