"""The plots of the HTML reports (matplotlib, embedded as base64 PNG data URIs).

Each plot is drawn twice: wide for a desktop page and narrow (taller, stacked panels,
larger type) for a phone; the page lets the browser pick with ``<picture>``.  Every bar
is horizontal so long suite names stay readable at either width, and every label goes
through :mod:`pqe2ee.bench.humanize`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pqe2ee._extras import require
from pqe2ee.bench import netmodel
from pqe2ee.bench.humanize import count, data_size, duration_ms, duration_us, number, percent
from pqe2ee.bench.migrate import Profile
from pqe2ee.bench.results import Report, Row

__all__ = [
    "MODE_COLORS",
    "Plot",
    "figure_png",
    "lossy_path",
    "modelled_completion",
    "mosca_plot",
    "plots",
    "require_plots",
    "suite_label",
]

MODE_COLORS = {"classical": "#7f7f7f", "hybrid": "#1f77b4", "pq": "#2ca02c", None: "#d62728"}
AUTH_LABELS = {"ed25519": "Ed25519", "ml-dsa-65": "ML-DSA-65", "hybrid": "Ed25519+ML-DSA-65"}
WIDE, NARROW = 10.0, 4.2  # figure widths, inches (at 144 dpi: 1440 and 605 pixels)


@dataclass(frozen=True)
class Plot:
    """One plot of a page: caption, a sentence on how to read it, both renderings."""

    caption: str
    note: str
    wide: str
    narrow: str
    key: str = ""


def require_plots() -> None:
    """Check that the plots can be drawn (before a long measurement whose page needs them).

    :raises ~pqe2ee.exceptions.MissingExtra: matplotlib is not installed (the ``plots``
        extra).
    """
    _plt()


def _plt(narrow: bool = False) -> Any:
    matplotlib = require("matplotlib", extra="plots", needed_for="for the plots of the HTML report")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 12.5 if narrow else 10,
            "axes.titlesize": "medium",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "svg.fonttype": "none",
        }
    )
    return plt


def figure_png(fig: Any) -> str:
    """A matplotlib figure as a base64 PNG data URI (and the figure closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=144, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def suite_label(name: str, narrow: bool = False) -> str:
    """A suite's row name (``KEM/auth/who``) as a label: ``X25519MLKEM768 · ML-DSA-65``."""
    parts = name.split("/")
    if len(parts) != 3:
        return name.replace(" (", "\n(") if narrow else name
    kem, auth = parts[0], AUTH_LABELS.get(parts[1], parts[1])
    return f"{kem}\n{auth}" if narrow else f"{kem} · {auth}"


def _draw(draw: Callable[[bool], Any]) -> tuple[str, str]:
    return figure_png(draw(False)), figure_png(draw(True))


def _row_labels(ax: Any, labels: Sequence[str], narrow: bool) -> None:
    """Bar labels: on the axis when wide; above each bar when narrow, so the bars get
    the whole width of a phone."""
    ys = list(range(len(labels)))
    if not narrow:
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        return
    ax.set_yticks([])
    ax.set_ylim(len(labels) - 0.5, -0.9)
    for y, label in zip(ys, labels, strict=True):
        ax.text(0, y - 0.32, label, ha="left", va="bottom", fontsize="small")


def _hbars(
    ax: Any,
    labels: Sequence[str],
    values: Sequence[float],
    colors: Sequence[str],
    texts: Sequence[str],
    narrow: bool,
) -> None:
    ys = range(len(labels))
    ax.barh(list(ys), values, color=colors, height=0.5 if narrow else 0.6)
    _row_labels(ax, labels, narrow)
    top = max(values, default=1) or 1
    for y, v, t in zip(ys, values, texts, strict=True):
        ax.text(v + top * 0.01, y, t, va="center", fontsize="small")
    ax.set_xlim(0, top * 1.35)
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v)))
    ax.grid(axis="y", visible=False)


def _height(n: int, narrow: bool, per: float = 0.45) -> float:
    return max(2.2, 0.9 + n * (per * (1.9 if narrow else 1.0)))


def _kem_plot(report: Report) -> Plot:
    ops = ("keygen_us", "encaps_us", "decaps_us")
    kems = list(dict.fromkeys(r.name for r in report.results if r.group == "kem"))

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        fig, ax = plt.subplots(
            figsize=(NARROW if narrow else WIDE, _height(len(kems), narrow, 0.6))
        )
        h = 0.26
        for i, op in enumerate(ops):
            values = [report.value("kem", op, name=k) for k in kems]
            ax.barh([y + (i - 1) * h for y in range(len(kems))], values, h, label=op[:-3])
        ax.set_yticks(range(len(kems)), kems)
        ax.invert_yaxis()
        ax.set_xlabel("µs per operation (median)")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncol=3, fontsize="small", frameon=False)
        ax.grid(axis="y", visible=False)
        return fig

    wide, narrow = _draw(draw)
    return Plot(
        "KEM operation costs",
        "Each key exchange's three operations, timed interleaved so the machine's noise "
        "hits all of them alike. A handshake runs one of each.",
        wide,
        narrow,
        "kem",
    )


def _handshake_cpu_plot(report: Report) -> Plot:
    names = [r.name for r in report.find("handshake", "server_cpu_ms")]
    modes = [r.mode for r in report.find("handshake", "server_cpu_ms")]
    client = [report.value("handshake", "client_cpu_ms", name=n) for n in names]
    server = [report.value("handshake", "server_cpu_ms", name=n) for n in names]

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        fig, ax = plt.subplots(figsize=(NARROW if narrow else WIDE, _height(len(names), narrow)))
        ys = list(range(len(names)))
        colors = [MODE_COLORS.get(m, "#999") for m in modes]
        h = 0.5 if narrow else 0.6
        ax.barh(ys, client, h, color=colors, alpha=0.55, label="client")
        ax.barh(ys, server, h, left=client, color=colors, label="server")
        _row_labels(ax, [suite_label(n) for n in names], narrow)
        top = max(c + s for c, s in zip(client, server, strict=True))
        for y, c, s in zip(ys, client, server, strict=True):
            ax.text(
                c + s + top * 0.01,
                y,
                f"{duration_ms(c + s)}\n{count(1000 / s)}/s per core",
                va="center",
                fontsize="small",
            )
        ax.set_xlim(0, top * 1.45)
        ax.set_xlabel(
            "CPU ms per handshake"
            if narrow
            else "CPU ms per handshake (median): client (light) + server (dark)"
        )
        ax.grid(axis="y", visible=False)
        return fig

    wide, narrow = _draw(draw)
    return Plot(
        "CPU per handshake",
        "Measured in memory, both sides in this process: client work light, server work "
        "dark; the figure at the end is how many handshakes one server core completes per "
        "second.",
        wide,
        narrow,
        "cpu",
    )


def _packets(report: Report, name: str) -> list[int]:
    return [
        int(r.value)
        for r in report.results
        if r.group == "handshake" and r.name == name and r.metric.endswith("_packets")
    ]


def _wire_plot(report: Report) -> Plot:
    rows = report.find("handshake", "wire_bytes_c2s")
    names = [r.name for r in rows]
    c2s = [r.value for r in rows]
    s2c = [report.value("handshake", "wire_bytes_s2c", name=n) for n in names]

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        fig, ax = plt.subplots(figsize=(NARROW if narrow else WIDE, _height(len(names), narrow)))
        ys = list(range(len(names)))
        h = 0.5 if narrow else 0.6
        ax.barh(ys, c2s, h, color="#9ecae1", label="client → server")
        ax.barh(ys, s2c, h, left=c2s, color="#3182bd", label="server → client")
        _row_labels(ax, [suite_label(n) for n in names], narrow)
        top = max(a + b for a, b in zip(c2s, s2c, strict=True))
        for y, n, a, b in zip(ys, names, c2s, s2c, strict=True):
            packets = _packets(report, n)
            ax.text(
                a + b + top * 0.01,
                y,
                f"{data_size(a + b)}\n{' + '.join(map(str, packets))} packets",
                va="center",
                fontsize="small",
            )
        ax.set_xlim(0, top * 1.4)
        ax.set_xlabel("bytes per handshake")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: number(v)))
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncol=2, fontsize="small", frameon=False)
        ax.grid(axis="y", visible=False)
        return fig

    wide, narrow = _draw(draw)
    return Plot(
        "Bytes on the wire",
        "Every handshake byte, per direction, and the 1500-byte packets each flight needs "
        "(ClientHello + server flight + client Finished). Post-quantum signatures, not "
        "key exchange, are what push a flight past one packet.",
        wide,
        narrow,
        "wire",
    )


def _latency_plot(report: Report) -> Plot:
    rows = report.find("handshake", "latency_us")

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        fig, ax = plt.subplots(figsize=(NARROW if narrow else WIDE, _height(len(rows), narrow)))
        _hbars(
            ax,
            [suite_label(r.name) for r in rows],
            [r.value / 1000 for r in rows],
            [MODE_COLORS.get(r.mode, "#999") for r in rows],
            [
                duration_us(r.value) + ("" if r.p99 is None else f" (p99 {duration_us(r.p99)})")
                for r in rows
            ],
            narrow,
        )
        ax.set_xlabel(
            "ms to authenticated" if narrow else "ms from connect to authenticated (median)"
        )
        return fig

    wide, narrow = _draw(draw)
    return Plot(
        "Handshake latency on loopback",
        "Sequential connections to a server in another process on this machine, connect "
        "to authenticated; red is the Python standard library's TLS 1.3 measured alike.",
        wide,
        narrow,
        "latency",
    )


def lossy_path(path: netmodel.PathProfile) -> netmodel.PathProfile:
    """The second path of the network model plot: the same with 5 % loss (twice it, if more)."""
    loss = 0.05 if path.loss < 0.05 else min(2 * path.loss, (1 + path.loss) / 2)
    return netmodel.PathProfile(path.rtt_ms, loss, path.mtu, path.initcwnd)


def _modelled_suites(report: Report) -> list[Row]:
    """The suites the network model compares: one per mode (the first measured) and the
    hybrid one with ML-DSA-65 identities, whose server flight needs several packets."""
    chosen: dict[str, Row] = {}
    for r in report.find("handshake", "flight1_bytes"):
        if r.mode is None:
            continue
        if r.mode not in chosen:
            chosen[r.mode] = r
        elif r.mode == "hybrid" and r.name.split("/")[1:2] == ["ml-dsa-65"]:
            chosen.setdefault("hybrid/ml-dsa-65", r)
    return list(chosen.values())


def modelled_completion(
    report: Report, paths: Sequence[netmodel.PathProfile], runs: int
) -> list[tuple[Row, list[Any]]]:
    """For each modelled suite, its simulated completion times (ms) on each path."""
    out = []
    for r in _modelled_suites(report):
        flights = [int(r.value), int(report.value("handshake", "flight2_bytes", name=r.name))]
        out.append((r, [netmodel.simulate(flights, p, runs=runs) for p in paths]))
    return out


def _path_title(p: netmodel.PathProfile) -> str:
    return f"RTT {number(p.rtt_ms)} ms, {percent(p.loss)} loss"


SUITE_COLORS = ["#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _netmodel_plot(
    report: Report, paths: Sequence[netmodel.PathProfile], sims: list[tuple[Row, list[Any]]]
) -> Plot:
    import numpy as np

    styles = ["-", "--", ":", "-", "-.", "--"]

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        shape = (len(paths), 1) if narrow else (1, len(paths))
        size = (NARROW, 3.3 * len(paths) + 1.6) if narrow else (WIDE, 4.6)
        fig, axes = plt.subplots(*shape, figsize=size, squeeze=False, sharey=True)
        for k, (ax, path) in enumerate(zip(axes.flat, paths, strict=True)):
            for i, (row, times) in enumerate(sims):
                t = np.sort(times[k])
                waiting = 1.0 - np.arange(1, len(t) + 1) / len(t)
                keep = waiting > 0
                ax.step(
                    t[keep],
                    waiting[keep],
                    where="post",
                    color=SUITE_COLORS[i % len(SUITE_COLORS)],
                    linestyle=styles[i % len(styles)],
                    linewidth=2.2 if i == len(sims) - 1 else 1.6,
                    label=suite_label(row.name),
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(_path_title(path))
            ax.set_xlabel("ms since connect (log)")
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: number(v)))
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: percent(v)))
        axes.flat[0].set_ylabel("handshakes still waiting")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.tight_layout(rect=(0, 0.16 if narrow else 0.12, 1, 1))
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=1 if narrow else 2,
            fontsize="small",
            frameon=False,
        )
        return fig

    wide, narrow = _draw(draw)
    return Plot(
        "Modelled handshake completion",
        "Share of handshakes not yet complete after a given time, simulated from the "
        "measured flight sizes (assumptions below). A line further up means more "
        "handshakes wait for a retransmission: bigger flights expose more packets to loss.",
        wide,
        narrow,
        "netmodel",
    )


def _stream_plot(report: Report) -> Plot:
    rows = report.find("stream", "throughput_mb_s")

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        fig, ax = plt.subplots(figsize=(NARROW if narrow else WIDE, _height(len(rows), narrow)))
        _hbars(
            ax,
            [r.name for r in rows],
            [r.value for r in rows],
            ["#9467bd" if "raw" in r.name else "#1f77b4" for r in rows],
            [f"{number(r.value)} MB/s" for r in rows],
            narrow,
        )
        ax.set_xlabel("MB/s in memory (median)")
        return fig

    wide, narrow = _draw(draw)
    return Plot(
        "Bulk encryption",
        "The STREAM construction against its raw AEAD (purple) on one thread and on every core.",
        wide,
        narrow,
        "stream",
    )


def plots(report: Report, sims: list[tuple[Row, list[Any]]] | None = None) -> list[Plot]:
    """Every plot the report's data supports, in page order.

    :param sims: :func:`modelled_completion` on the report's path and :func:`lossy_path`,
        if the caller already ran it (the page shows its figures in a table too).
    """
    out = []
    if report.find("kem", "keygen_us"):
        out.append(_kem_plot(report))
    if report.find("handshake", "server_cpu_ms"):
        out.append(_handshake_cpu_plot(report))
        out.append(_wire_plot(report))
        out.append(_latency_plot(report))
        path = netmodel.PathProfile(**report.settings.get("path", {}))
        paths = [path, lossy_path(path)]
        if sims is None:
            runs = int(report.settings.get("netmodel_runs", 2000))
            sims = modelled_completion(report, paths, runs)
        out.append(_netmodel_plot(report, paths, sims))
    if report.find("stream", "throughput_mb_s"):
        out.append(_stream_plot(report))
    return out


def _year(y: float) -> str:
    return f"{y:.0f}" if y == int(y) else f"{y:.1f}"


def mosca_plot(profile: Profile) -> Plot:
    """Mosca's inequality as a timeline: migration (y), then the data's shelf life (x),
    against the year a quantum computer is assumed (z)."""
    now = profile.current_year
    y_end = now + profile.migration_years
    x_end = y_end + profile.secrecy_years
    z = profile.quantum_year

    def draw(narrow: bool) -> Any:
        plt = _plt(narrow)
        fig, ax = plt.subplots(figsize=(NARROW if narrow else WIDE, 3.0 if narrow else 2.6))
        ax.barh(0, profile.migration_years, left=now, color="#fdae6b", height=0.5)
        ax.barh(0, profile.secrecy_years, left=y_end, color="#6baed6", height=0.5)
        if x_end > z:
            ax.barh(
                0, x_end - z, left=z, color="none", hatch="///", edgecolor="#d62728", height=0.5
            )
        ax.axvline(z, color="#d62728", linewidth=2)
        ax.text(z, 0.5, f"quantum computer {z} ", color="#d62728", ha="right", va="bottom")
        if x_end > z:
            ax.text(
                (z + x_end) / 2,
                -0.3,
                f"exposed {number(x_end - z)} yr",
                color="#d62728",
                ha="center",
                va="top",
                fontsize="small",
            )
        if profile.migration_years:
            ax.text(
                now + profile.migration_years / 2,
                0,
                ("y:\n" if narrow else "y: migrate\n") + f"{number(profile.migration_years)} yr",
                ha="center",
                va="center",
                fontsize="small",
            )
        if profile.secrecy_years:
            ax.text(
                y_end + profile.secrecy_years / 2,
                0,
                ("x: secret\n" if narrow else "x: keep secret\n")
                + f"{number(profile.secrecy_years)} yr",
                ha="center",
                va="center",
                fontsize="small",
            )
        ax.set_yticks([])
        ax.set_ylim(-0.75, 1.0)
        lo, hi = now - 0.5, max(x_end, z) + 1
        ax.set_xlim(lo, hi)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if narrow else 10, integer=True))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0f}"))
        ax.set_xlabel("year")
        ax.grid(axis="y", visible=False)
        ax.spines["left"].set_visible(False)
        return fig

    wide, narrow = _draw(draw)
    exposed = x_end - z
    note = (
        f"Start migrating in {now} and it ends in {_year(y_end)}; data sent then must stay "
        f"secret until {_year(x_end)}. "
        + (
            f"A quantum computer in {z} could read the last {number(exposed)} years of it "
            "(hatched): x + y > z."
            if exposed > 0
            else f"That is {number(-exposed)} years before the assumed quantum computer "
            f"({z}): x + y ≤ z."
        )
    )
    return Plot("Mosca's timeline", note, wide, narrow, "mosca")
