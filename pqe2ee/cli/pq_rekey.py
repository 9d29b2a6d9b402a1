"""The ``--pq-rekey-after`` and ``--pq-rekey-bytes`` flags of ``listen``, ``connect``
and ``tunnel`` (post-quantum ratchet steps inside a session, docs/protocol.md §9)."""

from __future__ import annotations

import argparse

__all__ = ["add_pq_rekey_options"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a whole number of bytes, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"want at least 1 byte, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"want more than 0 seconds, got {text}")
    return value


def add_pq_rekey_options(p: argparse.ArgumentParser) -> None:
    """Add both flags (dest ``pq_rekey_after`` and ``pq_rekey_bytes``, None by default)."""
    p.add_argument(
        "--pq-rekey-after",
        type=_positive_float,
        metavar="SECONDS",
        help="run a post-quantum ratchet step (a fresh KEM exchange inside the session) "
        "this often, while data flows",
    )
    p.add_argument(
        "--pq-rekey-bytes",
        type=_positive_int,
        metavar="N",
        help="run one whenever this end has sent N bytes since the last",
    )
