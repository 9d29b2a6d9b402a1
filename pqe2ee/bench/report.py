"""Plots (matplotlib, embedded PNG) and the HTML pieces the pages of :mod:`.pages` use."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

from pqe2ee._extras import require
from pqe2ee.bench import netmodel
from pqe2ee.bench.results import NOISY, Report, Row

__all__ = [
    "figure_png",
    "header_row",
    "html_page",
    "plots",
    "require_plots",
    "results_table_html",
]

MODE_COLORS = {"classical": "#8c8c8c", "hybrid": "#1f77b4", "pq": "#2ca02c", None: "#d62728"}


def require_plots() -> None:
    """Check that the plots can be drawn (before a long measurement whose page needs them).

    :raises ~pqe2ee.exceptions.MissingExtra: matplotlib is not installed (the ``plots``
        extra).
    """
    _plt()


def _plt() -> Any:
    matplotlib = require("matplotlib", extra="plots", needed_for="for the plots of the HTML report")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_png(fig: Any) -> str:
    """A matplotlib figure as a base64 PNG data URI (and the figure closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _bars(title: str, ylabel: str, rows: Sequence[Row], label: str = "name") -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    names = [getattr(r, label) or r.name for r in rows]
    ax.bar(names, [r.value for r in rows], color=[MODE_COLORS.get(r.mode, "#999") for r in rows])
    for i, r in enumerate(rows):
        ax.annotate(f"{r.value:.3g}", (i, r.value), ha="center", va="bottom", fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    return figure_png(fig)


def _kem_plot(report: Report) -> str:
    plt = _plt()
    ops = ("keygen_us", "encaps_us", "decaps_us")
    kems = list(dict.fromkeys(r.name for r in report.results if r.group == "kem"))
    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.27
    for i, op in enumerate(ops):
        values = [report.value("kem", op, name=k) for k in kems]
        ax.bar([x + (i - 1) * width for x in range(len(kems))], values, width, label=op[:-3])
    ax.set_xticks(range(len(kems)), kems, rotation=20, fontsize=8)
    ax.set_ylabel("µs per operation (median)")
    ax.set_title("KEM operation costs")
    ax.legend(fontsize=8)
    return figure_png(fig)


def _handshake_cpu_plot(report: Report) -> str:
    plt = _plt()
    names = [r.name for r in report.find("handshake", "server_cpu_ms")]
    client = [report.value("handshake", "client_cpu_ms", name=n) for n in names]
    server = [report.value("handshake", "server_cpu_ms", name=n) for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.bar(names, client, label="client")
    ax.bar(names, server, bottom=client, label="server")
    for i, n in enumerate(names):
        rate = report.value("handshake", "handshakes_per_s_per_core", name=n)
        ax.annotate(
            f"{rate:.0f} hs/s/core",
            (i, client[i] + server[i]),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel("CPU ms per handshake (median)")
    ax.set_title("Handshake CPU per side (server figure: handshakes per second per core)")
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.legend(fontsize=8)
    return figure_png(fig)


def _wire_plot(report: Report) -> str:
    plt = _plt()
    names = [r.name for r in report.find("handshake", "wire_bytes_c2s")]
    c2s = [report.value("handshake", "wire_bytes_c2s", name=n) for n in names]
    s2c = [report.value("handshake", "wire_bytes_s2c", name=n) for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], c2s, 0.4, label="client → server")
    ax.bar([x + 0.2 for x in xs], s2c, 0.4, label="server → client")
    for i, n in enumerate(names):
        packets = [
            int(r.value) for r in report.results if r.name == n and r.metric.endswith("_packets")
        ]
        ax.annotate(
            f"packets/flight: {packets}",
            (i, max(c2s[i], s2c[i])),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(list(xs), names, rotation=20, fontsize=8)
    ax.set_ylabel("bytes per handshake")
    ax.set_title("Bytes on the wire (and 1500-byte packets per flight)")
    ax.legend(fontsize=8)
    return figure_png(fig)


def _netmodel_plot(report: Report) -> str:
    plt = _plt()
    path = netmodel.PathProfile(**report.settings.get("path", {}))
    runs = int(report.settings.get("netmodel_runs", 2000))
    fig, ax = plt.subplots(figsize=(7, 3.4))
    styles = ["-", "--", ":", "-."]
    for i, r in enumerate(report.find("handshake", "flight1_bytes")):
        if r.mode is None:
            continue
        f2 = report.value("handshake", "flight2_bytes", name=r.name)
        times = netmodel.simulate([int(r.value), int(f2)], path, runs=runs)
        ax.hist(
            times,
            bins=80,
            histtype="step",
            cumulative=True,
            density=True,
            label=f"{r.name} ({int(r.value)}+{int(f2)} B)",
            color=MODE_COLORS.get(r.mode),
            linestyle=styles[i % len(styles)],
            linewidth=1.4,
        )
    ax.set_xscale("log")
    ax.set_xlabel("handshake completion time, ms (log)")
    ax.set_ylabel("fraction of handshakes")
    ax.set_title(
        f"Modelled path: RTT {path.rtt_ms:g} ms, loss {path.loss:.1%}, "
        f"MTU {path.mtu}, initcwnd {path.initcwnd}"
    )
    ax.legend(fontsize=8)
    return figure_png(fig)


def plots(report: Report) -> list[tuple[str, str]]:
    """(caption, data URI) for every plot the report's data supports."""
    out = [("KEM operation costs", _kem_plot(report))]
    if report.find("handshake", "server_cpu_ms"):
        out.append(("Handshake CPU per side", _handshake_cpu_plot(report)))
        out.append(("Bytes on the wire", _wire_plot(report)))
        lat = report.find("handshake", "latency_us")
        out.append(
            (
                "Handshake latency on loopback (median)",
                _bars("Handshake latency on loopback", "µs (median)", lat),
            )
        )
        out.append(("Modelled handshake completion", _netmodel_plot(report)))
    stream = report.find("stream", "throughput_mb_s")
    if stream:
        out.append(
            (
                "Stream throughput",
                _bars("Stream throughput against the cipher's raw speed", "MB/s", stream),
            )
        )
    return out


def header_row(*columns: str) -> str:
    """An HTML table header row."""
    return "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"


def results_table_html(rows: Sequence[Row]) -> str:
    """The rows as an HTML table; noisy figures flagged."""
    head = header_row("group", "name", "mode", "metric", "value", "unit", "p99", "spread")
    body = []
    for r in rows:
        noisy = r.spread is not None and r.spread > NOISY
        spread = "" if r.spread is None else f"{r.spread:.0%}" + (" ⚠ noisy" if noisy else "")
        p99 = "" if r.p99 is None else f"{r.p99:.4g}"
        body.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    r.group,
                    r.name,
                    r.mode or "",
                    r.metric,
                    f"{r.value:.4g}",
                    r.unit,
                    p99,
                    spread,
                )
            )
            + "</tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.note{background:#fffbe6;border:1px solid #e6d68a;padding:.5em 1em}code{background:#f4f4f4}
"""


def html_page(title: str, sections: Sequence[tuple[str, str]], machine: dict[str, Any]) -> str:
    """A complete, self-contained HTML document."""
    mach = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in machine.items()
    )
    parts = [f"<h2>{html.escape(h)}</h2>{body}" for h, body in sections]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<h2>Machine</h2><table>{mach}</table>{''.join(parts)}</body></html>"
    )
