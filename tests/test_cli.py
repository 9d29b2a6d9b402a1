"""The ``pqe2ee`` command as a user runs it."""

from __future__ import annotations

import json
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
    assert "C core: built" in out.stdout


def test_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kem", "list", "--backend", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown backend 'nope'" in err
    assert "Traceback" not in err
