"""The age v1 header: version line, recipient stanzas, MAC (C2SP age spec, "Header").

::

    age-encryption.org/v1
    -> X25519 <base64 share>
    <base64 body, 64 columns, ending with a line shorter than 64 (maybe empty)>
    --- <base64 HMAC-SHA256>

Parsing is strict, as the spec asks, so that the bytes the MAC covers are exactly the
bytes that were parsed: LF line ends only, canonical unpadded base64, arguments of
printable ASCII, every stanza body ending with a short line.  Anything else is an
:class:`~pqe2ee.exceptions.AgeHeaderError`.

Security property: the MAC (HMAC-SHA256 under ``HKDF(file key, "header")``) binds every
stanza to the file key, so a header cannot be changed without the file key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from pqe2ee.exceptions import AgeHeaderError, AgeHeaderMACError
from pqe2ee.hazmat.kdf import hkdf

__all__ = [
    "FILE_KEY_SIZE",
    "VERSION_LINE",
    "Header",
    "Stanza",
    "b64decode",
    "b64encode",
    "header_mac",
    "read_header",
]

VERSION_LINE = b"age-encryption.org/v1"
FILE_KEY_SIZE = 16
_COLUMNS = 64
# Generous bounds against memory exhaustion by a hostile header: a hybrid stanza line is
# about 1.5 KB, so this admits hundreds of recipients.
MAX_LINE = 64 * 1024
MAX_HEADER = 4 * 1024 * 1024


def b64encode(data: bytes) -> str:
    """Standard base64 without padding, as every age header field is written."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str | bytes, what: str) -> bytes:
    """Strict, canonical, unpadded standard base64.

    :raises AgeHeaderError: padding, a character outside the alphabet, an impossible
        length, or non-zero unused bits (a non-canonical encoding).
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    if b"=" in raw or len(raw) % 4 == 1:
        raise AgeHeaderError(f"{what}: not canonical unpadded base64")
    try:
        data = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except binascii.Error:
        raise AgeHeaderError(f"{what}: invalid base64") from None
    if b64encode(data).encode() != raw:
        raise AgeHeaderError(f"{what}: non-canonical base64")
    return data


def _valid_arg(arg: str) -> bool:
    return bool(arg) and all(33 <= ord(c) <= 126 for c in arg)


@dataclass
class Stanza:
    """One recipient stanza: a type, its arguments and a binary body."""

    type: str
    args: list[str] = field(default_factory=list)
    body: bytes = b""

    def __post_init__(self) -> None:
        for a in (self.type, *self.args):
            if not _valid_arg(a):
                raise ValueError(f"age stanza argument {a!r} is empty or not printable ASCII")

    def encode(self) -> bytes:
        """The stanza as it appears in a header, final newline included."""
        out = ["-> " + " ".join((self.type, *self.args)) + "\n"]
        body = b64encode(self.body)
        # Whole 64-column lines, then a final short (possibly empty) line.
        for i in range(0, len(body) + 1, _COLUMNS):
            out.append(body[i : i + _COLUMNS] + "\n")
        return "".join(out).encode("ascii")


def header_mac(file_key: bytes, header_without_mac: bytes) -> bytes:
    """HMAC-SHA256 of the header up to and including ``---``, keyed by HKDF(file key)."""
    mac_key = hkdf(file_key, salt=b"", info=b"header", length=32)
    return hmac.digest(mac_key, header_without_mac, "sha256")


@dataclass
class Header:
    """A parsed (or to be written) header: the stanzas and the MAC."""

    stanzas: list[Stanza]
    mac: bytes = b""
    #: The exact bytes the MAC covers (up to and including ``---``).
    signed: bytes = b""

    @classmethod
    def build(cls, stanzas: Sequence[Stanza], file_key: bytes) -> Header:
        """A new header for ``stanzas``, MAC'd under ``file_key``."""
        signed = VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas) + b"---"
        return cls(list(stanzas), header_mac(file_key, signed), signed)

    def encode(self) -> bytes:
        """The header bytes, ending with the MAC line's newline."""
        return self.signed + b" " + b64encode(self.mac).encode("ascii") + b"\n"

    def verify_mac(self, file_key: bytes) -> None:
        """:raises AgeHeaderMACError: the MAC does not match (the header was changed)."""
        if not hmac.compare_digest(header_mac(file_key, self.signed), self.mac):
            raise AgeHeaderMACError("age header MAC mismatch: the header was modified")


def _read_line(src: BinaryIO, total: int) -> bytes:
    """One LF-terminated line without its LF."""
    line = src.readline(MAX_LINE + 1)
    if not line.endswith(b"\n"):
        if len(line) > MAX_LINE:
            raise AgeHeaderError(f"age header line longer than {MAX_LINE} bytes")
        raise AgeHeaderError("age header is truncated (a line has no end)")
    if total + len(line) > MAX_HEADER:
        raise AgeHeaderError(f"age header larger than {MAX_HEADER} bytes")
    return line[:-1]


def _ascii(line: bytes, what: str) -> str:
    try:
        return line.decode("ascii")
    except UnicodeDecodeError:
        raise AgeHeaderError(f"{what}: not ASCII") from None


def read_header(src: BinaryIO) -> Header:
    """Parse a header from ``src``, leaving it positioned at the payload nonce.

    ``src`` should be buffered (``readline``): the header is read a line at a time.

    :raises AgeHeaderError: anything that is not a well-formed age v1 header.
    """
    signed = bytearray()
    first = _read_line(src, 0)
    if first != VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise AgeHeaderError(f"unsupported age version {first[19:40]!r}; only v1")
        raise AgeHeaderError("not an age file (the first line is not age-encryption.org/v1)")
    signed += first + b"\n"
    stanzas: list[Stanza] = []
    while True:
        line = _read_line(src, len(signed))
        signed += line + b"\n"
        if line.startswith(b"-> "):
            args = _ascii(line[3:], "age stanza").split(" ")
            if not all(_valid_arg(a) for a in args):
                raise AgeHeaderError("age stanza has an empty or non-printable argument")
            body = bytearray()
            while True:
                body_line = _read_line(src, len(signed))
                signed += body_line + b"\n"
                if len(body_line) > _COLUMNS:
                    raise AgeHeaderError("age stanza body line longer than 64 columns")
                body += b64decode(body_line, "age stanza body")
                if len(body_line) < _COLUMNS:
                    break
            stanzas.append(Stanza(args[0], args[1:], bytes(body)))
        elif line.startswith(b"---"):
            if not line.startswith(b"--- "):
                raise AgeHeaderError("age header MAC line must start with '--- '")
            mac = b64decode(line[4:], "age header MAC")
            if len(mac) != 32:
                raise AgeHeaderError("age header MAC must be 32 bytes")
            if not stanzas:
                raise AgeHeaderError("age header has no recipient stanza")
            del signed[-len(line) - 1 :]
            return Header(stanzas, mac, bytes(signed + b"---"))
        else:
            raise AgeHeaderError("age header line is neither a stanza ('-> ') nor the MAC")
