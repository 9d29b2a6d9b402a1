"""``pqe2ee age …``: age's command line, for people who already know age.

- ``pqe2ee age keygen [--pq] [-o FILE]``: a new identity in age-keygen's output form.
- ``pqe2ee age convert [-o OUT] [IN]``: the recipients of an identity file (age-keygen -y).
- ``pqe2ee age encrypt [-r RECIPIENT]… [-R FILE]… [-i FILE]… [-p] [-a] [-o OUT] [IN]``
- ``pqe2ee age decrypt [-i FILE]… [-o OUT] [IN]`` (asks for the passphrase when the file
  is passphrase-encrypted and no ``-i`` is given).

IN defaults to stdin, OUT to stdout.  Every failure prints one line on stderr and exits
with status 1; a failed run leaves no output file and never replaces an existing one.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import io
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from pqe2ee.age import api
from pqe2ee.age.format import Stanza
from pqe2ee.age.keys import (
    identity_recipient,
    parse_identities,
    parse_recipient,
    parse_recipients,
    read_identity_file,
)
from pqe2ee.age.mlkem768x25519 import HybridIdentity
from pqe2ee.age.recipient import Identity, Recipient
from pqe2ee.age.scrypt import ScryptIdentity, ScryptRecipient
from pqe2ee.age.x25519 import X25519Identity
from pqe2ee.exceptions import AgeNoIdentityMatch, Pqe2eeError

__all__ = ["register"]

#: Show a progress bar on a terminal for inputs at least this large.
PROGRESS_MIN = 64 * 1024 * 1024


class _Fail(Exception):
    """A usage error of this command, reported as one line."""


def _read_passphrase(confirm: bool) -> str:
    passphrase = getpass.getpass("Enter passphrase: ")
    if not passphrase:
        raise _Fail("the passphrase is empty")
    if confirm and getpass.getpass("Confirm passphrase: ") != passphrase:
        raise _Fail("the passphrases do not match")
    return passphrase


class _PromptedPassphrase(Identity):
    """Asks for a passphrase only if the file turns out to be passphrase-encrypted."""

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        if not any(s.type == "scrypt" for s in stanzas):
            raise AgeNoIdentityMatch(
                "the file is encrypted to keys, not a passphrase: give an identity with -i"
            )
        return ScryptIdentity(_read_passphrase(confirm=False)).unwrap(stanzas)


class _Progress(io.RawIOBase):
    """A source that advances a progress bar as it is read."""

    def __init__(self, f: BinaryIO, advance: Any) -> None:
        self._f = f
        self._advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n: int = self._f.readinto(b)  # type: ignore[attr-defined]
        self._advance(n or 0)
        return n


@contextlib.contextmanager
def _input(path: str | None, label: str) -> Iterator[BinaryIO]:
    """The input file (or stdin), with a progress bar for big files on a terminal."""
    if path is None or path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not sys.stderr.isatty() or size < PROGRESS_MIN:
            yield f
            return
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=size)
            raw = _Progress(f, lambda n: bar.advance(task, n))
            yield io.BufferedReader(raw, 1 << 20)


def _output(path: str | None, binary: bool) -> str | BinaryIO:
    if path is not None and path != "-":
        return path
    if binary and sys.stdout.isatty():
        raise _Fail("refusing to write binary output to a terminal; use -a or -o FILE")
    return sys.stdout.buffer


def _cmd_keygen(args: argparse.Namespace) -> None:
    identity = HybridIdentity.generate() if args.pq else X25519Identity.generate()
    recipient = identity.recipient()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"# created: {created}\n# public key: {recipient}\n{identity}\n"
    if args.output:
        try:
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise _Fail(f"{args.output} already exists; not overwriting a key") from None
        with open(fd, "w", encoding="ascii") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if args.output or not sys.stdout.isatty():
        print(f"Public key: {recipient}", file=sys.stderr)


def _cmd_convert(args: argparse.Namespace) -> None:
    if args.input in (None, "-"):
        identities = parse_identities(sys.stdin.read(), "standard input")
    else:
        identities = read_identity_file(args.input)
    text = "".join(f"{identity_recipient(i)}\n" for i in identities)
    if args.output:
        with open(args.output, "w", encoding="ascii") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def _identities(paths: Sequence[str]) -> list[Identity]:
    return [i for p in paths for i in read_identity_file(p)]


def _cmd_encrypt(args: argparse.Namespace) -> None:
    recipients: list[Recipient] = []
    for text in args.recipient:
        try:
            recipients.append(parse_recipient(text))
        except (ValueError, Pqe2eeError) as exc:  # say which -r: several may be given
            shown = text if len(text) <= 24 else f"{text[:20]}…"
            raise _Fail(f"-r {shown}: {str(exc).splitlines()[0]}") from None
    for path in args.recipients_file:
        with open(path, encoding="utf-8") as f:
            recipients += parse_recipients(f.read(), path)
    recipients += [identity_recipient(i) for i in _identities(args.identity)]
    if args.passphrase:
        if recipients:
            raise _Fail("-p cannot be combined with -r, -R or -i")
        recipients = [ScryptRecipient(_read_passphrase(confirm=True))]
    if not recipients:
        raise _Fail("give at least one recipient (-r, -R, -i) or -p for a passphrase")
    api.check_recipients(recipients)
    dst = _output(args.output, binary=not args.armor)
    with _input(args.input, "encrypting") as src:
        api.encrypt(src, dst, recipients, armor=args.armor)


def _cmd_decrypt(args: argparse.Namespace) -> None:
    identities = _identities(args.identity) or [_PromptedPassphrase()]
    dst = _output(args.output, binary=False)
    with _input(args.input, "decrypting") as src:
        api.decrypt(src, dst, identities)


def _run(func: Any) -> Any:
    def wrapped(args: argparse.Namespace, console: object = None) -> int:
        try:
            func(args)
        except (_Fail, Pqe2eeError, ValueError, OSError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, OSError) and exc.filename:
                msg = f"{exc.strerror or msg}: {exc.filename}"
            print(f"pqe2ee age: error: {msg}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("pqe2ee age: interrupted", file=sys.stderr)
            return 130
        return 0

    return wrapped


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``age`` command group to the top-level sub-parsers ``sub``."""
    top = sub.add_parser("age", help="age-compatible file encryption (age v1, age1pq)")
    age_sub = top.add_subparsers(dest="age_command", required=True)

    keygen = age_sub.add_parser("keygen", help="generate an identity (age-keygen)")
    keygen.add_argument("--pq", action="store_true", help="post-quantum hybrid (age1pq1…)")
    keygen.add_argument("-o", "--output", metavar="FILE", help="write the identity here")
    keygen.set_defaults(func=_run(_cmd_keygen))

    convert = age_sub.add_parser("convert", help="identity file -> recipients (age-keygen -y)")
    convert.add_argument("-o", "--output", metavar="OUT")
    convert.add_argument("input", nargs="?", metavar="IN", help="identity file (default stdin)")
    convert.set_defaults(func=_run(_cmd_convert))

    enc = age_sub.add_parser("encrypt", help="encrypt to recipients or a passphrase")
    enc.add_argument("-r", "--recipient", action="append", default=[], metavar="RECIPIENT")
    enc.add_argument(
        "-R", "--recipients-file", action="append", default=[], metavar="FILE",
        help="a file of recipients, one per line",
    )  # fmt: skip
    enc.add_argument(
        "-i", "--identity", action="append", default=[], metavar="FILE",
        help="encrypt to the recipients of this identity file",
    )  # fmt: skip
    enc.add_argument("-p", "--passphrase", action="store_true", help="encrypt to a passphrase")
    enc.add_argument("-a", "--armor", action="store_true", help="ASCII-armored (PEM) output")
    enc.add_argument("-o", "--output", metavar="OUT", help="output file (default stdout)")
    enc.add_argument("input", nargs="?", metavar="IN", help="input file (default stdin)")
    enc.set_defaults(func=_run(_cmd_encrypt))

    dec = age_sub.add_parser("decrypt", help="decrypt with identity files or a passphrase")
    dec.add_argument("-i", "--identity", action="append", default=[], metavar="FILE")
    dec.add_argument("-o", "--output", metavar="OUT", help="output file (default stdout)")
    dec.add_argument("input", nargs="?", metavar="IN", help="input file (default stdin)")
    dec.set_defaults(func=_run(_cmd_decrypt))
