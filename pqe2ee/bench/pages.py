"""The two HTML reports: ``pqe2ee bench --html`` and ``pqe2ee migrate --html``.

Each is one self-contained page (plots embedded as PNG data URIs, see
:mod:`pqe2ee.bench.report`), built from data only: the CLI decides where it goes.
"""

from __future__ import annotations

import html
from dataclasses import fields

from pqe2ee.bench import netmodel
from pqe2ee.bench.migrate import ModeCost, Profile, mosca
from pqe2ee.bench.report import header_row, html_page, plots, results_table_html
from pqe2ee.bench.results import Report

__all__ = ["COST_COLUMNS", "bench_page", "cost_cells", "migration_page"]

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


def bench_page(report: Report) -> str:
    """The page of a benchmark run: its plots, the network model's assumptions, every result.

    :param report: the measurements (:func:`pqe2ee.bench.runner.run`).
    :returns: a complete HTML document.
    """
    sections = [
        (caption, f"<img alt='{html.escape(caption)}' src='{uri}'>")
        for caption, uri in plots(report)
    ]
    sections.append(
        ("Network model assumptions", f"<pre>{html.escape(netmodel.__doc__ or '')}</pre>")
    )
    sections.append(("Every result", results_table_html(report.results)))
    return html_page("pqe2ee: classical vs hybrid vs post-quantum", sections, report.machine)


def migration_page(
    profile: Profile, costs: list[ModeCost], reasons: list[str], report: Report
) -> str:
    """The page of a migration evaluation: profile, Mosca's inequality, costs, advice, plots.

    :param profile: the service's traffic and risk profile.
    :param costs: :func:`pqe2ee.bench.migrate.evaluate` of it.
    :param reasons: :func:`pqe2ee.bench.migrate.recommend` of it, one line each.
    :param report: the measurements the costs came from.
    :returns: a complete HTML document.
    """
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cost_cells(c)) + "</tr>"
        for c in costs
    )
    head = header_row(*COST_COLUMNS)
    table = f"<table>{head}{rows}</table>"
    verdict = mosca(profile)
    profile_rows = "".join(
        f"<tr><th>{f.name}</th><td>{getattr(profile, f.name)}</td></tr>" for f in fields(Profile)
    )
    sections = [
        ("Profile", f"<table>{profile_rows}</table>"),
        ("Mosca's inequality", f"<p class='note'>{html.escape(verdict.text)}</p>"),
        ("Costs by mode", table),
        (
            "Recommendation",
            "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in reasons) + "</ul>",
        ),
        *[(c, f"<img alt='{html.escape(c)}' src='{u}'>") for c, u in plots(report)],
        ("Network model assumptions", f"<pre>{html.escape(netmodel.__doc__ or '')}</pre>"),
    ]
    return html_page("pqe2ee migration evaluation", sections, report.machine)
