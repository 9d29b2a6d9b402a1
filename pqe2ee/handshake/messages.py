"""Handshake messages, byte by byte (docs/protocol.md §3), with a strict parser.

Every decoder consumes its whole body: a short field, a length running past the end, a
zero count where one is required, a duplicate, or trailing bytes raise
:class:`DecodeError`, which the connection turns into a ``decode error`` alert.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "MSG_CLIENT_HELLO",
    "MSG_ENCRYPTED_EXTENSIONS",
    "MSG_FINISHED",
    "MSG_HELLO_RETRY",
    "MSG_IDENTITY",
    "MSG_IDENTITY_VERIFY",
    "MSG_KEM_CIPHERTEXT",
    "MSG_SERVER_HELLO",
    "VERSION",
    "ClientHello",
    "DecodeError",
    "EncryptedExtensions",
    "Finished",
    "HelloRetryRequest",
    "IdentityVerify",
    "KemCiphertext",
    "Reader",
    "ServerHello",
    "VersionError",
    "frame_message",
]

#: The protocol version this implementation speaks (docs/protocol.md §3.1).  A client
#: sends the highest version it speaks and speaks every one from 2 up to it; version 1
#: (its transcript, labels and messages differ) is refused.
VERSION = 0x0002
OLDEST_VERSION = 0x0002
MSG_CLIENT_HELLO = 1
MSG_HELLO_RETRY = 2
MSG_SERVER_HELLO = 3
MSG_ENCRYPTED_EXTENSIONS = 8
MSG_IDENTITY = 11
MSG_KEM_CIPHERTEXT = 12
MSG_IDENTITY_VERIFY = 15
MSG_FINISHED = 20

MAX_SUITES = 64
MAX_SHARES = 4

SuiteCodes = tuple[int, int, int]


class DecodeError(Exception):
    """A handshake message does not parse (internal; becomes RemoteProtocolError)."""


class VersionError(DecodeError):
    """The peer speaks only a protocol version this side does not (§3.1)."""


class Reader:
    """Reads fields off a byte string, refusing to run past its end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes; :class:`DecodeError` if fewer are left."""
        if self._pos + n > len(self._data):
            raise DecodeError("message is truncated")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        """One byte, as an integer."""
        return self.take(1)[0]

    def u16(self) -> int:
        """A big-endian 16-bit integer."""
        return int.from_bytes(self.take(2), "big")

    def opaque8(self) -> bytes:
        """Bytes prefixed by a one-byte length."""
        return self.take(self.u8())

    def opaque16(self) -> bytes:
        """Bytes prefixed by a two-byte length."""
        return self.take(self.u16())

    def suite(self) -> SuiteCodes:
        """One suite: its KEM, auth and AEAD code points (three u16)."""
        return self.u16(), self.u16(), self.u16()

    def suites(self, n: int) -> tuple[SuiteCodes, ...]:
        """``n`` suites' code points in one read (a ClientHello offers dozens)."""
        codes = struct.unpack(f">{3 * n}H", self.take(6 * n))
        return tuple(zip(codes[0::3], codes[1::3], codes[2::3], strict=True))

    def version(self) -> None:
        """The protocol version of a server's message: exactly this one (§3.1).

        :raises VersionError: any other version.
        """
        version = self.u16()
        if version != VERSION:
            raise VersionError(
                f"the server answered with protocol version {version}; this side speaks "
                f"version {VERSION}"
            )

    def client_version(self) -> int:
        """The highest version a client speaks; this side then uses its own (§3.1).

        :raises VersionError: the client speaks only versions older than this one.
        """
        version = self.u16()
        if version < OLDEST_VERSION:
            raise VersionError(
                f"the client speaks pqe2ee protocol version {version}; this side speaks "
                f"version {VERSION} (upgrade the client)"
            )
        return version

    def done(self) -> None:
        """Refuse trailing bytes: every message is parsed exactly to its end."""
        if self._pos != len(self._data):
            raise DecodeError("message has trailing bytes")


def frame_message(msg_type: int, body: bytes) -> bytes:
    """``msg_type u8 || length u24 || body``."""
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def _suite_bytes(*suites: SuiteCodes) -> bytes:
    return struct.pack(f">{3 * len(suites)}H", *(c for codes in suites for c in codes))


def _o8(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _o16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


@dataclass(frozen=True)
class ClientHello:
    """ClientHello (§3): version, 32-byte random, suites offered in preference order,
    one ephemeral key share per KEM sent, the name of a pre-shared key (may be empty),
    a ciphertext encapsulated to the server's ``kem`` identity when the client knows it
    already (empty otherwise; §6.2), and then, sealed under a key derived from that
    ciphertext's secret, the client's own ``kem`` Identity (empty otherwise; §6.3)."""

    random: bytes
    suites: tuple[SuiteCodes, ...]
    key_shares: tuple[tuple[int, bytes], ...]
    psk_identity: bytes = b""
    server_auth_ct: bytes = b""
    early_identity: bytes = b""

    def prefix(self, early_identity_size: int | None = None) -> bytes:
        """The message (header included) up to its ``early_identity`` field, for an
        early identity of ``early_identity_size`` bytes (default: this one's): what the
        key sealing that field is bound to (§6.3)."""
        body = VERSION.to_bytes(2, "big") + self.random
        body += bytes([len(self.suites)]) + _suite_bytes(*self.suites)
        body += bytes([len(self.key_shares)])
        body += b"".join(kem.to_bytes(2, "big") + _o16(pk) for kem, pk in self.key_shares)
        body += _o8(self.psk_identity) + _o16(self.server_auth_ct)
        size = len(self.early_identity) if early_identity_size is None else early_identity_size
        return bytes([MSG_CLIENT_HELLO]) + (len(body) + 2 + size).to_bytes(3, "big") + body

    def encode(self) -> bytes:
        """The whole message, header included."""
        return self.prefix() + _o16(self.early_identity)

    @classmethod
    def decode(cls, body: bytes) -> ClientHello:
        """Parse a body; :class:`DecodeError` on any malformation, :class:`VersionError`
        for a client of an older protocol version."""
        r = Reader(body)
        r.client_version()
        random = r.take(32)
        n = r.u8()
        if not 1 <= n <= MAX_SUITES:
            raise DecodeError(f"ClientHello offers {n} suites (1..{MAX_SUITES} allowed)")
        suites = r.suites(n)
        if len(set(suites)) != n:
            raise DecodeError("ClientHello offers a suite twice")
        n = r.u8()
        if not 1 <= n <= MAX_SHARES:
            raise DecodeError(f"ClientHello has {n} key shares (1..{MAX_SHARES} allowed)")
        shares = tuple((r.u16(), r.opaque16()) for _ in range(n))
        if len({kem for kem, _ in shares}) != n:
            raise DecodeError("ClientHello has two key shares for one KEM")
        psk_identity = r.opaque8()
        server_auth_ct = r.opaque16()
        early_identity = r.opaque16()
        r.done()
        if early_identity and not server_auth_ct:
            raise DecodeError("ClientHello has an early identity but no server_auth_ct")
        return cls(random, suites, shares, psk_identity, server_auth_ct, early_identity)


@dataclass(frozen=True)
class HelloRetryRequest:
    """HelloRetryRequest (§3): the suite the server wants, whose KEM got no share."""

    suite: SuiteCodes

    def encode(self) -> bytes:
        """The whole message, header included."""
        return frame_message(MSG_HELLO_RETRY, VERSION.to_bytes(2, "big") + _suite_bytes(self.suite))

    @classmethod
    def decode(cls, body: bytes) -> HelloRetryRequest:
        """Parse a body; :class:`DecodeError` on any malformation."""
        r = Reader(body)
        r.version()
        suite = r.suite()
        r.done()
        return cls(suite)


@dataclass(frozen=True)
class ServerHello:
    """ServerHello (§3): 32-byte random, the chosen suite and the KEM ciphertext
    encapsulated to the client's share."""

    random: bytes
    suite: SuiteCodes
    ciphertext: bytes

    def encode(self) -> bytes:
        """The whole message, header included."""
        body = VERSION.to_bytes(2, "big") + self.random + _suite_bytes(self.suite)
        return frame_message(MSG_SERVER_HELLO, body + _o16(self.ciphertext))

    @classmethod
    def decode(cls, body: bytes) -> ServerHello:
        """Parse a body; :class:`DecodeError` on any malformation."""
        r = Reader(body)
        r.version()
        random, suite, ct = r.take(32), r.suite(), r.opaque16()
        r.done()
        return cls(random, suite, ct)


@dataclass(frozen=True)
class EncryptedExtensions:
    """EncryptedExtensions (§3): flags; bit 0 asks the client for its identity."""

    require_client_identity: bool

    def encode(self) -> bytes:
        """The whole message, header included."""
        return frame_message(MSG_ENCRYPTED_EXTENSIONS, bytes([int(self.require_client_identity)]))

    @classmethod
    def decode(cls, body: bytes) -> EncryptedExtensions:
        """Parse a body; :class:`DecodeError` on any malformation."""
        r = Reader(body)
        flags = r.u8()
        r.done()
        if flags & ~1:
            raise DecodeError("EncryptedExtensions has unknown flags")
        return cls(bool(flags & 1))


@dataclass(frozen=True)
class IdentityVerify:
    """IdentityVerify (§3, §6): one signature per scheme of the identity (two for hybrid)
    over the context string and the transcript hash."""

    signatures: tuple[bytes, ...]

    def encode(self) -> bytes:
        """The whole message, header included."""
        body = bytes([len(self.signatures)]) + b"".join(_o16(s) for s in self.signatures)
        return frame_message(MSG_IDENTITY_VERIFY, body)

    @classmethod
    def decode(cls, body: bytes) -> IdentityVerify:
        """Parse a body; :class:`DecodeError` on any malformation."""
        r = Reader(body)
        n = r.u8()
        if not 1 <= n <= 2:
            raise DecodeError(f"IdentityVerify has {n} signatures (1 or 2 allowed)")
        sigs = tuple(r.opaque16() for _ in range(n))
        r.done()
        return cls(sigs)


@dataclass(frozen=True)
class KemCiphertext:
    """KemCiphertext (§3, §6.2): a ciphertext encapsulated to the receiver's ``kem``
    identity; the receiver proves it holds the secret key by the Finished that follows."""

    ciphertext: bytes

    def encode(self) -> bytes:
        """The whole message, header included."""
        return frame_message(MSG_KEM_CIPHERTEXT, _o16(self.ciphertext))

    @classmethod
    def decode(cls, body: bytes) -> KemCiphertext:
        """Parse a body; :class:`DecodeError` on any malformation (the length is the
        static KEM's, checked by the caller that knows it)."""
        r = Reader(body)
        ct = r.opaque16()
        r.done()
        return cls(ct)


@dataclass(frozen=True)
class Finished:
    """Finished (§3, §5): HMAC-SHA-256 under the sender's finished key over the transcript."""

    verify_data: bytes

    def encode(self) -> bytes:
        """The whole message, header included."""
        return frame_message(MSG_FINISHED, self.verify_data)

    @classmethod
    def decode(cls, body: bytes) -> Finished:
        """Parse a body; :class:`DecodeError` on any malformation."""
        if len(body) != 32:
            raise DecodeError("Finished must be 32 bytes")
        return cls(body)
