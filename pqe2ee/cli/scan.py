"""``pqe2ee scan TARGET...``: which of your TLS and SSH endpoints already speak
post-quantum key exchange.

A target is ``tls://host:port``, ``ssh://host:port`` or ``host:port`` (TLS); IPv6 as
``[::1]:443``.  ``--from-file LIST`` adds one per line (``#`` comments, blank lines
skipped).  Targets are scanned concurrently (``--concurrency``, default 50), each within
``--timeout`` seconds; a progress bar shows on a terminal.  The table gives a verdict per
target; ``--json FILE`` writes every result (``{"targets": [...]}``).

Exit status: 0 when every target was scanned, 1 when some could not be, 2 for bad
arguments (a malformed target names its line).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pqe2ee._extras import require
from pqe2ee._fileio import atomic_output
from pqe2ee._version import __version__
from pqe2ee.cli.limits import raise_fd_limit
from pqe2ee.cli.output import info, is_quiet

if TYPE_CHECKING:
    from rich.console import Console

    from pqe2ee.scan.model import ScanResult, Target

__all__ = ["register"]


def _targets(args: argparse.Namespace) -> list[Target]:
    from pqe2ee.scan.model import parse_target

    found: list[Target] = []
    for text in args.targets:
        try:
            found.append(parse_target(text))
        except ValueError as exc:
            raise ValueError(f"target {text!r}: {exc}") from None
    if args.from_file:
        path = Path(args.from_file)
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read --from-file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ValueError(f"--from-file {path} is not text") from None
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                found.append(parse_target(text))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    if not found:
        raise ValueError("no targets: give TARGET... or --from-file LIST")
    return found


def _table(results: list[ScanResult]) -> object:
    from rich.table import Table

    from pqe2ee.scan.summary import verdict

    table = Table(title="pqe2ee scan", title_justify="left")
    for col in ("target", "protocol", "TLS", "preferred", "verdict"):
        table.add_column(col, overflow="fold")
    for r in results:
        ok = r.reachable and r.pq_key_exchange
        style = "green" if ok else ("red" if not r.reachable else "yellow")
        table.add_row(
            r.target,
            r.protocol,
            r.tls_version or "-",
            r.preferred_group or "-",
            f"[{style}]{verdict(r)}[/]",
        )
    return table


def _run(targets: list[Target], args: argparse.Namespace) -> list[ScanResult]:
    from rich.console import Console as RichConsole
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from pqe2ee.scan.runner import scan_all

    err = RichConsole(stderr=True)
    if not err.is_terminal or is_quiet():
        return asyncio.run(scan_all(targets, concurrency=args.concurrency, timeout=args.timeout))
    with Progress(
        BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("scanning", total=len(targets))
        return asyncio.run(
            scan_all(
                targets,
                concurrency=args.concurrency,
                timeout=args.timeout,
                on_done=lambda result: bar.advance(task),
            )
        )


def _cmd_scan(args: argparse.Namespace, console: Console) -> int:
    if args.concurrency < 1:
        raise ValueError("--concurrency must be at least 1")
    if not args.timeout > 0:
        raise ValueError("--timeout must be positive")
    targets = _targets(args)
    room = raise_fd_limit() - 64  # descriptors for everything but the probes
    if args.concurrency > room > 0:
        info(f"--concurrency {args.concurrency} is more than the open-file limit allows: {room}")
        args.concurrency = room
    if args.cbom:  # before the scan, not after it
        require("cyclonedx", extra="scan", needed_for="for --cbom", package="cyclonedx-python-lib")
    results = _run(targets, args)
    console.print(_table(results))
    if args.cbom:
        from pqe2ee.scan.cbom import cbom_json

        with atomic_output(args.cbom, mode=0o644) as f:
            f.write(cbom_json(results).encode() + b"\n")
        info(f"wrote {Path(args.cbom).resolve()}")
    scanned_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    if args.html:
        from pqe2ee.scan.html import scan_page

        with atomic_output(args.html, mode=0o644) as f:
            f.write(scan_page(results, scanned_at=scanned_at).encode())
        info(f"wrote {Path(args.html).resolve()}")
    if args.json:
        document = {
            "pqe2ee": __version__,
            "scanned_at": scanned_at,
            "targets": [r.to_json() for r in results],
        }
        with atomic_output(args.json, mode=0o644) as f:
            f.write(json.dumps(document, indent=2).encode() + b"\n")
        info(f"wrote {Path(args.json).resolve()}")
    failed = sum(1 for r in results if not r.reachable or r.error)
    if failed:
        info(f"{failed} of {len(results)} targets could not be scanned")
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``scan`` to the top-level parser."""
    p = sub.add_parser(
        "scan", help="which of your TLS and SSH endpoints speak post-quantum key exchange"
    )
    p.add_argument(
        "targets", nargs="*", metavar="TARGET", help="tls://host:port, ssh://host:port, host:port"
    )
    p.add_argument("--from-file", metavar="LIST", help="more targets, one per line")
    p.add_argument("--json", metavar="FILE", help="write every result as JSON")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument(
        "--cbom", metavar="FILE", help="write a CycloneDX 1.6 crypto bill of materials (JSON)"
    )
    p.add_argument("--concurrency", type=int, default=50, help="targets scanned at once")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per target")
    p.set_defaults(func=_cmd_scan)
