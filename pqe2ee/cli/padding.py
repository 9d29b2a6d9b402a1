"""The ``--pad POLICY`` option of ``listen``, ``connect`` and ``tunnel`` (docs/protocol.md §10)."""

from __future__ import annotations

import argparse

from pqe2ee.hazmat.padding import Padding

__all__ = ["PAD_HELP", "add_pad_option", "pad_policy"]

PAD_HELP = (
    "pad the encrypted records this side sends so that their sizes hide message sizes: "
    "none (default: exact sizes, fastest), padme (sizes in Padme buckets, at most 12%% "
    "more bytes) or block:N (multiples of N bytes, N in 1..65536)"
)


def pad_policy(text: str) -> Padding:
    """argparse ``type=``: a padding policy, or a usage error that lists the choices."""
    try:
        return Padding.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_pad_option(p: argparse.ArgumentParser, *, default: Padding | None) -> None:
    """Add ``--pad POLICY`` (``default`` None: taken from elsewhere, e.g. a config file)."""
    p.add_argument("--pad", type=pad_policy, default=default, metavar="POLICY", help=PAD_HELP)
