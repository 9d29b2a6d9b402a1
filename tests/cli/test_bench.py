"""``pqe2ee bench`` and ``pqe2ee migrate`` end to end on a tiny budget."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pqe2ee.bench.results import Report
from pqe2ee.bench.runner import Budget, run
from pqe2ee.hazmat.kem import get_kem


@pytest.fixture(scope="module")
def tiny_report() -> Report:
    return run(Budget.tiny())


def test_report_structure(tiny_report: Report) -> None:
    data = json.loads(tiny_report.to_json())
    for key in ("cpu", "cores", "python", "backends", "c_core_libcrypto"):
        assert key in data["machine"]
    rows = data["results"]
    assert {r["group"] for r in rows} >= {"kem", "handshake", "netmodel", "stream"}
    for r in rows:
        assert set(r) >= {"group", "name", "mode", "metric", "value", "unit"}
        assert r["mode"] in ("classical", "hybrid", "pq", None)
    for mode in ("classical", "hybrid", "pq"):
        metrics = {r["metric"] for r in rows if r["group"] == "handshake" and r["mode"] == mode}
        assert {"wire_bytes", "latency_us", "handshakes_per_s"} <= metrics
    assert any(r["mode"] is None and r["metric"] == "handshakes_per_s" for r in rows)  # TLS


def test_wire_bytes_match_kem_sizes(tiny_report: Report) -> None:
    hybrid_ch = tiny_report.value("handshake", "flight1_bytes", "hybrid")
    classical_ch = tiny_report.value("handshake", "flight1_bytes", "classical")
    pq_ch = tiny_report.value("handshake", "flight1_bytes", "pq")
    # the ClientHello carries the share: everything else in it is the same size
    assert hybrid_ch - classical_ch == get_kem("X25519MLKEM768").public_key_size - 32
    assert pq_ch - classical_ch == get_kem("ML-KEM-768").public_key_size - 32
    assert hybrid_ch >= 1216
    hybrid_sf = tiny_report.value("handshake", "flight2_bytes", "hybrid")
    classical_sf = tiny_report.value("handshake", "flight2_bytes", "classical")
    assert hybrid_sf - classical_sf == 1120 - 32


def test_bench_cli_writes_json_and_html(tmp_path: Path) -> None:
    # --quick is the smallest budget the CLI offers; it stays well under a minute
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pqe2ee",
            "bench",
            "--quick",
            "--json",
            str(tmp_path / "b.json"),
            "--html",
            str(tmp_path / "b.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "classical" in out.stdout and "hybrid" in out.stdout
    report = Report.from_json((tmp_path / "b.json").read_text())
    assert report.find("handshake", "latency_us", "hybrid")
    # the terminal gets the report's verdict sentence too, computed from the same rows
    from pqe2ee.bench.summary import summarize

    assert summarize(report).verdict in " ".join(out.stdout.split())
    page = (tmp_path / "b.html").read_text()
    assert page.startswith("<!doctype html>")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) >= 6
    import base64

    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "Network model assumptions" in page

    mig = subprocess.run(
        [
            sys.executable,
            "-m",
            "pqe2ee",
            "migrate",
            "--from-json",
            str(tmp_path / "b.json"),
            "--runs",
            "50",
            "--handshakes-per-s",
            "300",
            "--secrecy-years",
            "20",
            "--html",
            str(tmp_path / "m.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert mig.returncode == 0, mig.stderr
    assert "AT RISK" in mig.stdout
    assert "Recommendation" in mig.stdout
    mpage = (tmp_path / "m.html").read_text()
    assert "Mosca" in mpage and "data:image/png;base64," in mpage


def test_migrate_rejects_bad_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = subprocess.run(
        [sys.executable, "-m", "pqe2ee", "migrate", "--from-json", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "not a pqe2ee bench JSON report" in out.stderr


def test_migrate_with_the_example_profile(tmp_path: Path, tiny_report: Report) -> None:
    report = tmp_path / "r.json"
    report.write_text(tiny_report.to_json())
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pqe2ee",
            "migrate",
            "--from-json",
            str(report),
            "--runs",
            "50",
            "--profile",
            str(Path(__file__).parents[2] / "examples" / "profile.toml"),
            "--cores",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Cost at 800 handshakes/s peak" in out.stdout


@pytest.mark.parametrize("terminal", [True, False])
def test_bench_shows_progress_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    import rich.console

    from pqe2ee.bench import runner
    from pqe2ee.cli import bench as bench_cli

    given: list[object] = []

    def fake_run(budget: object, path: object, progress: object = None) -> str:
        given.append(progress)
        if callable(progress):
            progress("kem")  # the bar must take a step
        return "report"

    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: terminal))
    assert bench_cli._measure(True, None) == "report"  # type: ignore[arg-type]
    assert callable(given[0]) is terminal


def test_migrate_with_an_inventory(tmp_path: Path, tiny_report: Report) -> None:
    report = tmp_path / "r.json"
    report.write_text(tiny_report.to_json())
    scan = tmp_path / "scan.json"
    scan.write_text(
        json.dumps(
            {
                "targets": [
                    {"target": "tls://a:443", "protocol": "tls", "reachable": True,
                     "pq_key_exchange": True, "certificate": {"quantum_vulnerable": True}},
                    {"target": "ssh://b:22", "protocol": "ssh", "reachable": True,
                     "pq_key_exchange": False},
                ]
            }
        )
    )  # fmt: skip
    base = [sys.executable, "-m", "pqe2ee", "migrate", "--from-json", str(report)]
    base += ["--runs", "20", "--inventory", str(scan)]
    out = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "1 of 2 scanned endpoints (50 %) already use post-quantum key exchange" in text
    assert "1. ssh://b:22: enable a hybrid key exchange" in text
    page = tmp_path / "m.html"
    out = subprocess.run([*base, "--html", str(page)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    html_text = page.read_text()
    assert "<h2>Your endpoints</h2>" in html_text
    assert "<li>ssh://b:22: enable a hybrid key exchange" in html_text
    assert "1 of 2 scanned endpoints (50 %)" in html_text
    out = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["inventory"]["pq_ready_share"] == 0.5
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = subprocess.run([*base[:-1], str(bad)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "no 'targets' list" in out.stderr


def test_kem_authentication_rows_and_table(tiny_report: Report) -> None:
    """The hybrid KEM with kem identities is timed too: rows ``KEM/AUTH/mutual`` with the
    usual metrics, one round trip, and a ClientHello larger by exactly the ciphertext to
    the server and the sealed early identity (docs/protocol.md §6.2, §6.3)."""
    from rich.console import Console

    from pqe2ee.cli.bench import auth_table

    kem, ed = "X25519MLKEM768/kem/mutual", "X25519MLKEM768/ed25519/mutual"
    metrics = {r.metric for r in tiny_report.results if r.name == kem}
    assert {"handshakes_per_s", "latency_us", "wire_bytes", "flights"} <= metrics
    assert tiny_report.value("handshake", "flights", "hybrid", kem) == 3
    grown = tiny_report.value("handshake", "flight1_bytes", "hybrid", kem) - tiny_report.value(
        "handshake", "flight1_bytes", "hybrid", ed
    )
    assert grown == 1120 + (1221 + 16)  # X-Wing ciphertext; kem Identity body + tag
    table = auth_table(tiny_report)
    assert table is not None
    console = Console(width=120, record=True)
    console.print(table)
    text = console.export_text()
    assert "kem" in text and "ed25519" in text and "rate per core vs ed25519" in text
