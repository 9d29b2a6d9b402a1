"""The ``pqe2ee`` command as a user runs it."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from pqe2ee.cli import main
from pqe2ee.hazmat.kem import kem_names


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pqe2ee", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kem_list_shows_every_kem() -> None:
    out = _run("kem", "list")
    assert out.returncode == 0, out.stderr
    for name in kem_names():
        assert name in out.stdout
    assert "0x11EC" in out.stdout
    assert "1216" in out.stdout


def test_kem_list_json() -> None:
    out = _run("kem", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert set(rows) == set(kem_names())
    assert rows["X-Wing"]["available"] is True
    assert rows["X-Wing"]["ciphertext_size"] == 1120
    assert rows["X25519MLKEM768"]["tls_group"] == 0x11EC


def test_demo_round_trip() -> None:
    out = _run("demo")
    assert out.returncode == 0, out.stderr
    assert "Both sides hold the same 64-byte secret: yes" in out.stdout


def test_info() -> None:
    out = _run("info")
    assert out.returncode == 0, out.stderr
    assert "backend cryptography: cryptography" in out.stdout
    assert "data path: C core (pqe2ee._core " in out.stdout


def test_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kem", "list", "--backend", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown backend 'nope'" in err
    assert "Traceback" not in err


_LOADED_AFTER = """
import sys
from pqe2ee.cli import main
status = main(sys.argv[1:])
heavy = ("rich", "asyncio", "numpy", "pqe2ee.io", "pqe2ee.bench", "pqe2ee.handshake")
print(" ".join(m for m in heavy if m in sys.modules))
sys.exit(status)
"""


def test_age_command_loads_only_its_own_code(tmp_path: pathlib.Path) -> None:
    # `pqe2ee age encrypt` is timed against age, start-up included: it must not pay for
    # the session, tunnel and benchmark code or rich.
    key = tmp_path / "key.txt"
    assert main(["age", "keygen", "-o", str(key)]) == 0
    recipient = next(
        line.split()[-1] for line in key.read_text().splitlines() if "public key" in line
    )
    src = tmp_path / "in.bin"
    src.write_bytes(b"hello")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOADED_AFTER,
            "age",
            "encrypt",
            "-r",
            recipient,
            "-o",
            str(tmp_path / "out.age"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
    assert (tmp_path / "out.age").read_bytes().startswith(b"age-encryption.org/v1\n")


def test_help_lists_every_command() -> None:
    out = _run("--help")
    assert out.returncode == 0, out.stderr
    for command in ("kem", "age", "tunnel", "bench", "migrate", "listen", "keygen"):
        assert command in out.stdout
