"""The ``pqe2ee`` command: one entry point, one sub-command per job.

- ``pqe2ee kem list``, ``info``, ``demo``: the KEMs, the versions, a hybrid round trip
  (:mod:`pqe2ee.cli.kem`).
- ``pqe2ee keygen``, ``fingerprint``, ``safety-number``: long-term identities
  (:mod:`pqe2ee.cli.keys`).
- ``pqe2ee listen``, ``connect``: one session, stdin to the peer and the peer to stdout
  (:mod:`pqe2ee.cli.session`).
- ``pqe2ee tunnel server|client``: the TCP tunnel (:mod:`pqe2ee.cli.tunnel`).
- ``pqe2ee bench``, ``migrate``: the comparison and what it means (:mod:`pqe2ee.cli.bench`).
- ``pqe2ee age …``: age-compatible files (:mod:`pqe2ee.cli.age`).
- ``pqe2ee completion bash|zsh|fish``: shell completion from these parsers
  (:mod:`pqe2ee.cli.completion`).

This package is the only one that imports argparse or rich (``tests/test_layout.py``);
the library returns data or takes callbacks, and the commands here print.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from pqe2ee._version import __version__
from pqe2ee.exceptions import MissingExtra, Pqe2eeError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["build_parser", "main"]


class _Commands(Protocol):
    """A module of this package that adds its sub-commands to the top-level parser."""

    def register(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add this module's sub-commands to ``sub``."""


# One loader per group of commands, each importing its modules by name (no module-name
# strings), so only the code of the command being run is imported: ``pqe2ee age encrypt``
# starts without the session, tunnel, benchmark and rich code (start-up times:
# docs/performance.md).
def _kem() -> tuple[_Commands, ...]:
    from pqe2ee.cli import kem

    return (kem,)


def _keys_and_sessions() -> tuple[_Commands, ...]:
    # one group, as when they were one module: an error's usage line lists all five
    from pqe2ee.cli import keys, session

    return keys, session


def _tunnel() -> tuple[_Commands, ...]:
    from pqe2ee.cli import tunnel

    return (tunnel,)


def _bench() -> tuple[_Commands, ...]:
    from pqe2ee.cli import bench

    return (bench,)


def _age() -> tuple[_Commands, ...]:
    from pqe2ee.cli import age

    return (age,)


def _scan() -> tuple[_Commands, ...]:
    from pqe2ee.cli import scan

    return (scan,)


def _completion() -> tuple[_Commands, ...]:
    from pqe2ee.cli import completion

    return (completion,)


# Command word -> the loader of its group, in the order ``--help`` lists them, after
# ``kem``, ``info`` and ``demo``.  Those three are always registered, first, as in the
# top-level parser they come from (their module costs nothing to import); they are not
# in this table, so running one registers every command, as before the split, and an
# error's usage line lists the same commands as before.
_COMMANDS: dict[str, Callable[[], tuple[_Commands, ...]]] = {
    "keygen": _keys_and_sessions,
    "fingerprint": _keys_and_sessions,
    "safety-number": _keys_and_sessions,
    "listen": _keys_and_sessions,
    "connect": _keys_and_sessions,
    "tunnel": _tunnel,
    "bench": _bench,
    "migrate": _bench,
    "age": _age,
    "scan": _scan,
    "completion": _completion,
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser.

    :param command: the command word about to run: only its group's modules are imported
        (with the small one of ``kem``, ``info`` and ``demo``).  ``None`` or any other
        word (``--help``, a typo, ``kem``) imports every module, so help and errors list
        every command.
    :returns: the top-level parser, each sub-command's handler set as ``func``.
    """
    parser = argparse.ArgumentParser(prog="pqe2ee", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pqe2ee {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    wanted = _COMMANDS.get(command or "")
    for load in (_kem, *dict.fromkeys(_COMMANDS.values())):
        if wanted is None or load in (wanted, _kem):
            for module in load():
                module.register(sub)
    finish_parsers(parser)
    return parser


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands of ``parser`` by name (empty for a leaf command)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _show_default(action: argparse.Action) -> None:
    """Add ``(default: …)`` to the help of an option whose default means something."""
    default = action.default
    if default in (None, False, [], argparse.SUPPRESS) or action.help == argparse.SUPPRESS:
        return
    if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return
    helptext = action.help or ""
    if "default" in helptext:
        return
    action.help = f"{helptext} (default: %(default)s)".strip()


def finish_parsers(parser: argparse.ArgumentParser) -> None:
    """What every command gets: ``-v`` / ``-q``, defaults in ``--help``, and usage errors
    that list the sub-commands to choose from."""
    from pqe2ee.cli.output import add_verbosity_options

    children = subparsers(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            # the choices as metavar: "the following arguments are required: {a,b,c}"
            # names every sub-command, as an invalid choice does
            action.metavar = "{" + ",".join(children) + "}"
            action.required = True
        else:
            _show_default(action)
    if not children:
        add_verbosity_options(parser)
        return
    for child in children.values():
        if child is not parser:
            finish_parsers(child)


class _LazyConsole:
    """A rich Console made on first use (importing rich slows start-up: docs/performance.md)."""

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


def _warning_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """A warning as the command shows it: one line, no source file (e.g. the one
    reminder that a pure-Python install is slow)."""
    return f"pqe2ee: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status.

    Failures print one line on stderr: exit 2 for bad arguments or input and for a
    feature whose extra is not installed (the line says what to install), 1 for a failed
    session, file or network operation.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    console = cast("Console", _LazyConsole())
    from pqe2ee.cli.output import CommandFailed, setup

    formatwarning, warnings.formatwarning = warnings.formatwarning, _warning_line
    try:
        setup(args)
        status: int = args.func(args, console)
    except (Pqe2eeError, ValueError, OSError, CommandFailed) as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            reason = f"{exc.filename}: {exc.strerror}"  # not "[Errno 2] ...: '...'"
        print(f"pqe2ee: error: {reason}", file=sys.stderr)  # one line, never wrapped
        misuse = isinstance(exc, ValueError) and not isinstance(exc, Pqe2eeError)
        return 2 if misuse or isinstance(exc, MissingExtra) else 1
    except KeyboardInterrupt:
        return 130
    finally:
        warnings.formatwarning = formatwarning
    return status


if __name__ == "__main__":
    sys.exit(main())
