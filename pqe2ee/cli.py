"""The ``pqe2ee`` command: one entry point, one sub-command per job.

- ``pqe2ee kem list``: every KEM, its sizes, the backend serving it, usable or why not.
- ``pqe2ee info``: versions of the package, its backends and the C core.
- ``pqe2ee demo``: what ``make demo`` runs.
- ``pqe2ee age …``: age-compatible files (:mod:`pqe2ee.age.cli`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, cast

from pqe2ee._version import __version__
from pqe2ee.exceptions import Pqe2eeError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# The modules that register the other commands, by command name.  Only the module of the
# command being run is imported (``pqe2ee age encrypt`` starts without the session,
# tunnel, benchmark and rich code: a quarter of its start-up time); ``--help`` and
# unknown commands import them all.
_COMMAND_MODULES = {
    "keygen": "pqe2ee.io.netcat",
    "fingerprint": "pqe2ee.io.netcat",
    "safety-number": "pqe2ee.io.netcat",
    "listen": "pqe2ee.io.netcat",
    "connect": "pqe2ee.io.netcat",
    "tunnel": "pqe2ee.io.tunnel.cli",
    "bench": "pqe2ee.bench.cli",
    "migrate": "pqe2ee.bench.cli",
    "age": "pqe2ee.age.cli",
}


def _kem_table(backend: str | None) -> tuple[Table, list[str]]:
    """The KEM table, and one footnote per KEM that cannot run here."""
    from rich.table import Table

    from pqe2ee.hazmat.kem import available_kems

    table = Table(title="Key-encapsulation mechanisms", title_justify="left")
    for col in ("name", "mode", "pk", "sk", "ct", "ss", "TLS group", "backend", "usable"):
        numeric = col in ("pk", "sk", "ct", "ss")
        table.add_column(col, justify="right" if numeric else "left", no_wrap=True)
    notes: list[str] = []
    for row in available_kems(backend=backend):
        group = f"0x{row.tls_group:04X}" if row.tls_group is not None else "-"
        if row.available:
            usable = "[green]yes[/]"
        else:
            notes.append(f"[{len(notes) + 1}] {row.name}: {row.reason}")
            usable = f"[red]no[/] [{len(notes)}]"
        table.add_row(
            row.name,
            row.mode,
            str(row.public_key_size or "?"),
            str(row.private_key_size or "?"),
            str(row.ciphertext_size or "?"),
            str(row.shared_secret_size or "?"),
            group,
            row.backend or "-",
            usable,
        )
    return table, notes


def _print_kem_table(console: Console, backend: str | None) -> None:
    table, notes = _kem_table(backend)
    console.print(table)
    for note in notes:
        console.print(note, markup=False, highlight=False)


def _cmd_kem_list(args: argparse.Namespace, console: Console) -> int:
    from pqe2ee.hazmat.kem import available_kems

    if args.json:
        rows = [asdict(r) for r in available_kems(backend=args.backend)]
        console.print_json(json.dumps(rows))
    else:
        _print_kem_table(console, args.backend)
    return 0


def _cmd_info(args: argparse.Namespace, console: Console) -> int:
    from pqe2ee.backends import backend_status
    from pqe2ee.hazmat import core

    console.print(f"pqe2ee {__version__}")
    for name, status in backend_status().items():
        console.print(f"  backend {name}: {status}")
    if core.AVAILABLE:
        console.print(f"  C core: built, libcrypto {core.libcrypto_version()}")
    else:
        console.print(f"  C core: [red]unavailable[/]: {core.ERROR}")
    return 0


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from pqe2ee.hazmat.kem import get_kem

    _cmd_info(args, console)
    _print_kem_table(console, None)
    kem = get_kem("X25519MLKEM768")
    alice = kem.generate()
    ss_bob, ct = alice.public_key().encapsulate()
    ss_alice = alice.decapsulate(ct)
    console.print(
        f"\nHybrid round trip with {kem.name}: public key {kem.public_key_size} B, "
        f"ciphertext {len(ct)} B.\nBoth sides hold the same {len(ss_bob)}-byte secret: "
        f"{'[green]yes[/]' if ss_alice == ss_bob else '[red]NO[/]'}"
    )
    return 0 if ss_alice == ss_bob else 1


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, only that command's module is loaded."""
    parser = argparse.ArgumentParser(prog="pqe2ee", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pqe2ee {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    kem = sub.add_parser("kem", help="key-encapsulation mechanisms")
    kem_sub = kem.add_subparsers(dest="kem_command", required=True)
    kem_list = kem_sub.add_parser("list", help="every KEM, its sizes and backend")
    kem_list.add_argument("--backend", help="only this backend (cryptography, oqs)")
    kem_list.add_argument("--json", action="store_true", help="machine-readable output")
    kem_list.set_defaults(func=_cmd_kem_list)

    info = sub.add_parser("info", help="versions of pqe2ee, its backends and C core")
    info.set_defaults(func=_cmd_info)

    demo = sub.add_parser("demo", help="the KEM table and one hybrid round trip")
    demo.set_defaults(func=_cmd_demo)

    wanted = _COMMAND_MODULES.get(command or "")
    for module in dict.fromkeys(_COMMAND_MODULES.values()):
        if wanted is None or module == wanted:
            importlib.import_module(module).register(sub)
    return parser


class _LazyConsole:
    """A rich Console made on first use (importing rich costs 30 ms of start-up)."""

    def __init__(self) -> None:
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            console = Console()
            if not console.is_terminal:  # piped or captured: don't squeeze tables
                console = Console(width=120)
            self._console = console
        return getattr(self._console, name)


def _command(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (its first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status.

    Failures print one line on stderr: exit 2 for bad arguments or input, 1 for a failed
    session, file or network operation.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    console = cast("Console", _LazyConsole())
    try:
        status: int = args.func(args, console)
    except (Pqe2eeError, ValueError, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        print(f"pqe2ee: error: {reason}", file=sys.stderr)  # one line, never wrapped
        return 2 if isinstance(exc, ValueError) and not isinstance(exc, Pqe2eeError) else 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
