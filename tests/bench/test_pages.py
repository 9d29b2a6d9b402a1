"""The HTML reports: summary figures from the data, text for people, valid self-contained HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from pqe2ee.bench.humanize import count, data_size, duration_ms, number, percent, signed, text_of
from pqe2ee.bench.migrate import Profile, evaluate, recommend
from pqe2ee.bench.results import Report, Row
from pqe2ee.bench.summary import summarize

pytest.importorskip("matplotlib")

from pqe2ee.bench.pages import bench_page, migration_page

TLS = "stdlib TLS 1.3 (X25519, Ed25519 cert)"

#: mode -> (suite, client ms, server ms, c2s, s2c, flight sizes, latency µs, capacity /s)
FIGURES = {
    "classical": ("X25519/ed25519/mutual", 0.5, 0.4, 256, 256, (87, 256, 169), 2000.0, 800.0),
    "hybrid": (
        "X25519MLKEM768/ed25519/mutual",
        0.6,
        0.5,
        1440,
        1344,
        (1271, 1344, 169),
        2500.0,
        640.0,
    ),
    "pq": ("ML-KEM-768/ed25519/mutual", 0.55, 0.45, 1408, 1312, (1239, 1312, 169), 2400.0, 700.0),
}


def synthetic(server_ms: dict[str, float] | None = None, noisy: bool = False) -> Report:
    """A hand-made report with every row the pages read (numbers chosen to check by hand)."""
    report = Report(
        machine={
            "cpu": "Test CPU",
            "cores": 4,
            "python": "3.11.7",
            "backends": {"cryptography": "cryptography 50", "oqs": "unavailable: no liboqs"},
            "load_average_at_start": 0.5,
            "date": "2026-01-01 00:00:00 UTC",
        },
        settings={
            "kem_rounds": 2,
            "auth_kinds": ["ed25519"],
            "netmodel_runs": 200,
            "path": {"rtt_ms": 50.0, "loss": 0.01, "mtu": 1500, "initcwnd": 10},
        },
    )
    for kem, mode in (("X25519", "classical"), ("X25519MLKEM768", "hybrid")):
        for op, us in (("keygen_us", 40.0), ("encaps_us", 1712.4), ("decaps_us", 30.0)):
            report.add(Row("kem", kem, mode, op, us, "us", us * 1.2, 0.02))
    for mode, (name, cli, srv, c2s, s2c, flights, lat, cap) in FIGURES.items():
        srv = (server_ms or {}).get(mode, srv)
        spread = 0.5 if noisy else 0.05
        rows = [
            Row("handshake", name, mode, "client_cpu_ms", cli, "ms", cli * 2, spread),
            Row("handshake", name, mode, "server_cpu_ms", srv, "ms", srv * 2, spread),
            Row("handshake", name, mode, "handshakes_per_s_per_core", 1000 / srv, "1/s"),
            Row("handshake", name, mode, "wire_bytes", c2s + s2c, "B"),
            Row("handshake", name, mode, "wire_bytes_c2s", c2s, "B"),
            Row("handshake", name, mode, "wire_bytes_s2c", s2c, "B"),
        ]
        for i, size in enumerate(flights, start=1):
            rows.append(Row("handshake", name, mode, f"flight{i}_bytes", size, "B"))
            rows.append(Row("handshake", name, mode, f"flight{i}_packets", 1, "packets of 1500 B"))
        rows += [
            Row("handshake", name, mode, "latency_us", lat, "us", lat * 3, 0.05),
            Row("handshake", name, mode, "handshakes_per_s", 1e6 / lat, "1/s"),
            Row("handshake", name, mode, "server_capacity_per_core", cap, "1/s"),
            Row("netmodel", name, mode, "completion_p50_ms", 100.0, "ms"),
            Row("netmodel", name, mode, "completion_p95_ms", 100.0, "ms"),
            Row("netmodel", name, mode, "completion_mean_ms", 140.0, "ms"),
        ]
        for row in rows:
            report.add(row)
    # the ML-DSA-65 suite: flight sizes only, its server flight is 5 packets
    mldsa = "X25519MLKEM768/ml-dsa-65/mutual"
    for metric, value in (
        ("wire_bytes", 13114),
        ("wire_bytes_c2s", 6605),
        ("wire_bytes_s2c", 6509),
    ):
        report.add(Row("handshake", mldsa, "hybrid", metric, value, "B"))
    for i, size in enumerate((1271, 6509, 5334), start=1):
        report.add(Row("handshake", mldsa, "hybrid", f"flight{i}_bytes", size, "B"))
        report.add(Row("handshake", mldsa, "hybrid", f"flight{i}_packets", -(-size // 1448), "p"))
    report.add(Row("handshake", TLS, None, "latency_us", 1800.0, "us", 4000.0, 0.05))
    report.add(Row("handshake", TLS, None, "server_capacity_per_core", 900.0, "1/s"))
    report.add(
        Row("stream", "aes-256-gcm STREAM 1 thread", None, "throughput_mb_s", 1925.06, "MB/s")
    )
    return report


class _Text(HTMLParser):
    """Collects the visible text and checks that every opened tag is closed."""

    VOID = frozenset({"meta", "img", "source", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.stack: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "img":
            self.images.append(str(a.get("src")))
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def parse(page: str) -> _Text:
    parser = _Text()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed tags: {parser.stack}"
    return parser


def assert_for_people(text: str) -> None:
    """No exponents, no Python reprs, no reST markup in what a reader sees."""
    assert not re.search(r"\d[eE][+-]?\d", text), re.findall(r".{20}\d[eE][+-]?\d.{20}", text)
    for bad in ("{", "}", "[", "]", "``", ":mod:", "None", "True", "False", "nan"):
        assert bad not in text, f"{bad!r} in the page text"


def test_humanize() -> None:
    assert number(1712.4) == "1,712"
    assert number(0.0123456) == "0.0123"
    assert number(2.50) == "2.5"
    assert signed(0.1234, "ms") == "+0.12 ms"
    assert signed(-3.0, "%") == "\u22123 %"
    assert signed(0.0, "ms") == "±0 ms"
    assert percent(0.2512, sign=True) == "+25 %"
    assert data_size(2784) == "2.78 kB"
    assert data_size(512) == "512 B"
    assert duration_ms(0.952) == "952 µs"
    assert duration_ms(1100.0) == "1.1 s"
    assert count(1234567) == "1,234,567"
    assert text_of({"a": 1, "b": [1.5, None]}) == "a: 1; b: 1.5, n/a"
    assert "e+" not in number(1.71e15)


def test_summary_figures_come_from_the_rows() -> None:
    s = summarize(synthetic())
    assert s.classical.name == "X25519/ed25519/mutual"
    assert s.hybrid.server_cpu_ms == 0.5
    assert s.extra_cpu == pytest.approx(0.25)  # 0.5 / 0.4 - 1
    assert s.extra_packets == 0
    assert s.tls is not None and s.tls.capacity_per_core == 900.0
    assert s.grade == "cheap"  # 25 % is the edge of cheap, and no extra packet
    assert s.verdict.startswith("Hybrid is cheap here: +0.1 ms server CPU per handshake (+25 %)")
    assert "+2.3 kB on the wire" in s.verdict  # 2784 - 512 bytes
    assert "every flight still fits in one packet" in s.verdict
    assert s.noise_note is None


def test_verdict_follows_the_measurements() -> None:
    affordable = summarize(synthetic({"hybrid": 0.7}))  # +75 %
    assert affordable.grade == "affordable"
    assert "budgeting 75 % more server CPU" in affordable.verdict
    expensive = summarize(synthetic({"hybrid": 1.2}))  # 3x
    assert expensive.grade == "expensive"
    assert "size the server cores" in expensive.verdict
    noisy = summarize(synthetic(noisy=True))
    assert noisy.noise_note is not None and "client CPU" in noisy.noise_note


def test_summary_needs_classical_and_hybrid() -> None:
    report = synthetic()
    report.results = [r for r in report.results if r.mode != "hybrid"]
    with pytest.raises(KeyError, match="no classical or no hybrid"):
        summarize(report)


def test_bench_page_opens_with_the_summary() -> None:
    report = synthetic()
    page = bench_page(report)
    parsed = parse(page)
    text = " ".join(parsed.text)
    assert_for_people(text)
    summary = summarize(report)
    # the verdict, the four cards and the baseline come first, before any plot
    assert text.index(summary.verdict) < text.index("KEM operation costs")
    for figure in ("+0.2 ms", "+2.3 kB", "+0.5 ms", "\u221220 %", "900/s"):
        assert figure in text, figure  # CPU, bytes, latency (2.5 - 2 ms), capacity, TLS
    assert "1,712 µs" not in text and "1.71 ms" in text  # every-figure table: units
    assert "X25519MLKEM768 · ML-DSA-65" in text  # the multi-packet suite is modelled
    assert "5 % loss" in text  # and the lossy path
    assert {"summary", "verdict", "plot-netmodel", "machine"} <= parsed.ids
    assert "Test CPU" in text and "backend oqs" in text and "not available" in text
    assert len(parsed.images) >= 5
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert "http://" not in page and "https://" not in page  # self-contained


def test_migration_page_draws_mosca() -> None:
    report = synthetic()
    profile = Profile(secrecy_years=10, migration_years=3, quantum_year=2035, current_year=2026)
    costs = evaluate(profile, report, runs=50)
    page = migration_page(profile, costs, recommend(profile, costs), report)
    parsed = parse(page)
    text = " ".join(parsed.text)
    assert_for_people(text)
    assert "plot-mosca" in parsed.ids
    mosca = re.search(r"<figure id='plot-mosca'>.*?</figure>", page, re.S)
    assert mosca and "src='data:image/png;base64," in mosca.group(0)
    assert "x + y = 13 years > z = 9 years" in text
    assert "exposed" not in text  # that label is in the plot, the caption says it in words
    assert "could read the last 4 years of it" in text
    assert "--require-pq" in text and "require_pq" not in text
    assert "2035" in text and "2,035" not in text  # years are not counts
