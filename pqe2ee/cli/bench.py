"""``pqe2ee bench`` and ``pqe2ee migrate``: the comparison a person runs, and what it means."""

from __future__ import annotations

import argparse
import json
import os
import tomllib
from dataclasses import asdict, fields, replace
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pqe2ee.bench.migrate import MODES, ModeCost, Profile, evaluate, load_profile, recommend
from pqe2ee.bench.netmodel import PathProfile
from pqe2ee.bench.pages import COST_COLUMNS, bench_page, cost_cells, migration_page
from pqe2ee.bench.report import require_plots
from pqe2ee.bench.results import NOISY, Report
from pqe2ee.bench.summary import summarize
from pqe2ee.cli.output import info, is_quiet

__all__ = ["register"]


def _measure(quick: bool, path: PathProfile) -> Report:
    # the measuring code (numpy, the session stack) loads only when a measurement runs
    from pqe2ee.bench.runner import Budget, run

    budget = Budget.quick() if quick else Budget.full()
    err = Console(stderr=True)
    if not err.is_terminal or is_quiet():  # piped, logged or -q: no bar, no noise
        return run(budget, path)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("measuring", total=None)
        return run(
            budget, path, progress=lambda step: bar.update(task, description=f"measuring: {step}")
        )


def _metric_row(
    table: Table,
    report: Report,
    columns: list[tuple[str, str]],
    label: str,
    metric: str,
    fmt: str,
    group: str = "handshake",
) -> None:
    """One row of ``metric`` for each ``(mode, name)`` column: "-" where it was not
    measured, "~" after a figure whose spread between runs was over :data:`NOISY`."""
    cells = []
    for mode, name in columns:
        found = report.find(group, metric, mode, name)
        if not found:
            cells.append("-")
            continue
        noisy = found[0].spread is not None and found[0].spread > NOISY
        cells.append(fmt.format(found[0].value) + (" ~" if noisy else ""))
    table.add_row(label, *cells)


def summary_table(report: Report) -> Table:
    """Classical, hybrid and pq side by side: the table to act on."""
    table = Table(
        title="Key exchange modes, measured here (median; mutual auth, Ed25519)",
        title_justify="left",
    )
    for col in ("", *MODES):
        table.add_column(col, justify="left" if not col else "right")
    names = {m: report.find("handshake", "server_cpu_ms", m)[0].name for m in MODES}
    columns = [(m, names[m]) for m in MODES]

    def row(label: str, metric: str, fmt: str, group: str = "handshake") -> None:
        _metric_row(table, report, columns, label, metric, fmt, group)

    table.add_row("KEM", *[names[m].split("/")[0] for m in MODES])
    row("client CPU per handshake", "client_cpu_ms", "{:.2f} ms")
    row("server CPU per handshake", "server_cpu_ms", "{:.2f} ms")
    row("handshakes/s per server core", "handshakes_per_s_per_core", "{:.0f}")
    row("bytes client → server", "wire_bytes_c2s", "{:.0f}")
    row("bytes server → client", "wire_bytes_s2c", "{:.0f}")
    row("packets: ClientHello", "flight1_packets", "{:.0f}")
    row("packets: server flight", "flight2_packets", "{:.0f}")
    row("loopback latency", "latency_us", "{:.0f} µs")
    row("loopback handshakes/s", "handshakes_per_s", "{:.0f}")
    row("server capacity, hs/s per core", "server_capacity_per_core", "{:.0f}")
    row("modelled completion p50", "completion_p50_ms", "{:.0f} ms", "netmodel")
    row("modelled completion p95", "completion_p95_ms", "{:.0f} ms", "netmodel")
    tls_rate = [r for r in report.find("handshake", "handshakes_per_s") if r.mode is None]
    tls_cap = [r for r in report.find("handshake", "server_capacity_per_core") if r.mode is None]
    if tls_rate and tls_cap:
        mutual = ""
        if len(tls_rate) > 1 and len(tls_cap) > 1:
            mutual = (
                f"; with mutual certificates {tls_rate[1].value:.0f} handshakes/s, "
                f"{tls_cap[1].value:.0f}/s per core"
            )
        table.caption = (
            f"stdlib TLS 1.3 (server auth only) on the same loopback: {tls_rate[0].value:.0f} "
            f"handshakes/s, server capacity {tls_cap[0].value:.0f}/s per core{mutual}. "
            f"~ = noisy (spread > {NOISY:.0%})."
        )
    return table


def auth_table(report: Report) -> Table | None:
    """The hybrid KEM with each identity kind measured (``KEM/AUTH/mutual`` rows),
    Ed25519 first: what post-quantum authentication costs, by signature or by KEM."""
    rows = [
        r
        for r in report.find("handshake", "server_cpu_ms", "hybrid")
        if r.name.startswith("X25519MLKEM768/")
    ]
    if len(rows) < 2:
        return None
    names = [r.name for r in rows]
    table = Table(title="Authentication with X25519MLKEM768 (median; mutual)", title_justify="left")
    table.add_column("")
    for name in names:
        table.add_column(name.split("/")[1], justify="right")

    def value(metric: str, name: str) -> float | None:
        found = report.find("handshake", metric, "hybrid", name)
        return found[0].value if found else None

    def row(label: str, metric: str, fmt: str) -> None:
        _metric_row(table, report, [("hybrid", n) for n in names], label, metric, fmt)

    row("client CPU per handshake", "client_cpu_ms", "{:.2f} ms")
    row("server CPU per handshake", "server_cpu_ms", "{:.2f} ms")
    row("handshakes/s per server core", "handshakes_per_s_per_core", "{:.0f}")
    row("bytes on the wire", "wire_bytes", "{:.0f}")
    row("flights", "flights", "{:.0f}")
    row("loopback handshakes/s", "handshakes_per_s", "{:.0f}")
    base = value("handshakes_per_s_per_core", names[0])
    if base:
        cells = []
        for name in names:
            v = value("handshakes_per_s_per_core", name)
            cells.append("-" if v is None else f"{v / base:.2f}x")
        table.add_row(f"rate per core vs {names[0].split('/')[1]}", *cells)
    return table


def stream_table(report: Report) -> Table:
    """Bulk encryption against the cipher's raw speed."""
    table = Table(title="Bulk encryption in memory (median)", title_justify="left")
    table.add_column("what")
    table.add_column("MB/s", justify="right")
    table.add_column("vs raw AEAD", justify="right")
    for r in report.find("stream", "throughput_mb_s"):
        ratio = report.value("stream", "ratio_to_raw", name=r.name)
        noisy = r.spread is not None and r.spread > NOISY
        table.add_row(r.name, f"{r.value:.0f}" + (" ~" if noisy else ""), f"{ratio:.2f}x")
    return table


def padding_table(report: Report) -> Table:
    """What each record padding policy costs: bytes on the wire per payload byte, and the
    bulk speed of the C path against no padding (docs/protocol.md §10)."""
    from pqe2ee.bench.padding import LARGE_SIZES, POLICIES

    table = Table(
        title="Record padding: wire bytes per payload byte, and bulk speed",
        title_justify="left",
    )
    table.add_column("policy")
    table.add_column("msgs 1..2000 B", justify="right")
    for n in LARGE_SIZES:
        table.add_column(f"{n} B", justify="right")
    table.add_column("bulk MB/s", justify="right")
    table.add_column("vs none", justify="right")
    for policy in POLICIES:
        if not report.find("padding", "wire_per_payload_1_2000", name=policy):
            continue
        cells = [f"{report.value('padding', 'wire_per_payload_1_2000', name=policy):.3f}"]
        cells += [
            f"{report.value('padding', f'wire_per_payload_{n}', name=policy):.4f}"
            for n in LARGE_SIZES
        ]
        bulk = report.find("padding", "bulk_mb_s", name=policy)
        ratio = report.find("padding", "bulk_vs_none", name=policy)
        cells += [f"{bulk[0].value:.0f}" if bulk else "-"]
        cells += [f"{ratio[0].value:.2f}x" if ratio else "-"]
        table.add_row(policy, *cells)
    return table


def _write(path: str, text: str, console: Console) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    info(f"wrote {target.resolve()}")


def _path_from(args: argparse.Namespace) -> PathProfile:
    return PathProfile(args.rtt_ms, args.loss, args.mtu, args.initcwnd)


def _cmd_bench(args: argparse.Namespace, console: Console) -> int:
    if args.html:
        require_plots()  # before the measurement, not a minute into it
    report = _measure(args.quick, _path_from(args))
    console.print(summary_table(report))
    auth = auth_table(report)
    if auth is not None:
        console.print(auth)
    console.print(stream_table(report))
    console.print(padding_table(report))
    try:
        summary = summarize(report)
    except KeyError:  # a run without both a classical and a hybrid handshake
        summary = None
    if summary is not None:
        # the same sentence the HTML report opens with, and its noise warning
        console.print(summary.verdict, markup=False, highlight=False)
        if summary.noise_note:
            console.print(summary.noise_note, markup=False, highlight=False)
    if args.json:
        _write(args.json, report.to_json(), console)
    if args.html:
        _write(args.html, bench_page(report), console)
    return 0


def _profile(args: argparse.Namespace) -> Profile:
    overrides = {f.name: getattr(args, f.name, None) for f in fields(Profile)}
    if args.profile:
        profile = load_profile(args.profile, **overrides)
        with open(args.profile, "rb") as f:
            in_file = "cores" in tomllib.load(f)
    else:
        profile = Profile(**{k: v for k, v in overrides.items() if v is not None})
        in_file = False
    if args.cores is None and not in_file:  # this machine's, as the help says
        profile = replace(profile, cores=os.cpu_count() or 1)
    return profile


def _cost_table(costs: list[ModeCost], profile: Profile) -> Table:
    title = f"Cost at {profile.handshakes_per_s:g} handshakes/s peak"
    table = Table(title=title, title_justify="left")
    for col in COST_COLUMNS:
        table.add_column(col, justify="right")
    for c in costs:
        table.add_row(*cost_cells(c))
    return table


def _cmd_migrate(args: argparse.Namespace, console: Console) -> int:
    if args.html:
        require_plots()
    profile = _profile(args)
    inventory = None
    if args.inventory:
        from pqe2ee.bench.inventory import load_inventory

        inventory = load_inventory(args.inventory)  # before measuring: a bad file fails fast
    if args.from_json:
        report = Report.from_json(Path(args.from_json).read_text())
    else:
        report = _measure(True, profile.path)
    costs = evaluate(profile, report, runs=args.runs)
    reasons = recommend(profile, costs)
    if args.json:
        document: dict[str, object] = {
            "profile": asdict(profile),
            "costs": [asdict(c) for c in costs],
            "recommendation": reasons,
        }
        if inventory is not None:
            document["inventory"] = inventory.to_json()
        print(json.dumps(document, indent=2))
    else:
        console.print(_cost_table(costs, profile))
        for line in reasons:
            console.print(f"- {line}")
        if inventory is not None:
            for line in inventory.lines():
                console.print(line, markup=False, highlight=False)
    if args.html:
        _write(args.html, migration_page(profile, costs, reasons, report, inventory), console)
    return 0


def _path_options(p: argparse.ArgumentParser, *, defaults: bool) -> None:
    d = PathProfile()

    def text(what: str, value: object) -> str:
        # bench: argparse shows its default; migrate: a profile file may set it
        return what if defaults else f"{what} (default: the profile file's, else {value})"

    p.add_argument(
        "--rtt-ms",
        type=float,
        default=d.rtt_ms if defaults else None,
        help=text("round-trip time of the modelled path, ms", d.rtt_ms),
    )
    p.add_argument(
        "--loss",
        type=float,
        default=d.loss if defaults else None,
        help=text("segment loss rate, 0..1", d.loss),
    )
    p.add_argument(
        "--mtu", type=int, default=d.mtu if defaults else None, help=text("path MTU, bytes", d.mtu)
    )
    p.add_argument(
        "--initcwnd",
        type=int,
        default=d.initcwnd if defaults else None,
        help=text("TCP initial window, segments", d.initcwnd),
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench`` and ``migrate`` to the top-level parser."""
    p = sub.add_parser("bench", help="measure classical vs hybrid vs pq side by side")
    p.add_argument("--quick", action="store_true", help="finish in well under a minute")
    p.add_argument("--json", metavar="FILE", help="write every result as JSON")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    _path_options(p, defaults=True)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("migrate", help="what each mode costs your service, and whether to hurry")
    p.add_argument(
        "--profile", metavar="FILE.toml", help="traffic profile (keys as the flags, with _)"
    )
    p.add_argument("--from-json", metavar="FILE", help="costs from a `pqe2ee bench --json` run")
    p.add_argument(
        "--inventory",
        metavar="SCAN.json",
        help="your endpoints from `pqe2ee scan --json`: share PQ-ready, the order to migrate",
    )
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument(
        "--json", action="store_true", help="print the profile, costs and advice as JSON"
    )
    p.add_argument("--runs", type=int, default=2000, help="Monte Carlo runs of the network model")
    defaults = Profile()
    for f in fields(Profile):
        if f.name in ("rtt_ms", "loss", "mtu", "initcwnd"):
            continue
        kind = int if f.type in ("int", int) else float
        shown = getattr(defaults, f.name)
        if f.name == "cores":
            shown = f"this machine's {os.cpu_count() or 1}"
        p.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=kind,
            default=None,
            help=f"default: the profile file's, else {shown}",
        )
    _path_options(p, defaults=False)
    p.set_defaults(func=_cmd_migrate)
