"""The two HTML reports: ``pqe2ee bench --html`` and ``pqe2ee migrate --html``.

Each is one self-contained page (plots embedded as PNG data URIs, see
:mod:`pqe2ee.bench.report`), built from data only: the CLI decides where it goes.
Both open with what a decision needs (the verdict, four figures), then the plots,
then the assumptions, the machine and every figure measured.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from pqe2ee.bench import netmodel
from pqe2ee.bench.humanize import (
    DASH,
    count,
    data_size,
    duration_ms,
    duration_us,
    number,
    percent,
    ratio,
    signed,
    signed_size,
    text_of,
)
from pqe2ee.bench.inventory import Inventory
from pqe2ee.bench.layout import (
    card,
    docstring_html,
    figure,
    kv_table,
    machine_table,
    page,
    results_table,
    section,
    table,
)
from pqe2ee.bench.migrate import ModeCost, Profile, mosca
from pqe2ee.bench.report import (
    lossy_path,
    modelled_completion,
    mosca_plot,
    plots,
    suite_label,
)
from pqe2ee.bench.results import Report, Row
from pqe2ee.bench.summary import Suite, Summary, summarize

__all__ = ["COST_COLUMNS", "bench_page", "cost_cells", "migration_page", "summary_html"]

#: The columns of the migration cost table, on the terminal and in HTML alike.
COST_COLUMNS = (
    "mode",
    "server CPU ms/hs",
    "cores at peak",
    "extra cores",
    "wire B/hs",
    "GB/day",
    "extra GB/day",
    "packets/flight",
    "latency p50/p95 ms",
    "extra p50/p95 ms",
)


def cost_cells(c: ModeCost) -> list[str]:
    """One mode's row, in :data:`COST_COLUMNS` order, for the terminal and the HTML alike."""
    return [
        c.mode,
        f"{c.server_cpu_ms:.2f}",
        f"{c.cores_at_peak:.2f}",
        f"{c.extra_cores:+.2f}",
        f"{c.wire_bytes}",
        f"{c.gb_per_day:.2f}",
        f"{c.extra_gb_per_day:+.2f}",
        "/".join(map(str, c.packets)),
        f"{c.latency_p50_ms:.0f}/{c.latency_p95_ms:.0f}",
        f"{c.extra_latency_p50_ms:+.0f}/{c.extra_latency_p95_ms:+.0f}",
    ]


# --- the summary ------------------------------------------------------------------------


def _mark(suite: Suite | Any, metric: str, text: str) -> str:
    """``text``, with ``~`` when the suite's figure for ``metric`` was noisy."""
    return text + (" ~" if metric in getattr(suite, "noisy", ()) else "")


def _packets(p: Sequence[int]) -> str:
    return " + ".join(map(str, p)) if p else "n/a"


def _path_words(p: netmodel.PathProfile) -> str:
    return f"RTT {number(p.rtt_ms)} ms, {percent(p.loss)} loss"


def _either(a: Any, b: Any, metric: str, text: str) -> str:
    """``text`` marked noisy when either side's figure for ``metric`` was."""
    noisy = metric in getattr(a, "noisy", ()) or metric in getattr(b, "noisy", ())
    return text + (" ~" if noisy else "")


def _cards(s: Summary) -> list[str]:
    c, h, tls = s.classical, s.hybrid, s.tls
    cards = [
        card(
            "CPU per handshake",
            _either(h, c, "server_cpu_ms", signed(h.cpu_ms - c.cpu_ms, "ms")),
            f"client + server: hybrid {duration_ms(h.cpu_ms)}, classical "
            f"{duration_ms(c.cpu_ms)} ({percent(h.cpu_ms / c.cpu_ms - 1, sign=True)})",
            f"server alone: {_mark(h, 'server_cpu_ms', duration_ms(h.server_cpu_ms))} against "
            f"{_mark(c, 'server_cpu_ms', duration_ms(c.server_cpu_ms))} "
            f"({percent(s.extra_cpu, sign=True)})",
        ),
        card(
            "Bytes on the wire",
            signed_size(h.wire_bytes - c.wire_bytes),
            f"{data_size(h.wire_bytes)} against {data_size(c.wire_bytes)} per handshake "
            f"({ratio(h.wire_bytes / c.wire_bytes)})"
            if c.wire_bytes
            else "",
            f"packets per flight: {_packets(h.packets)} against {_packets(c.packets)}",
        ),
    ]
    if h.latency_us is not None and c.latency_us is not None:
        lines = [
            f"on loopback: {_mark(h, 'latency_us', duration_us(h.latency_us))} against "
            f"{_mark(c, 'latency_us', duration_us(c.latency_us))}"
        ]
        if tls and tls.latency_us is not None:
            lines.append(f"stdlib TLS 1.3: {_mark(tls, 'latency_us', duration_us(tls.latency_us))}")
        if h.completion_mean_ms is not None and c.completion_mean_ms is not None:
            lines.append(
                f"modelled ({_path_words(s.path)}): mean {duration_ms(h.completion_mean_ms)} "
                f"against {duration_ms(c.completion_mean_ms)}"
            )
        big = _either(h, c, "latency_us", signed((h.latency_us - c.latency_us) / 1000, "ms"))
        cards.append(card("Latency", big, *lines))
    if h.capacity_per_core and c.capacity_per_core:
        lines = [
            f"{_mark(h, 'server_capacity_per_core', count(h.capacity_per_core))} against "
            f"{_mark(c, 'server_capacity_per_core', count(c.capacity_per_core))} handshakes/s "
            "per server core on loopback"
        ]
        if tls and tls.capacity_per_core:
            lines.append(
                "stdlib TLS 1.3: "
                f"{_mark(tls, 'server_capacity_per_core', count(tls.capacity_per_core))}/s per core"
            )
        big = percent(h.capacity_per_core / c.capacity_per_core - 1, sign=True)
        cards.append(
            card("Server capacity", _either(h, c, "server_capacity_per_core", big), *lines)
        )
    return cards


def _tls_kem(name: str) -> str:
    """The key exchange in the TLS baseline's name: ``stdlib TLS 1.3 (X25519, ...)``."""
    inside = name.partition("(")[2]
    return inside.split(",")[0].strip(" )") or DASH


def _compare_table(s: Summary) -> str:
    suites = [x for x in (s.classical, s.hybrid, s.pq) if x is not None]
    tls = s.tls
    head = ["", *("post-quantum" if x.mode == "pq" else x.mode for x in suites)]
    if tls:
        head.append("stdlib TLS 1.3")

    def row(label: str, cell: Any, tls_cell: str = "") -> list[str]:
        out = [label, *(cell(x) for x in suites)]
        if tls:
            out.append(tls_cell or DASH)
        return out

    def opt(v: float | None, fmt: Any) -> str:
        return DASH if v is None else fmt(v)

    rows = [
        row("key exchange", lambda x: x.kem, _tls_kem(tls.name) if tls else ""),
        row("client CPU", lambda x: _mark(x, "client_cpu_ms", duration_ms(x.client_cpu_ms))),
        row("server CPU", lambda x: _mark(x, "server_cpu_ms", duration_ms(x.server_cpu_ms))),
        row("bytes on the wire", lambda x: f"{count(x.wire_bytes)} B"),
        row("packets per flight", lambda x: _packets(x.packets)),
        row(
            "loopback latency",
            lambda x: _mark(x, "latency_us", opt(x.latency_us, duration_us)),
            _mark(tls, "latency_us", opt(tls.latency_us, duration_us)) if tls else "",
        ),
        row(
            "server capacity per core",
            lambda x: _mark(
                x, "server_capacity_per_core", opt(x.capacity_per_core, lambda v: f"{count(v)}/s")
            ),
            _mark(
                tls,
                "server_capacity_per_core",
                opt(tls.capacity_per_core, lambda v: f"{count(v)}/s"),
            )
            if tls
            else "",
        ),
        row("modelled completion, mean", lambda x: opt(x.completion_mean_ms, duration_ms)),
        row("modelled completion, p95", lambda x: opt(x.completion_p95_ms, duration_ms)),
    ]
    return table(head, rows, numeric=range(1, len(head)))


def summary_html(s: Summary) -> str:
    """The opening of the bench page: the verdict, four cards, the side-by-side table."""
    parts = [
        f"<p class='verdict {s.grade}' id='verdict'>{_esc(s.verdict)}</p>",
        "<div class='cards'>" + "".join(_cards(s)) + "</div>",
        _compare_table(s),
        "<p class='note'>Suites: "
        + _esc(", ".join(suite_label(x.name) for x in (s.classical, s.hybrid, s.pq) if x))
        + ", mutual authentication; stdlib TLS 1.3 authenticates the server only. "
        + f"Modelled figures: {_esc(_path_words(s.path))}.</p>",
    ]
    if s.noise_note:
        parts.append(f"<p class='note noisy'>{_esc(s.noise_note)}</p>")
    return "".join(parts)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


# --- the shared sections --------------------------------------------------------------


def _modelled_table(
    paths: Sequence[netmodel.PathProfile], sims: list[tuple[Row, list[Any]]]
) -> str:
    import numpy as np

    head = ["suite"]
    for p in paths:
        loss = percent(p.loss)
        head += [f"mean, {loss} loss", f"p95, {loss} loss", f"delayed, {loss} loss"]
    rows = []
    for r, per_path in sims:
        cells = [suite_label(r.name)]
        for times in per_path:
            t = np.asarray(times)
            delayed = float(np.mean(t > t.min() + 1e-9))
            cells += [
                duration_ms(float(t.mean())),
                duration_ms(float(np.percentile(t, 95))),
                percent(delayed),
            ]
        rows.append(cells)
    note = (
        "<p class='note'>Delayed: the share of handshakes that lost a packet and waited for "
        f"its retransmission. Both paths: RTT {number(paths[0].rtt_ms)} ms, MTU "
        f"{paths[0].mtu} B, initial window {paths[0].initcwnd} segments.</p>"
    )
    return table(head, rows, numeric=range(1, len(head)), cls="suites") + note


_SETTING_LABELS = {
    "kem_rounds": "KEM rounds",
    "handshakes_cpu": "in-memory handshakes per suite",
    "handshakes_loopback": "loopback handshakes per suite",
    "auth_kinds": "identity kinds timed",
    "netmodel_runs": "network model runs per suite",
    "stream_mib": "stream data per run, MiB",
    "stream_repeats": "stream runs",
}


def _settings_table(settings: Mapping[str, Any]) -> str:
    pairs = []
    for key, value in settings.items():
        if key == "budget":
            continue
        if key == "path" and isinstance(value, Mapping):
            p = netmodel.PathProfile(**value)
            pairs.append(
                (
                    "network path",
                    f"{_path_words(p)}, MTU {p.mtu} B, initial window {p.initcwnd} segments",
                )
            )
            continue
        pairs.append((_SETTING_LABELS.get(key, key.replace("_", " ")), text_of(value)))
    return kv_table(pairs)


def _measurement_sections(report: Report, *, with_summary: bool) -> list[str]:
    path = netmodel.PathProfile(**report.settings.get("path", {}))
    paths = [path, lossy_path(path)]
    runs = int(report.settings.get("netmodel_runs", 2000))
    sims = (
        modelled_completion(report, paths, runs)
        if report.find("handshake", "flight1_bytes")
        else []
    )
    out = []
    if with_summary:
        try:
            out.append(section("Summary", summary_html(summarize(report)), anchor="summary"))
        except KeyError as exc:
            out.append(section("Summary", f"<p class='note'>{_esc(str(exc.args[0]))}</p>"))
    for plot in plots(report, sims or None):
        extra = ""
        if plot.key == "netmodel" and sims:
            extra = _modelled_table(paths, sims)
        out.append(section(plot.caption, figure(plot), extra, anchor=plot.key))
    out.append(
        section(
            "Network model assumptions",
            docstring_html(netmodel.__doc__ or ""),
            anchor="assumptions",
        )
    )
    out.append(section("Machine and versions", machine_table(report.machine), anchor="machine"))
    out.append(section("Run settings", _settings_table(report.settings), anchor="settings"))
    out.append(
        "<section id='results'><h2>Every measured figure</h2><details><summary>"
        f"{count(len(report.results))} figures</summary>"
        + results_table(report.results)
        + "</details></section>"
    )
    return out


def _subtitle(report: Report) -> str:
    m = report.machine
    bits = [str(m.get("date", "")), str(m.get("cpu", ""))]
    if m.get("cores"):
        bits.append(f"{m['cores']} cores")
    bits.append(f"pqe2ee {m.get('pqe2ee', '')}")
    return " · ".join(b for b in bits if b.strip())


def bench_page(report: Report) -> str:
    """The page of a benchmark run: the summary and verdict, plots, assumptions, machine.

    :param report: the measurements (:func:`pqe2ee.bench.runner.run`).
    :returns: a complete HTML document.
    """
    return page(
        "pqe2ee: what hybrid post-quantum key exchange costs here",
        _subtitle(report),
        _measurement_sections(report, with_summary=True),
    )


# --- the migration page ------------------------------------------------------------------


def _profile_table(p: Profile) -> str:
    pairs = [
        ("peak handshakes per second", number(p.handshakes_per_s)),
        ("bytes per session", data_size(p.bytes_per_session)),
        ("server cores", count(p.cores)),
        ("network path", f"RTT {number(p.rtt_ms)} ms, {percent(p.loss)} loss, MTU {p.mtu} B"),
        ("TCP initial window", f"{p.initcwnd} segments"),
        ("x: years the data must stay secret", number(p.secrecy_years)),
        ("y: years the migration takes", number(p.migration_years)),
        ("z: a quantum computer assumed in", str(p.quantum_year)),
        ("this year", str(p.current_year)),
    ]
    return kv_table(pairs)


def _cost_table(costs: Sequence[ModeCost]) -> str:
    head = (
        "mode",
        "server CPU per handshake",
        "cores at peak",
        "extra cores",
        "bytes per handshake",
        "per day at peak",
        "extra per day",
        "packets per flight",
        "completion median / p95",
        "extra median / p95",
    )
    rows = [
        [
            c.mode,
            duration_ms(c.server_cpu_ms),
            number(c.cores_at_peak),
            signed(c.extra_cores),
            f"{count(c.wire_bytes)} B",
            data_size(c.gb_per_day * 1e9),
            signed_size(c.extra_gb_per_day * 1e9),
            _packets(c.packets),
            f"{duration_ms(c.latency_p50_ms)} / {duration_ms(c.latency_p95_ms)}",
            f"{signed(c.extra_latency_p50_ms, 'ms')} / {signed(c.extra_latency_p95_ms, 'ms')}",
        ]
        for c in costs
    ]
    return table(head, rows, numeric=range(1, 10))


def _migration_cards(profile: Profile, costs: Sequence[ModeCost]) -> str:
    v = mosca(profile)
    hybrid = next(c for c in costs if c.mode == "hybrid")
    need = profile.secrecy_years + profile.migration_years
    left = profile.quantum_year - profile.current_year
    cards = [
        card(
            "Recorded traffic",
            "at risk" if v.at_risk else "not yet at risk",
            f"x + y = {number(need)} years {'>' if v.at_risk else '≤'} z = {left} years",
        ),
        card(
            "Extra server cores",
            signed(hybrid.extra_cores),
            f"hybrid needs {number(hybrid.cores_at_peak)} of {profile.cores} cores at "
            f"{number(profile.handshakes_per_s)} handshakes/s",
        ),
        card(
            "Extra bandwidth",
            signed_size(hybrid.extra_gb_per_day * 1e9) + " a day",
            f"handshakes at the peak rate all day: {data_size(hybrid.gb_per_day * 1e9)} "
            "a day in all",
        ),
        card(
            "Extra latency",
            signed(hybrid.extra_latency_p50_ms, "ms"),
            f"median on the modelled path; p95 {signed(hybrid.extra_latency_p95_ms, 'ms')}",
        ),
    ]
    return "<div class='cards'>" + "".join(cards) + "</div>"


def _inventory_section(inventory: Inventory) -> str:
    lines = inventory.lines()
    prose = [line for line in lines if not line.startswith(("  ", "Migrate in this order"))]
    todo = [e for e in inventory.order() if e.priority != 2]
    order = "".join(f"<li>{_esc(e.target)}: {_esc(e.action)}</li>" for e in todo)
    return section(
        "Your endpoints",
        "".join(f"<p>{_esc(line)}</p>" for line in prose)
        + (f"<p>Migrate in this order:</p><ol>{order}</ol>" if todo else ""),
        anchor="inventory",
    )


def migration_page(
    profile: Profile,
    costs: list[ModeCost],
    reasons: list[str],
    report: Report,
    inventory: Inventory | None = None,
) -> str:
    """The page of a migration evaluation: advice, Mosca's timeline, costs, the measurements.

    :param profile: the service's traffic and risk profile.
    :param costs: :func:`pqe2ee.bench.migrate.evaluate` of it.
    :param reasons: :func:`pqe2ee.bench.migrate.recommend` of it, one line each (the
        first is the recommendation).
    :param report: the measurements the costs came from.
    :param inventory: your endpoints from ``pqe2ee scan --json`` (``migrate --inventory``):
        the share already post-quantum and the order to migrate the rest in.
    :returns: a complete HTML document.
    """
    verdict = mosca(profile)
    grade = "at-risk" if verdict.at_risk else "cheap"
    head, *rest = reasons or [""]
    summary = (
        f"<p class='verdict {grade}' id='verdict'>{_esc(head)}</p>"
        + _migration_cards(profile, costs)
        + "<ul>"
        + "".join(f"<li>{_esc(r)}</li>" for r in rest)
        + "</ul>"
    )
    mplot = mosca_plot(profile)
    body = [
        section("Summary", summary, anchor="summary"),
        section("Mosca's inequality", figure(mplot), anchor="mosca"),
        _inventory_section(inventory) if inventory is not None else "",
        section("Costs by mode", _cost_table(costs), anchor="costs"),
        section("Profile", _profile_table(profile), anchor="profile"),
        section(
            "The measurements behind these costs",
            "<p class='note'>From the benchmark run below; its own summary:</p>",
            summary_html(summarize(report)) if report.find("handshake", "server_cpu_ms") else "",
            anchor="measurements",
        ),
        *_measurement_sections(report, with_summary=False),
    ]
    subtitle = (
        f"{number(profile.handshakes_per_s)} handshakes/s at peak on {profile.cores} cores · "
        + _subtitle(report)
    )
    return page("pqe2ee migration evaluation", subtitle, body)
