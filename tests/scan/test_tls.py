"""The TLS 1.3 probe against real servers we did not write, and against hostile fakes.

Real peers: tlslite-ng (with kyber-py: the three ML-KEM hybrids) and the standard
library's ``ssl`` server (OpenSSL 3, classical groups only), each on a free loopback port
with a throwaway certificate.  Restricting tlslite-ng to one hybrid group makes it answer
the probe's default key shares with a HelloRetryRequest.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pqe2ee.scan import _tls_messages as msg
from pqe2ee.scan.model import GROUPS, Target
from pqe2ee.scan.tls import _handshake, _sni, certificate_summary, scan_tls

tlslite = pytest.importorskip("tlslite", reason="tlslite-ng is in the test extra")

ALL = list(GROUPS)
CLASSICAL = {"X25519": "supported", "P-256": "supported", "P-384": "supported"}
NO_PQ = {g: "not supported" for g in ALL[:5]}


def _cert(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cn: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2031, 6, 30, 12, 0, tzinfo=datetime.UTC))
        .sign(key, hashes.SHA256())
    )


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _serve(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """Accept on a free loopback port, one thread per connection; yields the port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return

            def run(c: socket.socket = conn) -> None:
                c.settimeout(30)
                try:
                    handle(c)
                except Exception:
                    pass
                finally:
                    c.close()

            threading.Thread(target=run, daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        srv.close()


@pytest.fixture(scope="module")
def openssl_server() -> Iterator[int]:
    """The standard library's ssl server: OpenSSL's TLS 1.3, classical groups only."""
    key = ec.generate_private_key(ec.SECP256R1())
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "c.pem").write_bytes(
            _cert(key, "openssl.test").public_bytes(serialization.Encoding.PEM)
        )
        Path(tmp, "k.pem").write_bytes(_pem(key))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Path(tmp, "c.pem"), Path(tmp, "k.pem"))

        def handle(c: socket.socket) -> None:
            with ctx.wrap_socket(c, server_side=True) as s:
                s.recv(1)

        yield from _serve(handle)


def _tlslite_server(curves: list[str] | None, ciphers: list[str] | None = None) -> Iterator[int]:
    from tlslite import X509, HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = X509().parse(
        _cert(key, "tlslite.test").public_bytes(serialization.Encoding.PEM).decode()
    )
    chain = X509CertChain([cert])
    private = parsePEMKey(_pem(key).decode(), private=True)
    settings = HandshakeSettings()
    if curves is not None:
        settings.eccCurves = curves
        settings.keyShares = list(curves)  # what it would send as a client; must be enabled
    if ciphers is not None:
        settings.cipherNames = ciphers

    def handle(c: socket.socket) -> None:
        TLSConnection(c).handshakeServer(certChain=chain, privateKey=private, settings=settings)

    yield from _serve(handle)


@pytest.fixture(scope="module")
def tlslite_all() -> Iterator[int]:
    """tlslite-ng with its default groups: the three hybrids and the classical curves."""
    yield from _tlslite_server(None)


@pytest.fixture(scope="module")
def tlslite_p256_hybrid() -> Iterator[int]:
    """tlslite-ng restricted to SecP256r1MLKEM768: a HelloRetryRequest for the default shares."""
    yield from _tlslite_server(["secp256r1mlkem768"])


def _scan(host: str, port: int, timeout: float = 60.0) -> dict[str, object]:
    return asyncio.run(scan_tls(Target("tls", host, port), timeout=timeout)).to_json()


def test_openssl_classical_only(openssl_server: int) -> None:
    got = _scan("127.0.0.1", openssl_server)
    assert got["groups"] == {**NO_PQ, **CLASSICAL}
    assert got["reachable"] is True
    assert got["error"] is None
    assert got["tls_version"] == "TLSv1.3"
    assert got["preferred_group"] == "X25519"
    assert got["pq_key_exchange"] is False
    assert got["key_exchange_verified"] is True
    assert got["large_client_hello_ok"] is True
    assert got["certificate"] == {
        "key_type": "EC",
        "key_size": 256,
        "curve": "secp256r1",
        "signature_algorithm": "ecdsa-with-SHA256",
        "not_after": "2031-06-30T12:00:00+00:00",
        "subject": "CN=openssl.test",
        "quantum_vulnerable": True,
    }


def test_tlslite_hybrids_verified(tlslite_all: int) -> None:
    got = _scan("localhost", tlslite_all)
    assert got["groups"] == {
        "X25519MLKEM768": "supported",
        "SecP256r1MLKEM768": "supported",
        "SecP384r1MLKEM1024": "supported",
        "MLKEM768": "not supported",
        "MLKEM1024": "not supported",
        **CLASSICAL,
    }
    assert got["error"] is None
    assert got["tls_version"] == "TLSv1.3"
    assert got["preferred_group"] == "X25519MLKEM768"
    assert got["pq_key_exchange"] is True
    assert got["key_exchange_verified"] is True
    assert got["large_client_hello_ok"] is True
    cert = got["certificate"]
    assert isinstance(cert, dict)
    assert (cert["key_type"], cert["key_size"], cert["curve"]) == ("RSA", 2048, None)
    assert cert["signature_algorithm"] == "sha256WithRSAEncryption"
    assert cert["quantum_vulnerable"] is True


def test_tlslite_one_hybrid_answers_hello_retry(tlslite_p256_hybrid: int) -> None:
    got = _scan("127.0.0.1", tlslite_p256_hybrid)
    assert got["groups"] == {
        **{g: "not supported" for g in ALL},
        "SecP256r1MLKEM768": "supported",
    }
    assert got["preferred_group"] == "SecP256r1MLKEM768"
    assert got["key_exchange_verified"] is True
    assert got["pq_key_exchange"] is True
    assert got["error"] is None


def test_hello_retry_is_answered_on_the_same_connection(tlslite_p256_hybrid: int) -> None:
    async def run() -> object:
        loop = asyncio.get_running_loop()
        return await _handshake(
            Target("tls", "127.0.0.1", tlslite_p256_hybrid),
            ALL,
            ["X25519MLKEM768", "X25519"],
            deadline=loop.time() + 60,
        )

    outcome = asyncio.run(run())
    assert (outcome.hrr, outcome.group, outcome.verified) == (True, "SecP256r1MLKEM768", True)  # type: ignore[attr-defined]


def test_client_hello_layout() -> None:
    spec = msg.ClientHelloSpec(
        groups=[0x11EC, 0x001D],
        shares=[(0x001D, bytes(32))],
        server_name="example.com",
        random=bytes(32),
        session_id=bytes(32),
    )
    hello = msg.build_client_hello(spec)
    assert hello[0] == 1 and int.from_bytes(hello[1:4], "big") == len(hello) - 4
    assert b"\x00\x0b\x00\x00\x08" not in hello  # no ec_point_formats without TLS 1.2
    assert b"\x00\x00\x00\x10\x00\x0e\x00\x00\x0bexample.com" in hello  # SNI
    assert b"\x00\x2b\x00\x03\x02\x03\x04" in hello  # supported_versions: TLS 1.3 only
    assert b"\x00\x33\x00\x26\x00\x24\x00\x1d\x00\x20" + bytes(32) in hello  # key_share
    spec.pad_to = 2500
    assert len(msg.build_client_hello(spec)) == 2500
    spec.server_name = None
    assert b"example.com" not in msg.build_client_hello(spec)


def test_certificate_summary_ed25519() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
        .sign(key, None)
    )
    got = certificate_summary(cert.public_bytes(serialization.Encoding.DER))
    assert (got.key_type, got.key_size, got.signature_algorithm) == ("Ed25519", 256, "ed25519")
    assert got.quantum_vulnerable is True
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography's own message
        certificate_summary(b"not a certificate")


# --- hostile fakes ---------------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _fake(handler: Handler) -> AsyncIterator[Target]:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    try:
        yield Target("tls", "127.0.0.1", server.sockets[0].getsockname()[1])
    finally:
        server.close()


def _after_hello(answer: bytes, *, rst: bool = False) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(5)
        await reader.readexactly(int.from_bytes(header[3:5], "big"))
        writer.write(answer)
        await writer.drain()
        if rst:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        await reader.read()

    return handler


def _scan_fake(handler: Handler, timeout: float = 20.0) -> dict[str, object]:
    async def run() -> dict[str, object]:
        async with _fake(handler) as target:
            return (await scan_tls(target, timeout=timeout)).to_json()

    return asyncio.run(run())


def _unreachable(got: dict[str, object], error: str) -> None:
    assert got["reachable"] is False
    assert got["error"] == error
    assert got["groups"] == {}
    assert got["key_exchange_verified"] is False
    assert got["certificate"] is None


def test_http_server() -> None:
    got = _scan_fake(_after_hello(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
    _unreachable(got, "the server answered in HTTP, not TLS")


def test_garbage() -> None:
    got = _scan_fake(_after_hello(b"\x00\x01\x02garbage!\xff" * 4))
    _unreachable(got, "not a TLS server: its answer starts b'\\x00\\x01\\x02ga'")


def test_reset_mid_handshake() -> None:
    # a ServerHello record header and half its body, then a TCP reset
    got = _scan_fake(_after_hello(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03", rst=True))
    _unreachable(got, "connection reset by the server")


def test_close_mid_handshake() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(5)
        await reader.readexactly(int.from_bytes(header[3:5], "big"))
        writer.write(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")
        await writer.drain()
        writer.close()

    _unreachable(_scan_fake(handler), "the server closed the connection mid-message")


def test_huge_record_length() -> None:
    got = _scan_fake(_after_hello(b"\x16\x03\x03\xff\xff"))
    _unreachable(got, "the server sent a record of 65535 bytes (TLS allows at most 16384)")


def test_huge_handshake_length() -> None:
    # a 16 MiB ServerHello, spread over records: refused when its header arrives
    got = _scan_fake(_after_hello(b"\x16\x03\x03\x00\x04\x02\xff\xff\xff"))
    _unreachable(got, "handshake message of 16777215 bytes exceeds the 131072-byte limit")


def test_trickling_server_is_cut_at_the_deadline() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(5)
        for byte in b"\x16\x03\x03\x00\x7a" + bytes(200):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    _unreachable(_scan_fake(handler, timeout=1.0), "timed out after 1 s")


def test_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = _scan("127.0.0.1", port)
    _unreachable(got, "connection refused")


def test_name_that_does_not_resolve() -> None:
    got = _scan("no-such-host.invalid", 443, timeout=20)
    assert got["reachable"] is False
    assert str(got["error"]).startswith("cannot resolve no-such-host.invalid: ")


def test_alert_is_not_supported_but_reachable() -> None:
    # a server that refuses every ClientHello with handshake_failure speaks TLS
    got = _scan_fake(_after_hello(b"\x15\x03\x03\x00\x02\x02\x28"))
    assert got["reachable"] is True
    assert got["groups"] == {g: "not supported" for g in ALL}
    assert got["error"] == "the server refused the handshake: handshake_failure"
    assert got["pq_key_exchange"] is False
    assert got["large_client_hello_ok"] is None


@pytest.mark.parametrize("seed", range(12))
def test_random_answers_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    # half start like a handshake record, so the parsers past the header get garbage too
    prefix = b"\x16\x03\x03" if seed % 2 else b""
    answer = prefix + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    got = _scan_fake(_after_hello(answer), timeout=2.0)
    assert got["reachable"] is False
    assert isinstance(got["error"], str) and got["error"]


def test_tls12_only_server() -> None:
    # a TLS 1.2 ServerHello (no supported_versions): the version is reported, no group
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\xc0\x2f" + b"\x00"
    hello = b"\x02" + len(body).to_bytes(3, "big") + body
    answer = b"\x16\x03\x03" + len(hello).to_bytes(2, "big") + hello
    got = _scan_fake(_after_hello(answer))
    assert got["reachable"] is True
    assert got["tls_version"] == "TLSv1.2"
    assert got["groups"] == {g: "not supported" for g in ALL}
    assert got["preferred_group"] is None
    assert got["key_exchange_verified"] is False


def test_a_wrong_shared_secret_is_caught(
    openssl_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the verification is real: with the wrong key the flight does not decrypt
    from pqe2ee.scan import _tls_keys

    real = _tls_keys.server_handshake_secret

    def wrong(name: str, secret: bytes, transcript: bytes) -> bytes:
        return real(name, bytes(len(secret)), transcript)

    monkeypatch.setattr(_tls_keys, "server_handshake_secret", wrong)
    got = _scan("127.0.0.1", openssl_server)
    assert got["groups"] == {**NO_PQ, "X25519": "error", "P-256": "error", "P-384": "error"}
    assert got["key_exchange_verified"] is False
    assert got["certificate"] is None
    assert got["reachable"] is True
    assert "X25519: the server's encrypted handshake record did not decrypt" in str(got["error"])


def _dropping_proxy(upstream: int, limit: int) -> Handler:
    """A middlebox in front of a real server that drops any ClientHello over ``limit``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(5)
        body = await reader.readexactly(int.from_bytes(header[3:5], "big"))
        if len(body) > limit:
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        up_writer.write(header + body)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()

    return handler


def test_a_middlebox_dropping_two_packet_hellos(openssl_server: int) -> None:
    got = _scan_fake(_dropping_proxy(openssl_server, 2000))
    assert got["large_client_hello_ok"] is False
    assert got["groups"] == {**NO_PQ, **CLASSICAL}
    assert got["key_exchange_verified"] is True
    assert got["error"] == "large ClientHello: the server closed the connection"


def test_a_middlebox_dropping_hybrid_sized_hellos(openssl_server: int) -> None:
    # the classic deployment failure: the hybrid ClientHellos (1.3 KB and up) never arrives, the
    # classical ones do; the server is reachable and the failure is named
    got = _scan_fake(_dropping_proxy(openssl_server, 1300))
    assert got["reachable"] is True
    assert got["large_client_hello_ok"] is False
    assert got["groups"] == {
        "X25519MLKEM768": "error",
        "SecP256r1MLKEM768": "error",
        "SecP384r1MLKEM1024": "error",
        "MLKEM768": "error",
        "MLKEM1024": "error",
        **CLASSICAL,
    }
    assert got["preferred_group"] is None
    assert got["key_exchange_verified"] is False
    cert = got["certificate"]  # from the classical probes' decrypted flights
    assert isinstance(cert, dict) and cert["subject"] == "CN=openssl.test"
    closed = "the server closed the connection"
    assert got["error"] == "; ".join(
        [
            f"preferred group: {closed}",
            f"X25519MLKEM768: {closed}",
            f"SecP256r1MLKEM768: {closed}",
            f"SecP384r1MLKEM1024: {closed}",
            f"MLKEM768: {closed}",
            f"MLKEM1024: {closed}",
            f"large ClientHello: {closed}",
        ]
    )


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 in this Python")
def test_ipv6_literal() -> None:
    try:
        srv = socket.socket(socket.AF_INET6)
        srv.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    srv.listen(16)
    key = ec.generate_private_key(ec.SECP384R1())
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "c.pem").write_bytes(
            _cert(key, "v6.test").public_bytes(serialization.Encoding.PEM)
        )
        Path(tmp, "k.pem").write_bytes(_pem(key))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Path(tmp, "c.pem"), Path(tmp, "k.pem"))

    def loop() -> None:
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(c, server_side=True) as s:
                    s.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                c.close()

    threading.Thread(target=loop, daemon=True).start()
    port = srv.getsockname()[1]
    try:
        got = _scan("::1", port)
    finally:
        srv.close()
    assert got["target"] == f"tls://[::1]:{port}"
    assert got["groups"] == {**NO_PQ, **CLASSICAL}
    cert = got["certificate"]
    assert isinstance(cert, dict)
    assert (cert["curve"], cert["key_size"], cert["subject"]) == ("secp384r1", 384, "CN=v6.test")


def test_sni_only_for_host_names() -> None:
    assert _sni("example.com.") == "example.com"
    assert _sni("127.0.0.1") is None
    assert _sni("::1") is None


def _hrr(group: int) -> bytes:
    exts = b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x02" + group.to_bytes(2, "big")
    body = b"\x03\x03" + msg.HRR_RANDOM + b"\x00" + b"\x13\x01\x00" + len(exts).to_bytes(2, "big")
    hello = b"\x02" + len(body + exts).to_bytes(3, "big") + body + exts
    return b"\x16\x03\x03" + len(hello).to_bytes(2, "big") + hello


def test_a_second_hello_retry_is_refused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(5)
            await reader.readexactly(int.from_bytes(header[3:5], "big"))
            if header[0] == 22:  # every ClientHello gets a HelloRetryRequest
                writer.write(_hrr(0x11EB))
                await writer.drain()

    got = _scan_fake(handler)
    _unreachable(got, "the server sent a second HelloRetryRequest")


def test_hello_retry_for_a_group_not_offered() -> None:
    async def run() -> object:
        async with _fake(_after_hello(_hrr(0x0019))) as target:  # secp521r1: not offered
            loop = asyncio.get_running_loop()
            try:
                await _handshake(target, ALL, ["X25519"], deadline=loop.time() + 20)
            except Exception as exc:
                return exc
        return None

    exc = asyncio.run(run())
    assert str(exc) == (
        "HelloRetryRequest asked for group 0x0019, which was not offered or already had a key share"
    )


def test_a_kem_missing_here_is_an_error_not_a_crash(
    openssl_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pqe2ee.exceptions import UnsupportedAlgorithm
    from pqe2ee.scan import tls

    real = tls.get_kem

    def partial(name: str) -> object:
        if "1024" in name:
            raise UnsupportedAlgorithm(f"{name}: no backend here")
        return real(name)

    monkeypatch.setattr(tls, "get_kem", partial)
    got = _scan("127.0.0.1", openssl_server)
    assert got["groups"] == {
        **NO_PQ,
        **CLASSICAL,
        "SecP384r1MLKEM1024": "error",
        "MLKEM1024": "error",
    }
    assert got["error"] == (
        "SecP384r1MLKEM1024: cannot probe here: SecP384r1MLKEM1024: no backend here; "
        "MLKEM1024: cannot probe here: ML-KEM-1024: no backend here"
    )
    assert got["key_exchange_verified"] is True


@pytest.mark.parametrize(
    ("cipher", "suite"),
    [("aes128gcm", 0x1301), ("aes256gcm", 0x1302), ("chacha20-poly1305", 0x1303)],
)
def test_each_cipher_suite_key_schedule(cipher: str, suite: int) -> None:
    # SHA-384 and ChaCha20-Poly1305 too: the server is restricted to one suite
    gen = _tlslite_server(["x25519mlkem768"], [cipher])
    port = next(gen)

    async def run() -> object:
        loop = asyncio.get_running_loop()
        return await _handshake(
            Target("tls", "127.0.0.1", port),
            ["X25519MLKEM768"],
            ["X25519MLKEM768"],
            deadline=loop.time() + 60,
        )

    try:
        outcome = asyncio.run(run())
    finally:
        gen.close()
    assert (outcome.cipher_suite, outcome.group, outcome.verified) == (  # type: ignore[attr-defined]
        suite,
        "X25519MLKEM768",
        True,
    )
    assert outcome.certificate.key_type == "RSA"  # type: ignore[attr-defined]


def test_certificate_summary_ml_dsa() -> None:
    mldsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.mldsa")
    try:
        key = mldsa.MLDSA65PrivateKey.generate()
    except Exception as exc:  # the OpenSSL under cryptography may lack ML-DSA
        pytest.skip(f"no ML-DSA in this cryptography: {exc}")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pq")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(9)
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
        .sign(key, None)
    )
    got = certificate_summary(cert.public_bytes(serialization.Encoding.DER))
    assert (got.key_type, got.key_size, got.curve) == ("ML-DSA-65", None, None)
    assert got.signature_algorithm == "ML-DSA-65"
    assert got.quantum_vulnerable is False
