"""Passphrases of identity files, as ssh asks for them.

A protected identity is opened with, in this order: ``--passphrase-file FILE`` (its
content, without the final newline), ``--ask-passphrase`` (asked on the terminal),
``$PQE2EE_PASSPHRASE``, and otherwise, when standard input is a terminal, a prompt
(three tries, as ssh gives).  Without a
terminal nothing is asked: the command fails at once, naming the options a script can
use, rather than waiting on a prompt nobody sees.  An unprotected identity is opened
without asking anything.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from pqe2ee.exceptions import InvalidTag
from pqe2ee.handshake import Identity
from pqe2ee.trust import is_protected, load_identity

__all__ = [
    "TRIES",
    "add_passphrase_options",
    "ask_new_passphrase",
    "can_ask",
    "given_passphrase",
    "identity_passphrase",
    "load_private_identity",
]

#: Wrong passphrases allowed on a terminal before giving up (ssh's NumberOfPasswordPrompts).
TRIES = 3
_HOW = "give --passphrase-file FILE or set PQE2EE_PASSPHRASE"


def can_ask() -> bool:
    """Whether a person can be asked: standard input is a terminal."""
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # closed or replaced stdin
        return False


def _ask(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError:  # ^D at the prompt
        print(file=sys.stderr)
        raise ValueError("no passphrase given") from None


def add_passphrase_options(p: argparse.ArgumentParser) -> None:
    """``--passphrase-file`` and ``--ask-passphrase`` for a command that opens an identity."""
    p.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the identity's passphrase from FILE (one line)",
    )
    p.add_argument(
        "--ask-passphrase",
        action="store_true",
        help="ask for the identity's passphrase on the terminal (the default on a "
        "terminal when the identity is protected and PQE2EE_PASSPHRASE is unset)",
    )


def given_passphrase(args: argparse.Namespace) -> str | None:
    """The passphrase given without asking: ``--passphrase-file``, else the environment.

    ``--ask-passphrase`` wins over the environment (``None`` is returned, so it is asked).

    :raises ValueError: the passphrase file cannot be read (names the file).
    """
    path = getattr(args, "passphrase_file", None)
    if path:
        try:
            return Path(path).read_text().rstrip("\n")
        except OSError as exc:  # a bad argument: exit 2 naming the file
            raise ValueError(
                f"cannot read --passphrase-file {path}: {exc.strerror or exc}"
            ) from None
    if getattr(args, "ask_passphrase", False):
        return None
    return os.environ.get("PQE2EE_PASSPHRASE") or None


def load_private_identity(path: str | os.PathLike[str], args: argparse.Namespace) -> Identity:
    """Open the private identity at ``path``, asking for its passphrase if need be.

    :raises ValueError: the file cannot be read, or it is protected and no passphrase
        was given and none can be asked for (the message names the options).
    :raises InvalidInput: not an identity file.
    :raises InvalidTag: the passphrase is wrong (after :data:`TRIES` tries on a terminal).
    """
    return _open(Path(path), args)[0]


def identity_passphrase(path: str | os.PathLike[str], args: argparse.Namespace) -> str | None:
    """The passphrase that opens the identity at ``path`` (``None``: it has none).

    Checked against the file here (asked again after a wrong one on a terminal), for a
    caller that opens the file itself later, as the tunnel's settings do.

    :raises ValueError, InvalidInput, InvalidTag: as :func:`load_private_identity`.
    """
    return _open(Path(path), args)[1]


def _open(path: Path, args: argparse.Namespace) -> tuple[Identity, str | None]:
    try:
        protected = is_protected(path)
    except OSError as exc:  # a bad argument: exit 2 naming the file
        raise ValueError(f"cannot read identity file {path}: {exc.strerror or exc}") from None
    if not protected:
        return load_identity(path), None
    passphrase = given_passphrase(args)
    if passphrase is not None:
        if not passphrase:
            raise ValueError(f"{path} is passphrase-protected and the passphrase given is empty")
        return load_identity(path, passphrase=passphrase), passphrase
    if not can_ask():
        raise ValueError(
            f"{path} is passphrase-protected and there is no terminal to ask on: {_HOW}"
        )
    for attempt in range(1, TRIES + 1):
        passphrase = _ask(f"Enter passphrase for {path}: ")
        try:
            return load_identity(path, passphrase=passphrase), passphrase
        except InvalidTag:
            if attempt == TRIES:
                raise InvalidTag(f"{path}: wrong passphrase ({TRIES} tries)") from None
            print("Wrong passphrase, try again.", file=sys.stderr)
    raise AssertionError("unreachable")  # pragma: no cover


def ask_new_passphrase(what: str) -> str | None:
    """Ask twice on the terminal for a new passphrase; an empty answer means none.

    :param what: the file it protects, for the prompt.
    :raises ValueError: there is no terminal, or the two answers differ.
    """
    if not can_ask():
        raise ValueError(
            f"no terminal to ask for the new passphrase of {what} on: give "
            "--new-passphrase-file FILE (an empty file for no passphrase)"
        )
    first = _ask(f"Enter new passphrase for {what} (empty for no passphrase): ")
    if _ask("Enter the same passphrase again: ") != first:
        raise ValueError("the passphrases do not match; nothing changed")
    return first or None
