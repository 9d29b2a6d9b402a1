"""``pqe2ee keygen``, ``fingerprint`` and ``safety-number``: long-term identities.

``keygen -o FILE`` writes the private identity (mode 0600, passphrase-protected with
``--ask-passphrase``, ``--passphrase-file`` or ``$PQE2EE_PASSPHRASE``) and ``FILE.pub``,
and prints the kind and fingerprint.  ``fingerprint FILE`` prints them again (of a
public or private file); ``safety-number MINE THEIRS`` prints the 60 digits two people
compare over another channel.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from pqe2ee.handshake import AuthKind, Identity, safety_number
from pqe2ee.trust import load_identity, load_public_identity, save_identity, save_public_identity

__all__ = ["read_passphrase", "register"]


def read_passphrase(args: argparse.Namespace, *, confirm: bool = False) -> str | None:
    """The identity passphrase the options ask for, or ``None`` for none.

    From ``--passphrase-file``, else ``$PQE2EE_PASSPHRASE``, else asked on the terminal
    with ``--ask-passphrase`` (twice with ``confirm``).

    :raises ValueError: the file cannot be read, or the two answers differ.
    """
    if getattr(args, "passphrase_file", None):
        try:
            return Path(args.passphrase_file).read_text().rstrip("\n")
        except OSError as exc:  # a bad argument: exit 2 naming the file
            raise ValueError(
                f"cannot read passphrase file {args.passphrase_file}: {exc.strerror or exc}"
            ) from None
    if os.environ.get("PQE2EE_PASSPHRASE"):
        return os.environ["PQE2EE_PASSPHRASE"]
    if getattr(args, "ask_passphrase", False):
        first = getpass.getpass("passphrase: ")
        if confirm and getpass.getpass("again: ") != first:
            raise ValueError("the passphrases differ")
        return first
    return None


def _cmd_keygen(args: argparse.Namespace, _console: object) -> int:
    identity = Identity.generate(AuthKind(args.auth))
    passphrase = read_passphrase(args, confirm=True)
    save_identity(identity, args.output, passphrase=passphrase, overwrite=args.force)
    save_public_identity(identity.public(), f"{args.output}.pub", overwrite=args.force)
    print(f"{identity.kind.value} {identity.public().fingerprint_hex()}")
    print(f"wrote {args.output} (private, 0600) and {args.output}.pub", file=sys.stderr)
    return 0


def _cmd_fingerprint(args: argparse.Namespace, _console: object) -> int:
    try:
        public = load_public_identity(args.file)
    except ValueError as exc:
        if "passphrase" not in str(exc):
            raise
        public = load_identity(args.file, passphrase=read_passphrase(args)).public()
    print(f"{public.kind.value} {public.fingerprint_hex()}")
    return 0


def _cmd_safety_number(args: argparse.Namespace, _console: object) -> int:
    mine = load_public_identity(args.mine)
    theirs = load_public_identity(args.theirs)
    print(safety_number(mine, theirs))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keygen``, ``fingerprint`` and ``safety-number`` to the top-level parser."""
    p = sub.add_parser("keygen", help="make a long-term identity")
    p.add_argument("--auth", choices=[k.value for k in AuthKind], default="ed25519")
    p.add_argument("-o", "--output", required=True, help="private key file (FILE.pub too)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--ask-passphrase", action="store_true", help="protect it with a passphrase")
    p.add_argument("--passphrase-file", help="protect it with the passphrase in this file")
    p.set_defaults(func=_cmd_keygen)

    p = sub.add_parser("fingerprint", help="show an identity's fingerprint")
    p.add_argument("file")
    p.add_argument("--passphrase-file")
    p.set_defaults(func=_cmd_fingerprint)

    p = sub.add_parser(
        "safety-number", help="60 digits to compare with a peer over another channel"
    )
    p.add_argument("mine", help="your identity (public or unprotected private file)")
    p.add_argument("theirs", help="the peer's public identity file")
    p.set_defaults(func=_cmd_safety_number)
