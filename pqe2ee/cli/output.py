"""What every command shares on stderr: ``-v`` / ``-q``, informational lines, logging.

``-q`` silences the informational lines (``wrote FILE``, ``listening on …``,
``connected …``) and logs only warnings; ``-v`` logs debug messages of the library
(``pqe2ee.*`` loggers).  Errors are never silenced: they are the one line ``main``
prints.  Results a command exists to print (a fingerprint, a table) go to stdout and
are not affected.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

__all__ = [
    "CommandFailed",
    "JsonFormatter",
    "add_verbosity_options",
    "info",
    "is_quiet",
    "setup",
    "setup_logging",
]

_state = {"quiet": False}


class CommandFailed(Exception):
    """An operation failed (a connection, a handshake): one line on stderr, exit 1.

    Its message is already in the command's words (the address, the flag to change).
    """


def add_verbosity_options(p: argparse.ArgumentParser) -> None:
    """``-v`` and ``-q``, on every command's parser."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more detail on stderr (debug logging)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only errors and warnings on stderr",
    )


def is_quiet() -> bool:
    """Whether ``-q`` was given."""
    return _state["quiet"]


def info(message: str) -> None:
    """One informational line on stderr (silenced by ``-q``)."""
    if not _state["quiet"]:
        print(f"pqe2ee: {message}", file=sys.stderr, flush=True)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message`` and any
    fields a record carries in ``extra`` (for log collectors)."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, (int, float, bool, str)) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(verbose: int, quiet: bool, log_format: str = "text") -> None:
    """Send the library's log records (``pqe2ee.*``) to stderr at the asked level."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("pqe2ee")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)


def setup(args: argparse.Namespace) -> None:
    """Apply ``-v`` / ``-q`` (and ``--log-format``, where a command has it)."""
    verbose = getattr(args, "verbose", 0) or 0
    quiet = bool(getattr(args, "quiet", False))
    _state["quiet"] = quiet
    # only the tunnel logs in normal use; other commands get a handler with -v alone,
    # so a command run in-process (tests, scripts) leaves logging as it found it
    if verbose or hasattr(args, "log_format"):
        setup_logging(verbose, quiet, getattr(args, "log_format", None) or "text")
