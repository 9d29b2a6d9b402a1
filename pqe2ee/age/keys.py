"""Reading keys as age writes them: recipient strings, identity strings and files.

An identity file (``age-keygen`` output) holds one identity per line, with ``#``
comments and blank lines ignored; a recipients file holds one recipient per line, the
same way.  Both kinds of key are told apart by their Bech32 prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pqe2ee.age.mlkem768x25519 import HybridIdentity, HybridRecipient
from pqe2ee.age.recipient import Identity, Recipient
from pqe2ee.age.x25519 import X25519Identity, X25519Recipient

T = TypeVar("T")

__all__ = [
    "identity_recipient",
    "parse_identities",
    "parse_identity",
    "parse_recipient",
    "parse_recipients",
]


def parse_recipient(s: str) -> Recipient:
    """An ``age1…`` (X25519) or ``age1pq1…`` (post-quantum hybrid) recipient.

    :raises ValueError: anything else (the message says what is accepted).
    """
    s = s.strip()
    if s.startswith("age1pq1"):
        return HybridRecipient.from_string(s)
    if s.startswith("age1"):
        return X25519Recipient.from_string(s)
    raise ValueError(f"unknown recipient {s[:12]!r}…: expected age1… or age1pq1…")


def parse_identity(s: str) -> X25519Identity | HybridIdentity:
    """An ``AGE-SECRET-KEY-1…`` or ``AGE-SECRET-KEY-PQ-1…`` identity.

    :raises ValueError: anything else (the message never repeats the secret).
    """
    s = s.strip()
    if s.startswith("AGE-SECRET-KEY-PQ-1"):
        return HybridIdentity.from_string(s)
    if s.startswith("AGE-SECRET-KEY-1"):
        return X25519Identity.from_string(s)
    raise ValueError("not an age identity: expected AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…")


def _parse_lines(text: str, name: str, parse: Callable[[str], T], what: str) -> list[T]:
    """``parse`` of every line that is not blank or a ``#`` comment."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(parse(line))
        except ValueError as exc:
            raise ValueError(f"{name}, line {n}: {exc}") from None
    if not out:
        raise ValueError(f"{name}: no {what} found")
    return out


def parse_identities(text: str, name: str = "identity file") -> list[Identity]:
    """Every identity in the text of an identity file.

    :raises ValueError: a line that is not an identity (named by its number), or none.
    """
    return list(_parse_lines(text, name, parse_identity, "identity"))


def parse_recipients(text: str, name: str = "recipients file") -> list[Recipient]:
    """Every recipient in the text of a recipients file.

    :raises ValueError: a line that is not a recipient (named by its number), or none.
    """
    return _parse_lines(text, name, parse_recipient, "recipient")


def read_identity_file(path: str | Path) -> list[Identity]:
    """The identities in the file at ``path``."""
    return parse_identities(Path(path).read_text(encoding="utf-8"), str(path))


def identity_recipient(identity: Identity) -> Recipient:
    """The public recipient of a key identity.  :raises ValueError: not a key."""
    if isinstance(identity, (X25519Identity, HybridIdentity)):
        return identity.recipient()
    raise ValueError("only key identities have a recipient")
