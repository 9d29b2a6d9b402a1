"""The few TLS 1.3 messages the scan builds and parses (RFC 8446 §4), and nothing more.

The scan writes one ClientHello (§4.1.2) and reads the server's first flight: ServerHello
or HelloRetryRequest (§4.1.3, §4.1.4), then EncryptedExtensions (§4.3.1) and Certificate
(§4.4.2) once decrypted.  Every parser checks each length against what is left, so a
truncated or lying message raises :class:`~pqe2ee.exceptions.RemoteProtocolError` naming
the field, never an ``IndexError``; it is not a TLS implementation and negotiates nothing
past the server's flight.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from pqe2ee.exceptions import RemoteProtocolError

__all__ = [
    "CIPHER_SUITES",
    "HRR_RANDOM",
    "ClientHelloSpec",
    "Reader",
    "ServerHello",
    "build_client_hello",
    "handshake_message",
    "parse_certificate_list",
    "parse_encrypted_extensions",
    "parse_server_hello",
    "split_handshake",
]

# Handshake message types (RFC 8446 §4)
CLIENT_HELLO = 1
SERVER_HELLO = 2
ENCRYPTED_EXTENSIONS = 8
CERTIFICATE = 11
CERTIFICATE_REQUEST = 13
MESSAGE_HASH = 254

# Record content types (§5.1)
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23

# Extensions (§4.2)
EXT_SERVER_NAME = 0
EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_SIGNATURE_ALGORITHMS = 13
EXT_PADDING = 21
EXT_SUPPORTED_VERSIONS = 43
EXT_COOKIE = 44
EXT_PSK_KEY_EXCHANGE_MODES = 45
EXT_KEY_SHARE = 51

TLS13 = 0x0304
TLS12 = 0x0303

#: A ServerHello with this random is a HelloRetryRequest: SHA-256("HelloRetryRequest").
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

#: The TLS 1.3 cipher suites offered: code point -> (name, hash name, key length).
CIPHER_SUITES: dict[int, tuple[str, str, int]] = {
    0x1301: ("TLS_AES_128_GCM_SHA256", "sha256", 16),
    0x1302: ("TLS_AES_256_GCM_SHA384", "sha384", 32),
    0x1303: ("TLS_CHACHA20_POLY1305_SHA256", "sha256", 32),
}

# ECDHE suites of TLS 1.2, offered only to learn the version of a server without 1.3.
_TLS12_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)

# ECDSA, EdDSA, RSA-PSS, RSA PKCS#1 (certificates only) and ML-DSA (draft-ietf-tls-mldsa).
_SIGNATURE_ALGORITHMS = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
    0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x0904, 0x0905, 0x0906,
)  # fmt: skip

ALERTS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    47: "illegal_parameter",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    120: "no_application_protocol",
}


def _u8(data: bytes) -> bytes:
    return struct.pack("!B", len(data)) + data


def _u16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _u24(data: bytes) -> bytes:
    return struct.pack("!I", len(data))[1:] + data


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(body)


def handshake_message(kind: int, body: bytes) -> bytes:
    """One handshake message: type, 24-bit length, body (RFC 8446 §4)."""
    return bytes([kind]) + _u24(body)


@dataclass
class ClientHelloSpec:
    """What goes into one ClientHello.

    :param groups: the NamedGroup code points offered, in preference order.
    :param shares: ``(group, key_exchange)`` for each key share sent.
    :param server_name: the SNI host name, or None (IP literals get none, RFC 6066 §3).
    :param random: the 32-byte client random; :param session_id: 32 bytes (middlebox
        compatibility, RFC 8446 §D.4); both are kept for a second ClientHello after a
        HelloRetryRequest.
    :param allow_tls12: also offer TLS 1.2 and its ECDHE suites, to learn the version of a
        server without 1.3 (the scan never continues such a handshake).
    :param pad_to: pad the handshake message to at least this many bytes (RFC 7685).
    :param cookie: the HelloRetryRequest's cookie, echoed (§4.2.2).
    """

    groups: list[int]
    shares: list[tuple[int, bytes]]
    server_name: str | None
    random: bytes
    session_id: bytes
    allow_tls12: bool = False
    pad_to: int = 0
    cookie: bytes | None = None


def build_client_hello(spec: ClientHelloSpec) -> bytes:
    """The ClientHello handshake message (header included) for ``spec`` (§4.1.2)."""
    suites = list(CIPHER_SUITES) + (list(_TLS12_SUITES) if spec.allow_tls12 else [])
    versions = [TLS13, TLS12] if spec.allow_tls12 else [TLS13]
    exts = []
    if spec.server_name:
        name = spec.server_name.encode("idna")
        exts.append(_ext(EXT_SERVER_NAME, _u16(b"\x00" + _u16(name))))
    exts.append(
        _ext(EXT_SUPPORTED_GROUPS, _u16(b"".join(struct.pack("!H", g) for g in spec.groups)))
    )
    exts.append(
        _ext(
            EXT_SIGNATURE_ALGORITHMS,
            _u16(b"".join(struct.pack("!H", s) for s in _SIGNATURE_ALGORITHMS)),
        )
    )
    exts.append(_ext(EXT_SUPPORTED_VERSIONS, _u8(b"".join(struct.pack("!H", v) for v in versions))))
    exts.append(_ext(EXT_PSK_KEY_EXCHANGE_MODES, _u8(b"\x01")))
    if spec.allow_tls12:
        exts.append(_ext(EXT_EC_POINT_FORMATS, _u8(b"\x00")))
    if spec.cookie is not None:
        exts.append(_ext(EXT_COOKIE, _u16(spec.cookie)))
    shares = b"".join(struct.pack("!H", g) + _u16(k) for g, k in spec.shares)
    exts.append(_ext(EXT_KEY_SHARE, _u16(shares)))

    def body(extensions: list[bytes]) -> bytes:
        return (
            struct.pack("!H", TLS12)
            + spec.random
            + _u8(spec.session_id)
            + _u16(b"".join(struct.pack("!H", s) for s in suites))
            + _u8(b"\x00")
            + _u16(b"".join(extensions))
        )

    plain = body(exts)
    if spec.pad_to and len(plain) + 4 < spec.pad_to:
        # the padding extension itself costs 4 bytes of header
        fill = max(0, spec.pad_to - (len(plain) + 4) - 4)
        plain = body([*exts, _ext(EXT_PADDING, bytes(fill))])
    return handshake_message(CLIENT_HELLO, plain)


class Reader:
    """A cursor over a message that refuses to read past its end."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def take(self, n: int, field_name: str) -> bytes:
        """The next ``n`` bytes.

        :raises RemoteProtocolError: fewer than ``n`` are left.
        """
        if self._pos + n > len(self._data):
            raise RemoteProtocolError(f"{self._what}: {field_name} is truncated")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, size: int, field_name: str) -> int:
        """A big-endian unsigned integer of ``size`` bytes."""
        return int.from_bytes(self.take(size, field_name), "big")

    def vector(self, size: int, field_name: str) -> bytes:
        """A vector with a ``size``-byte length prefix."""
        return self.take(self.uint(size, field_name), field_name)

    def remaining(self) -> int:
        """Bytes left."""
        return len(self._data) - self._pos


def _extensions(raw: bytes, what: str) -> dict[int, bytes]:
    reader = Reader(raw, what)
    out: dict[int, bytes] = {}
    while reader.remaining():
        kind = reader.uint(2, "extension type")
        body = reader.vector(2, f"extension {kind}")
        if kind in out:
            raise RemoteProtocolError(f"{what}: extension {kind} appears twice")
        out[kind] = body
    return out


@dataclass
class ServerHello:
    """A parsed ServerHello or HelloRetryRequest (§4.1.3, §4.1.4).

    :param version: the negotiated version (supported_versions, else legacy_version).
    :param cipher_suite: the chosen cipher suite's code point.
    :param is_hrr: a HelloRetryRequest.
    :param group: the key share's group (for an HRR: the group asked for), or None.
    :param key_exchange: the server's key share (None for an HRR or TLS 1.2).
    :param cookie: an HRR's cookie, to echo.
    """

    version: int
    cipher_suite: int
    is_hrr: bool
    group: int | None
    key_exchange: bytes | None
    cookie: bytes | None


def parse_server_hello(body: bytes) -> ServerHello:
    """Parse a ServerHello / HelloRetryRequest body (after the 4-byte header).

    :raises RemoteProtocolError: malformed, or a TLS 1.3 hello without a usable key share.
    """
    reader = Reader(body, "ServerHello")
    legacy_version = reader.uint(2, "legacy_version")
    random = reader.take(32, "random")
    reader.vector(1, "legacy_session_id_echo")
    suite = reader.uint(2, "cipher_suite")
    reader.take(1, "legacy_compression_method")
    exts = _extensions(reader.vector(2, "extensions"), "ServerHello") if reader.remaining() else {}
    is_hrr = random == HRR_RANDOM
    version = legacy_version
    if EXT_SUPPORTED_VERSIONS in exts:
        version = Reader(exts[EXT_SUPPORTED_VERSIONS], "supported_versions").uint(2, "version")
    if version != TLS13:
        return ServerHello(version, suite, is_hrr, None, None, None)
    if suite not in CIPHER_SUITES:
        raise RemoteProtocolError(f"ServerHello: cipher suite 0x{suite:04x} was not offered")
    cookie = None
    if EXT_COOKIE in exts:
        cookie = Reader(exts[EXT_COOKIE], "cookie").vector(2, "cookie")
    if EXT_KEY_SHARE not in exts:
        raise RemoteProtocolError("ServerHello: TLS 1.3 without a key_share (PSK-only?)")
    share = Reader(exts[EXT_KEY_SHARE], "key_share")
    group = share.uint(2, "group")
    if is_hrr:
        return ServerHello(version, suite, True, group, None, cookie)
    key_exchange = share.vector(2, "key_exchange")
    return ServerHello(version, suite, False, group, key_exchange, cookie)


def split_handshake(buffer: bytearray, limit: int) -> list[tuple[int, bytes, bytes]]:
    """Take every complete handshake message out of ``buffer``.

    :returns: ``(type, body, whole message)`` for each; an incomplete tail stays.
    :raises RemoteProtocolError: a message claims more than ``limit`` bytes.
    """
    out = []
    while len(buffer) >= 4:
        length = int.from_bytes(buffer[1:4], "big")
        if length > limit:
            raise RemoteProtocolError(
                f"handshake message of {length} bytes exceeds the {limit}-byte limit"
            )
        if len(buffer) < 4 + length:
            break
        whole = bytes(buffer[: 4 + length])
        del buffer[: 4 + length]
        out.append((whole[0], whole[4:], whole))
    return out


def parse_encrypted_extensions(body: bytes) -> dict[int, bytes]:
    """EncryptedExtensions' extensions (§4.3.1)."""
    reader = Reader(body, "EncryptedExtensions")
    exts = _extensions(reader.vector(2, "extensions"), "EncryptedExtensions")
    if reader.remaining():
        raise RemoteProtocolError("EncryptedExtensions: trailing bytes")
    return exts


def parse_certificate_list(body: bytes) -> list[bytes]:
    """The DER certificates of a TLS 1.3 Certificate message, leaf first (§4.4.2).

    :raises RemoteProtocolError: malformed or empty.
    """
    reader = Reader(body, "Certificate")
    reader.vector(1, "certificate_request_context")
    entries = Reader(reader.vector(3, "certificate_list"), "Certificate")
    if reader.remaining():
        raise RemoteProtocolError("Certificate: trailing bytes")
    certs = []
    while entries.remaining():
        certs.append(entries.vector(3, "cert_data"))
        entries.vector(2, "extensions")
    if not certs:
        raise RemoteProtocolError("Certificate: the server sent no certificate")
    return certs
