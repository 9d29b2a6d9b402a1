"""Without the C core (a pure-Python install): every command still works, ``pqe2ee info``
says which path is active and why, and the slow path is announced once per process.

The core is hidden from a child interpreter with ``sys.modules["pqe2ee._core"] = None``,
which makes its import fail exactly as an install without the extension does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pqe2ee._binding import _load

HIDE_CORE = "import sys; sys.modules['pqe2ee._core'] = None\n"


def _child(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE_CORE + code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def test_the_reason_names_the_build_failure_and_the_fix() -> None:
    reason = _load.missing_reason(ImportError("x"), "no C compiler: `gcc` was not found\n")
    assert reason.startswith(
        "the C core was not built when pqe2ee was installed (no C compiler: `gcc` was not "
        "found); for the fast path: apt-get install gcc libssl-dev, then reinstall pqe2ee"
    )
    assert "pip install --force-reinstall --no-cache-dir pqe2ee" in reason


def test_without_a_note_the_reason_is_the_import_error() -> None:
    reason = _load.missing_reason(ImportError("libcrypto.so.3: cannot open shared object"), None)
    assert "(libcrypto.so.3: cannot open shared object)" in reason
    assert "apt-get install gcc libssl-dev" in reason


def test_info_names_the_c_core_and_its_libcrypto() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pqe2ee", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "data path: C core (pqe2ee._core 0.1.0, OpenSSL " in proc.stdout
    assert "chacha20-poly1305, aes-256-gcm" in proc.stdout


def test_info_says_pure_python_and_why() -> None:
    proc = _child("from pqe2ee.cli import main; sys.exit(main(['info']))")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "data path" in x)
    assert line.startswith("  data path: pure Python (slow): the C core pqe2ee._core cannot ")
    assert "apt-get install gcc libssl-dev" in line
    assert line.endswith("or `make build` in a clone)")  # one line, never wrapped
    assert proc.stderr == ""


def test_age_round_trip_warns_once(tmp_path: Path) -> None:
    code = (
        "from pqe2ee.cli import main\n"
        "assert main(['age', 'keygen', '-o', 'key.txt']) == 0\n"
        "rcp = [l for l in open('key.txt') if l.startswith('# public key: ')][0].split()[-1]\n"
        "open('plain', 'wb').write(b'x' * 300_000)\n"
        "assert main(['age', 'encrypt', '-r', rcp, '-o', 'c.age', 'plain']) == 0\n"
        "assert main(['age', 'decrypt', '-i', 'key.txt', '-o', 'back', 'c.age']) == 0\n"
        "assert open('back', 'rb').read() == b'x' * 300_000\n"
    )
    proc = _child(code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warned = [x for x in proc.stderr.splitlines() if "warning" in x]
    assert len(warned) == 1, proc.stderr
    assert warned[0].startswith(
        "pqe2ee: warning: pqe2ee.hazmat.stream runs on its slow pure-Python"
    )
    assert "apt-get install gcc libssl-dev" in warned[0]
    others = [x for x in proc.stderr.splitlines() if not x.startswith("Public key: ")]
    assert others == warned, proc.stderr  # one line: no source file, no code line


def test_the_stream_api_gives_the_same_bytes_and_warns_once() -> None:
    code = (
        "import warnings\n"
        "from pqe2ee.hazmat import stream\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    ct = stream.encrypt(bytes(32), b'y' * 200_000)\n"
        "    assert stream.decrypt(bytes(32), ct) == b'y' * 200_000\n"
        "print(len(seen), ct.hex()[-64:])\n"
    )
    proc = _child(code)
    assert proc.returncode == 0, proc.stderr
    count, tail = proc.stdout.split()
    assert count == "1"
    from pqe2ee.hazmat import stream

    assert stream.encrypt(bytes(32), b"y" * 200_000).hex()[-64:] == tail


def test_kem_list_needs_no_core() -> None:
    proc = _child("from pqe2ee.cli import main; sys.exit(main(['kem', 'list', '--json']))")
    assert proc.returncode == 0, proc.stderr
    assert '"X25519MLKEM768"' in proc.stdout
