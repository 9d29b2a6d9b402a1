"""The TLS 1.3 probe: which key-exchange groups a server accepts, proven by decryption.

For one target, :func:`scan_tls` opens short connections, each sending one hand-built
ClientHello and reading the server's first flight, then closing; nothing past the
server's flight is sent, and no application data:

1. **Preferred group**: every group offered, with key shares for X25519MLKEM768 and
   X25519 (what browsers send).  The server's choice (or the group its
   HelloRetryRequest asks for, which the probe then answers with a second ClientHello on
   the same connection, RFC 8446 §4.1.4) is ``preferred_group``; its version is
   ``tls_version``; its certificate is read from the decrypted flight (from another
   probe's, when this one fails).  This hello is already 1.46 KB, about one full packet.
2. **Each group alone** (:data:`~pqe2ee.scan.model.GROUPS`), with its own key share:
   ``"supported"`` when the server chose it *and* its encrypted flight decrypted,
   ``"not supported"`` when it refused with an alert (or answered TLS 1.2), ``"error"``
   otherwise (the reason in ``error``).  These connections run concurrently.
3. **A large ClientHello** (the same hello padded to 2,500 bytes, two packets, RFC 7685):
   ``large_client_hello_ok`` is whether the server still answers.  A middlebox that drops
   a ClientHello past one packet is the classic failure of hybrid key exchange.

**Verification.**  The key shares come from pqe2ee's own KEMs, byte-exact with
draft-ietf-tls-ecdhe-mlkem (the client share is the KEM public key, the server share its
ciphertext, the shared secret the KEM's; for ECDHE the "ciphertext" is the server's
point and the secret the x-coordinate).  The probe derives the server's handshake
traffic key from that secret and the transcript (RFC 8446 §7.1) and decrypts
EncryptedExtensions and Certificate: an AEAD tag that checks proves both sides computed
the same secret.  ``key_exchange_verified`` says the preferred group's flight decrypted
and parsed.  The certificate is parsed, not validated: the scan inventories, it does not
trust.

**Hostile servers.**  Every connection of a target shares one deadline (``timeout``
seconds from the start), so a server trickling a byte a second cannot hold the scan
longer; record and message lengths are bounded before anything is allocated; garbage,
HTTP, resets and closed ports become ``error`` in the result, never an exception.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from pqe2ee.exceptions import InvalidInput, InvalidTag, Pqe2eeError, RemoteProtocolError
from pqe2ee.hazmat.kem import KEMPrivateKey, get_kem
from pqe2ee.scan import _tls_keys as keys
from pqe2ee.scan import _tls_messages as msg
from pqe2ee.scan.model import GROUPS, Certificate, ScanResult, Target

__all__ = ["KEM_FOR_GROUP", "PQ_GROUPS", "certificate_summary", "scan_tls"]

#: The pqe2ee KEM behind each TLS group name.
KEM_FOR_GROUP: dict[str, str] = {
    "X25519MLKEM768": "X25519MLKEM768",
    "SecP256r1MLKEM768": "SecP256r1MLKEM768",
    "SecP384r1MLKEM1024": "SecP384r1MLKEM1024",
    "MLKEM768": "ML-KEM-768",
    "MLKEM1024": "ML-KEM-1024",
    "X25519": "X25519",
    "P-256": "P-256",
    "P-384": "P-384",
}
#: The groups whose key exchange resists a quantum computer (hybrid or pure ML-KEM).
PQ_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "MLKEM1024")
_NAME_BY_CODE = {code: name for name, code in GROUPS.items()}
_PREFERRED_SHARES = ("X25519MLKEM768", "X25519")

#: A record's fragment: 2^14 bytes, plus 256 of AEAD expansion when protected (§5.1, §5.2).
MAX_PLAINTEXT = 2**14
MAX_CIPHERTEXT = 2**14 + 256
#: The largest handshake message accepted (a certificate chain fits many times over).
MAX_MESSAGE = 2**17
#: The large ClientHello's size: past one 1500-byte packet, into a second.
LARGE_HELLO = 2500

_VERSIONS = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1.0"}
_ML_DSA_OIDS = {
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
}


class _Failure(Exception):
    """A connection's probe ended without the server's flight; ``kind`` says how."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        # "connect": no connection; "not_tls": garbage or HTTP; "alert": a TLS refusal;
        # "dropped": reset, closed or silent after connecting; "protocol": malformed TLS;
        # "local": this machine cannot make the key share
        self.kind = kind


@dataclass
class _Outcome:
    """What one connection learnt."""

    version: int
    cipher_suite: int | None = None
    group: str | None = None
    hrr: bool = False
    verified: bool = False
    verify_error: str | None = None
    certificate: Certificate | None = None


class _Connection:
    """One TCP connection's record layer, every read under the target's deadline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.phase = "waiting for the ServerHello"
        self.received_any = False

    async def send(self, content_type: int, payload: bytes) -> None:
        self.writer.write(struct.pack("!BHH", content_type, 0x0301, len(payload)) + payload)
        await self.writer.drain()

    async def record(self) -> tuple[int, bytes, bytes]:
        """The next record: ``(content type, header, fragment)``, lengths bounded."""
        header = await self.reader.readexactly(5)
        if not self.received_any:
            self.received_any = True
            if header[0] not in (msg.HANDSHAKE, msg.ALERT) or header[1] != 3:
                if header.startswith(b"HTTP/"):
                    raise _Failure("not_tls", "the server answered in HTTP, not TLS")
                raise _Failure("not_tls", f"not a TLS server: its answer starts {header!r}")
        kind = header[0]
        length = int.from_bytes(header[3:5], "big")
        limit = MAX_CIPHERTEXT if kind == msg.APPLICATION_DATA else MAX_PLAINTEXT
        if header[1] != 3 or kind not in (20, 21, 22, 23):
            raise _Failure("protocol", f"malformed TLS record header {header.hex()}")
        if length > limit:
            raise _Failure(
                "protocol",
                f"the server sent a record of {length} bytes (TLS allows at most {limit})",
            )
        fragment = await self.reader.readexactly(length)
        if kind == msg.ALERT:
            raise _alert(fragment)
        return kind, header, fragment


def _alert(fragment: bytes) -> _Failure:
    if len(fragment) != 2:
        return _Failure("protocol", f"malformed alert of {len(fragment)} bytes")
    name = msg.ALERTS.get(fragment[1], f"alert {fragment[1]}")
    return _Failure("alert", f"the server refused the handshake: {name}")


def _sni(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.rstrip(".")
    return None


def _share(group: str) -> tuple[KEMPrivateKey, tuple[int, bytes]]:
    key = get_kem(KEM_FOR_GROUP[group]).generate()
    return key, (GROUPS[group], key.public_key().public_bytes_raw())


async def _read_handshake(
    conn: _Connection, buffer: bytearray, decrypter: keys.HandshakeDecrypter | None
) -> tuple[int, bytes, bytes]:
    """The next handshake message, from plaintext or (with ``decrypter``) protected records."""
    while True:
        found = msg.split_handshake(buffer, MAX_MESSAGE)
        if found:
            first, *rest = found
            # put the others back, in order
            for _, _, whole in reversed(rest):
                buffer[:0] = whole
            return first
        kind, header, fragment = await conn.record()
        if kind == msg.CHANGE_CIPHER_SPEC:
            continue  # middlebox compatibility (RFC 8446 §D.4): ignored
        if decrypter is None:
            if kind != msg.HANDSHAKE:
                raise _Failure("protocol", f"unexpected record type {kind} before ServerHello")
            buffer.extend(fragment)
            continue
        if kind != msg.APPLICATION_DATA:
            raise _Failure("protocol", f"unexpected plaintext record type {kind} after ServerHello")
        inner, content = decrypter.open(header, fragment)
        if inner == msg.ALERT:
            raise _alert(content)
        if inner != msg.HANDSHAKE:
            raise _Failure("protocol", f"unexpected protected record type {inner}")
        buffer.extend(content)


async def _handshake(
    target: Target,
    offered: list[str],
    shared: list[str],
    *,
    deadline: float,
    allow_tls12: bool = False,
    pad_to: int = 0,
    decrypt: bool = True,
) -> _Outcome:
    """One connection: ClientHello (twice after an HRR), ServerHello, encrypted flight."""
    connected = False
    try:
        async with asyncio.timeout_at(deadline):
            try:
                reader, writer = await asyncio.open_connection(target.host, target.port)
            except socket.gaierror as exc:
                raise _Failure("connect", f"cannot resolve {target.host}: {exc.strerror}") from None
            except ConnectionRefusedError:
                raise _Failure("connect", "connection refused") from None
            except OSError as exc:
                raise _Failure("connect", f"cannot connect: {exc.strerror or exc}") from None
            connected = True
            conn = _Connection(reader, writer)
            try:
                return await _exchange(conn, target, offered, shared, allow_tls12, pad_to, decrypt)
            finally:
                writer.transport.abort()
    except TimeoutError:
        if not connected:
            raise _Failure("connect", "timed out connecting") from None
        raise


async def _exchange(
    conn: _Connection,
    target: Target,
    offered: list[str],
    shared: list[str],
    allow_tls12: bool,
    pad_to: int,
    decrypt: bool,
) -> _Outcome:
    private: dict[str, KEMPrivateKey] = {}
    shares = []
    for group in shared:
        private[group], share = _share(group)
        shares.append(share)
    spec = msg.ClientHelloSpec(
        groups=[GROUPS[g] for g in offered],
        shares=shares,
        server_name=_sni(target.host),
        random=os.urandom(32),
        session_id=os.urandom(32),
        allow_tls12=allow_tls12,
        pad_to=pad_to,
    )
    hello = msg.build_client_hello(spec)
    await conn.send(msg.HANDSHAKE, hello)
    buffer = bytearray()
    kind, body, whole = await _read_handshake(conn, buffer, None)
    if kind != msg.SERVER_HELLO:
        raise _Failure("protocol", f"expected a ServerHello, got handshake message {kind}")
    server_hello = _parse_hello(body)
    if server_hello.version != msg.TLS13:
        return _Outcome(version=server_hello.version)
    hash_name = msg.CIPHER_SUITES[server_hello.cipher_suite][1]
    transcript = hello + whole
    hrr = server_hello.is_hrr
    if hrr:
        asked = _NAME_BY_CODE.get(server_hello.group or -1)
        if asked not in offered or asked in shared:
            raise _Failure(
                "protocol",
                f"HelloRetryRequest asked for group 0x{server_hello.group or 0:04x}, "
                "which was not offered or already had a key share",
            )
        private = {}
        private[asked], share = _share(asked)
        spec.shares = [share]
        spec.cookie = server_hello.cookie
        hello2 = msg.build_client_hello(spec)
        # RFC 8446 §4.4.1: the first ClientHello is replaced by its hash
        message_hash = msg.handshake_message(msg.MESSAGE_HASH, keys.digest(hash_name, hello))
        transcript = message_hash + whole + hello2
        await conn.send(msg.CHANGE_CIPHER_SPEC, b"\x01")
        await conn.send(msg.HANDSHAKE, hello2)
        kind, body, whole = await _read_handshake(conn, buffer, None)
        if kind != msg.SERVER_HELLO:
            raise _Failure("protocol", f"expected a ServerHello, got handshake message {kind}")
        second = _parse_hello(body)
        if second.is_hrr:
            raise _Failure("protocol", "the server sent a second HelloRetryRequest")
        if second.group != server_hello.group:
            raise _Failure("protocol", "the ServerHello after the HelloRetryRequest changed group")
        if second.cipher_suite != server_hello.cipher_suite:
            raise _Failure("protocol", "the ServerHello after the HelloRetryRequest changed suite")
        server_hello = second
        transcript += whole
    chosen = _NAME_BY_CODE.get(server_hello.group or -1)
    if chosen is None or chosen not in private:
        raise _Failure(
            "protocol", f"the server chose group 0x{server_hello.group or 0:04x} without a share"
        )
    outcome = _Outcome(msg.TLS13, server_hello.cipher_suite, group=chosen, hrr=hrr)
    if not decrypt:
        return outcome
    conn.phase = "waiting for the encrypted flight"
    try:
        secret = private[chosen].decapsulate(server_hello.key_exchange or b"")
    except InvalidInput as exc:
        raise _Failure("protocol", f"the server's {chosen} key share is invalid: {exc}") from None
    suite = server_hello.cipher_suite
    _, _, key_size = msg.CIPHER_SUITES[suite]
    decrypter = keys.HandshakeDecrypter(
        suite,
        hash_name,
        key_size,
        keys.server_handshake_secret(hash_name, secret, keys.digest(hash_name, transcript)),
    )
    try:
        outcome.certificate = await _encrypted_flight(conn, buffer, decrypter)
    except InvalidTag as exc:
        outcome.verify_error = str(exc)
    except RemoteProtocolError as exc:
        outcome.verify_error = f"the server's encrypted flight is malformed: {exc}"
    else:
        outcome.verified = True
    return outcome


def _parse_hello(body: bytes) -> msg.ServerHello:
    try:
        return msg.parse_server_hello(body)
    except RemoteProtocolError as exc:
        raise _Failure("protocol", str(exc)) from None


async def _encrypted_flight(
    conn: _Connection, buffer: bytearray, decrypter: keys.HandshakeDecrypter
) -> Certificate:
    """Decrypt and parse EncryptedExtensions, then Certificate: the leaf's summary."""
    kind, body, _ = await _read_handshake(conn, buffer, decrypter)
    if kind != msg.ENCRYPTED_EXTENSIONS:
        raise RemoteProtocolError(f"expected EncryptedExtensions, got handshake message {kind}")
    msg.parse_encrypted_extensions(body)
    kind, body, _ = await _read_handshake(conn, buffer, decrypter)
    if kind == msg.CERTIFICATE_REQUEST:
        kind, body, _ = await _read_handshake(conn, buffer, decrypter)
    if kind != msg.CERTIFICATE:
        raise RemoteProtocolError(f"expected Certificate, got handshake message {kind}")
    leaf = msg.parse_certificate_list(body)[0]
    try:
        return certificate_summary(leaf)
    except ValueError as exc:
        raise RemoteProtocolError(f"the server's certificate does not parse: {exc}") from None


def certificate_summary(der: bytes) -> Certificate:
    """Key type and size, signature algorithm, expiry and quantum vulnerability of a cert.

    RSA, EC, EdDSA and DSA keys are quantum-vulnerable (Shor's algorithm); ML-DSA and
    SLH-DSA are not.  A key type ``cryptography`` cannot load is named by its OID and
    counted vulnerable unless it is a known post-quantum one.

    :raises ValueError: ``der`` is not an X.509 certificate.
    """
    cert = x509.load_der_x509_certificate(der)
    key_size: int | None = None
    curve: str | None = None
    oid = cert.public_key_algorithm_oid.dotted_string
    try:
        key: Any = cert.public_key()
    except Exception:  # an algorithm this cryptography cannot load (ML-DSA, SLH-DSA...)
        key = None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, key_size = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, key_size, curve = "EC", key.curve.key_size, key.curve.name
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, key_size = "Ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, key_size = "Ed448", 456
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, key_size = "DSA", key.key_size
    elif oid in _ML_DSA_OIDS:
        key_type = _ML_DSA_OIDS[oid]
    elif oid.startswith("2.16.840.1.101.3.4.3.") and 20 <= int(oid.rsplit(".", 1)[1]) <= 31:
        key_type = "SLH-DSA"
    else:
        key_type = cert.public_key_algorithm_oid._name or oid
    signature = cert.signature_algorithm_oid
    signature_name = signature._name if signature._name != "Unknown OID" else None
    return Certificate(
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        signature_algorithm=_ML_DSA_OIDS.get(signature.dotted_string)
        or signature_name
        or signature.dotted_string,
        not_after=cert.not_valid_after_utc.isoformat(),
        subject=cert.subject.rfc4514_string(),
        quantum_vulnerable=not key_type.startswith(("ML-DSA", "SLH-DSA")),
    )


async def _attempt(timeout: float, coro: Any) -> _Outcome | _Failure:
    """Run one connection's probe; every failure becomes a :class:`_Failure`."""
    try:
        outcome: _Outcome = await coro
        return outcome
    except _Failure as exc:
        return exc
    except TimeoutError:
        return _Failure("dropped", f"timed out after {timeout:g} s")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return _Failure("dropped", "the server closed the connection")
        return _Failure("dropped", "the server closed the connection mid-message")
    except ConnectionResetError:
        return _Failure("dropped", "connection reset by the server")
    except (RemoteProtocolError, ValueError) as exc:
        return _Failure("protocol", str(exc))
    except Pqe2eeError as exc:  # e.g. no backend here runs this group's ML-KEM
        return _Failure("local", f"cannot probe here: {exc}")
    except OSError as exc:
        return _Failure("dropped", f"connection failed: {exc.strerror or exc}")


async def scan_tls(target: Target, *, timeout: float) -> ScanResult:
    """Probe one TLS endpoint's groups, version, certificate and large-hello tolerance.

    The target is ``reachable`` when any probe got a TLS answer (a hello or an alert): a
    server behind a middlebox that drops the 1.4 KB hybrid ClientHello still answers the
    small classical ones, and shows as reachable with ``large_client_hello_ok`` false.

    :param target: the endpoint (a hostname gets SNI; an IP literal does not).
    :param timeout: seconds for the whole target; every connection's reads share this
        one deadline.
    :returns: the result; a failure sets ``reachable`` / ``error``, never raises.
    """
    result = ScanResult(target=str(target), protocol="tls")
    deadline = asyncio.get_running_loop().time() + timeout
    every = list(GROUPS)
    preferred = list(_PREFERRED_SHARES)
    first = await _attempt(
        timeout, _handshake(target, every, preferred, deadline=deadline, allow_tls12=True)
    )
    if isinstance(first, _Failure) and first.kind in ("connect", "not_tls"):
        result.error = str(first)
        return result
    probes = [_attempt(timeout, _handshake(target, [g], [g], deadline=deadline)) for g in every]
    large = _handshake(
        target,
        every,
        preferred,
        deadline=deadline,
        allow_tls12=True,
        pad_to=LARGE_HELLO,
        decrypt=False,
    )
    outcomes = await asyncio.gather(*probes, _attempt(timeout, large))
    answered = [o for o in (first, *outcomes) if _answered(o)]
    if not answered:
        result.error = str(first)
        return result
    result.reachable = True
    errors: list[str] = []
    if isinstance(first, _Failure):
        errors.append(f"preferred group: {first}" if first.kind != "alert" else str(first))
    else:
        result.tls_version = _VERSIONS.get(first.version, f"0x{first.version:04x}")
        result.preferred_group = first.group
        result.key_exchange_verified = first.verified
        result.certificate = first.certificate
        if first.verify_error:
            errors.append(f"{first.group}: {first.verify_error}")
    for group, outcome in zip(every, outcomes, strict=False):
        if isinstance(outcome, _Failure):
            if outcome.kind == "alert":
                result.groups[group] = "not supported"
            else:
                result.groups[group] = "error"
                errors.append(f"{group}: {outcome}")
        elif outcome.version != msg.TLS13:
            result.groups[group] = "not supported"
        elif outcome.verified:
            result.groups[group] = "supported"
        else:
            result.groups[group] = "error"
            errors.append(f"{group}: {outcome.verify_error}")
    if result.certificate is None:  # the preferred probe failed; any verified flight will do
        certs = [o.certificate for o in outcomes if isinstance(o, _Outcome) and o.certificate]
        result.certificate = certs[0] if certs else None
    last = outcomes[-1]
    if isinstance(last, _Outcome):
        result.large_client_hello_ok = True
    elif any(isinstance(o, _Outcome) for o in (first, *outcomes[:-1])):
        # a small hello got a ServerHello; this one did not
        result.large_client_hello_ok = False
        if last.kind != "alert":
            errors.append(f"large ClientHello: {last}")
    result.pq_key_exchange = any(result.groups.get(g) == "supported" for g in PQ_GROUPS)
    if errors:
        result.error = "; ".join(errors)
    return result


def _answered(outcome: _Outcome | _Failure) -> bool:
    """Whether the server spoke TLS on this connection (a hello or an alert)."""
    return isinstance(outcome, _Outcome) or outcome.kind == "alert"
