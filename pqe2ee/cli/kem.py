"""``pqe2ee kem list``, ``pqe2ee info`` and ``pqe2ee demo``: what this installation can do.

- ``kem list [--backend NAME] [--json]``: every KEM, its sizes, the backend serving it,
  usable or why not.
- ``info``: versions of the package and its backends, and the data path in use: the C
  core and its libcrypto, or pure Python and why.
- ``demo``: ``info``, the KEM table and one hybrid round trip (what ``make demo`` runs).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import TYPE_CHECKING

from pqe2ee._version import __version__

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["register"]


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
    import json  # here: this module loads for every command, json only for this one

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
        aeads = ", ".join(name for name, ok in core.features().items() if ok) or "no AEAD"
        console.print(
            f"  data path: C core (pqe2ee._core {core.core_version()}, "
            f"{core.libcrypto_version()}; {aeads})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print("  data path: [red]pure Python[/] (slow): ", end="")
        console.print(core.ERROR, markup=False, highlight=False, soft_wrap=True)
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kem list``, ``info`` and ``demo`` to the top-level sub-parsers ``sub``."""
    kem = sub.add_parser("kem", help="key-encapsulation mechanisms")
    kem_sub = kem.add_subparsers(dest="kem_command", required=True)
    kem_list = kem_sub.add_parser("list", help="every KEM, its sizes and backend")
    kem_list.add_argument("--backend", help="only this backend (cryptography, oqs)")
    kem_list.add_argument("--json", action="store_true", help="machine-readable output")
    kem_list.set_defaults(func=_cmd_kem_list)

    info = sub.add_parser("info", help="versions of pqe2ee and its backends; C core or pure Python")
    info.set_defaults(func=_cmd_info)

    demo = sub.add_parser("demo", help="the KEM table and one hybrid round trip")
    demo.set_defaults(func=_cmd_demo)
