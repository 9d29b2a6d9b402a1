"""``pqe2ee scan`` as a user runs it: targets, files, JSON, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

KEX = ["mlkem768x25519-sha256", "curve25519-sha256", "sntrup761x25519-sha512@openssh.com"]


def _kexinit(kex: list[str]) -> bytes:
    def name_list(names: list[str]) -> bytes:
        raw = ",".join(names).encode()
        return struct.pack(">I", len(raw)) + raw

    payload = bytes([20]) + os.urandom(16) + name_list(kex) + name_list(["ssh-ed25519"])
    payload += name_list(["aes128-ctr"]) * 2 + name_list(["hmac-sha2-256"]) * 2
    payload += name_list(["none"]) * 2 + name_list([]) * 2 + b"\x00" + b"\x00" * 4
    pad = 8 - (5 + len(payload)) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


@pytest.fixture
def fake_ssh() -> Iterator[int]:
    """An SSH server that sends its identification and KEXINIT, then waits."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-FakeSSH_1.0\r\n" + _kexinit(KEX))
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pqe2ee", "scan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_an_ssh_target_and_a_closed_port(tmp_path: Path, fake_ssh: int) -> None:
    closed = _closed_port()
    out = _scan(
        f"ssh://127.0.0.1:{fake_ssh}",
        f"127.0.0.1:{closed}",
        "--json",
        "scan.json",
        "--timeout",
        "5",
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stderr  # one target could not be scanned
    assert "1 of 2 targets could not be scanned" in out.stderr
    doc = json.loads((tmp_path / "scan.json").read_text())
    ssh, tls = doc["targets"]  # in the order given
    assert ssh["target"] == f"ssh://127.0.0.1:{fake_ssh}"
    assert ssh["protocol"] == "ssh" and ssh["reachable"] is True
    assert ssh["pq_key_exchange"] is True
    assert ssh["kex_methods"] == KEX
    assert ssh["host_key_algorithms"] == ["ssh-ed25519"]
    assert tls["protocol"] == "tls" and tls["reachable"] is False
    assert tls["error"]
    assert "post-quantum key exchange offered" in " ".join(out.stdout.split())


def test_targets_from_a_file_with_comments(tmp_path: Path, fake_ssh: int) -> None:
    (tmp_path / "fleet.txt").write_text(
        f"# our bastions\n\nssh://127.0.0.1:{fake_ssh}  # the fake one\n"
    )
    out = _scan("--from-file", "fleet.txt", "--json", "s.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [t["reachable"] for t in json.loads((tmp_path / "s.json").read_text())["targets"]] == [
        True
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no targets"),
        (("ftp://host:21",), "target 'ftp://host:21'"),
        (("host:99999",), "target 'host:99999'"),
        (("--concurrency", "0", "h:1"), "--concurrency"),
        (("--from-file", "missing.txt"), "cannot read --from-file"),
    ],
)
def test_bad_arguments_exit_2_naming_them(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = _scan(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_a_bad_line_in_the_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "fleet.txt").write_text("ssh://a:22\nnot a target at all\n")
    out = _scan("--from-file", "fleet.txt", cwd=tmp_path)
    assert out.returncode == 2
    assert "fleet.txt:2:" in out.stderr


def test_cbom_of_a_scan(tmp_path: Path, fake_ssh: int) -> None:
    out = _scan(f"ssh://127.0.0.1:{fake_ssh}", "--cbom", "cbom.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "cbom.json").read_text())
    assert doc["specVersion"] == "1.6"
    names = {c["name"] for c in doc["components"]}
    assert {"SSH", "mlkem768x25519-sha256", "ssh-ed25519"} <= names


def test_cbom_without_the_scan_extra_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['cyclonedx'] = None\n"
        "from pqe2ee.cli import main\n"
        "sys.exit(main(['scan', '--cbom', 'c.json', 'ssh://127.0.0.1:1']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 2, out.stderr
    assert "pip install 'pqe2ee[scan]'" in out.stderr
    assert not (tmp_path / "c.json").exists()


def test_html_report_of_a_scan(tmp_path: Path, fake_ssh: int) -> None:
    from html.parser import HTMLParser

    closed = _closed_port()
    target = f"ssh://127.0.0.1:{fake_ssh}"
    out = _scan(target, f"ssh://127.0.0.1:{closed}", "--html", "scan.html", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    page = (tmp_path / "scan.html").read_text()
    assert page.startswith("<!doctype html>")
    assert "http://" not in page and "https://" not in page  # self-contained

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    text = Text()
    text.feed(page)
    words = " ".join(" ".join(text.parts).split())
    assert "1 of 1 scanned endpoints" in words
    assert "of 2 targets" in words
    assert f"{target} SSH post-quantum key exchange offered (mlkem768x25519-sha256" in words
    assert "not scanned: connection refused" in words


def test_concurrency_is_capped_by_the_open_file_limit(tmp_path: Path, fake_ssh: int) -> None:
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    out = subprocess.run(
        [sys.executable, "-m", "pqe2ee", "scan", "--concurrency", "500"]
        + [f"ssh://127.0.0.1:{fake_ssh}"] * 3,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        preexec_fn=low_limit,
    )
    assert out.returncode == 0, out.stderr
    assert "--concurrency 500 is more than the open-file limit allows: 136" in out.stderr
