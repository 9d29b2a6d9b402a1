"""``pqe2ee keygen``, ``fingerprint`` and ``safety-number``: long-term identities.

``keygen -o FILE`` writes the private identity (mode 0600, passphrase-protected with
``--ask-passphrase``, ``--passphrase-file`` or ``$PQE2EE_PASSPHRASE``) and ``FILE.pub``,
and prints the kind and fingerprint.  ``keygen --change-passphrase FILE`` re-seals an
identity under a new passphrase (or none), as ``ssh-keygen -p`` does.  ``fingerprint
FILE`` prints the kind and fingerprint again (of a public or private file, asking for
the passphrase of a protected one on a terminal); ``safety-number MINE THEIRS`` prints
the 60 digits two people compare over another channel.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pqe2ee.cli.output import info
from pqe2ee.cli.passphrase import (
    add_passphrase_options,
    ask_new_passphrase,
    can_ask,
    given_passphrase,
    identity_passphrase,
    load_private_identity,
)
from pqe2ee.handshake import AuthKind, Identity, safety_number
from pqe2ee.trust import (
    change_passphrase,
    load_public_identity,
    save_identity,
    save_public_identity,
)

__all__ = ["register"]


def _new_passphrase(args: argparse.Namespace) -> str | None:
    """The passphrase of a new key: ``--passphrase-file``, asked twice with
    ``--ask-passphrase``, else ``$PQE2EE_PASSPHRASE``; ``None`` for none."""
    if args.ask_passphrase and not args.passphrase_file:
        if not can_ask():
            raise ValueError("--ask-passphrase needs a terminal; give --passphrase-file FILE")
        return ask_new_passphrase(args.output)
    return given_passphrase(args) or None


def _cmd_keygen(args: argparse.Namespace, _console: object) -> int:
    if args.change_passphrase:
        return _change_passphrase(args)
    if not args.output:
        raise ValueError("give -o FILE (or --change-passphrase KEYFILE)")
    if args.new_passphrase_file:
        raise ValueError("--new-passphrase-file goes with --change-passphrase KEYFILE")
    identity = Identity.generate(AuthKind(args.auth))
    passphrase = _new_passphrase(args)
    save_identity(identity, args.output, passphrase=passphrase, overwrite=args.force)
    save_public_identity(identity.public(), f"{args.output}.pub", overwrite=args.force)
    print(f"{identity.kind.value} {identity.public().fingerprint_hex()}")
    info(f"wrote {args.output} (private, 0600) and {args.output}.pub")
    return 0


def _change_passphrase(args: argparse.Namespace) -> int:
    path = Path(args.change_passphrase)
    if args.output:
        raise ValueError("--change-passphrase FILE changes FILE in place; drop -o")
    old = identity_passphrase(path, args)  # a wrong old passphrase stops here
    if args.new_passphrase_file:
        try:
            new = Path(args.new_passphrase_file).read_text().rstrip("\n") or None
        except OSError as exc:
            raise ValueError(
                f"cannot read --new-passphrase-file {args.new_passphrase_file}: "
                f"{exc.strerror or exc}"
            ) from None
    else:
        new = ask_new_passphrase(str(path))
    identity = change_passphrase(path, old, new)
    info(
        f"{path}: passphrase {'changed' if new else 'removed'} "
        f"({identity.kind.value} {identity.public().fingerprint_hex()})"
    )
    return 0


def _cmd_fingerprint(args: argparse.Namespace, _console: object) -> int:
    try:
        public = load_public_identity(args.file)
    except ValueError as exc:
        if "passphrase" not in str(exc):
            raise
        public = load_private_identity(args.file, args).public()
    print(f"{public.kind.value} {public.fingerprint_hex()}")
    return 0


def _cmd_safety_number(args: argparse.Namespace, _console: object) -> int:
    mine = load_public_identity(args.mine)
    theirs = load_public_identity(args.theirs)
    print(safety_number(mine, theirs))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keygen``, ``fingerprint`` and ``safety-number`` to the top-level parser."""
    p = sub.add_parser("keygen", help="make a long-term identity, or change the passphrase of one")
    p.add_argument(
        "--auth",
        choices=[k.value for k in AuthKind],
        default="ed25519",
        help="signature kind",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="private key file to write (FILE.pub too)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument(
        "--ask-passphrase",
        action="store_true",
        help="protect the new key with a passphrase asked twice on the terminal",
    )
    p.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="the passphrase in FILE: of the new key, or with --change-passphrase the old one",
    )
    p.add_argument(
        "--change-passphrase",
        metavar="KEYFILE",
        help="re-seal KEYFILE under a new passphrase (empty: none); asks for the old one "
        "on a terminal if it has one; a wrong old passphrase changes nothing",
    )
    p.add_argument(
        "--new-passphrase-file",
        metavar="FILE",
        help="with --change-passphrase: the new passphrase (an empty file: none)",
    )
    p.set_defaults(func=_cmd_keygen)

    p = sub.add_parser("fingerprint", help="show an identity's fingerprint")
    p.add_argument("file", help="a public identity, or a private one")
    add_passphrase_options(p)
    p.set_defaults(func=_cmd_fingerprint)

    p = sub.add_parser(
        "safety-number", help="60 digits to compare with a peer over another channel"
    )
    p.add_argument("mine", help="your identity (public or unprotected private file)")
    p.add_argument("theirs", help="the peer's public identity file")
    p.set_defaults(func=_cmd_safety_number)
