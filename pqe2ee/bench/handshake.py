"""Handshake and session costs: CPU in memory, wire bytes, loopback rates, bulk throughput.

Everything here is measured, never typed in.  Loopback figures run the server in a
child process (its own core and GIL) and the client here, like two real endpoints.
The baseline is the Python standard library's TLS 1.3 (X25519, Ed25519 certificate,
verified), measured the same way in the same run.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing as mp
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pqe2ee.handshake import NEED_DATA, AuthKind, Config, Connection, Identity, Policy
from pqe2ee.io import wrap_socket

MODE_KEMS = {"classical": "X25519", "hybrid": "X25519MLKEM768", "pq": "ML-KEM-768"}


@dataclass(frozen=True)
class HandshakeSetup:
    """One configuration to measure: mode (KEM), auth kind, mutual or server-only."""

    mode: str
    auth: AuthKind
    mutual: bool = True
    kem: str | None = None

    @property
    def name(self) -> str:
        """The row label: ``KEM/auth/mutual`` or ``KEM/auth/server-auth``."""
        who = "mutual" if self.mutual else "server-auth"
        return f"{self.kem or MODE_KEMS[self.mode]}/{self.auth.value}/{who}"

    def configs(self, server_id: Identity, client_id: Identity) -> tuple[Config, Config]:
        """The client and server configurations for this setup, each pinning the other.

        :param server_id: the server's identity (always authenticated).
        :param client_id: the client's identity (presented only when ``mutual``).
        :returns: ``(client_config, server_config)``, both on ChaCha20-Poly1305.
        """
        policy = Policy.for_mode(self.mode, self.auth, kem=self.kem, aead="chacha20-poly1305")
        client = Config(
            identity=client_id if self.mutual else None,
            policy=policy,
            peer_fingerprints=frozenset({server_id.public().fingerprint()}),
            # a pinned kem server is known by its key: it authenticates in the first flight
            server_identity=None if server_id.kind.signs else server_id.public(),
        )
        server = Config(
            identity=server_id,
            policy=policy,
            require_client_identity=self.mutual,
            peer_fingerprints=frozenset({client_id.public().fingerprint()})
            if self.mutual
            else frozenset(),
        )
        return client, server


@dataclass(frozen=True)
class HandshakeRun:
    """One in-memory handshake: seconds each side computed, and what went on the wire."""

    client_s: float
    server_s: float
    flights: tuple[tuple[str, int], ...]

    @property
    def c2s(self) -> int:
        """Bytes the client sent during the handshake."""
        return sum(n for d, n in self.flights if d == "c2s")

    @property
    def s2c(self) -> int:
        """Bytes the server sent during the handshake."""
        return sum(n for d, n in self.flights if d == "s2c")


def in_memory(setup: HandshakeSetup, server_id: Identity, client_id: Identity) -> HandshakeRun:
    """Run one handshake in memory, timing each side's work separately."""
    client_cfg, server_cfg = setup.configs(server_id, client_id)
    spent = {"client": 0.0, "server": 0.0}
    t0 = time.perf_counter()
    client = Connection(client_cfg, "client")
    t1 = time.perf_counter()
    server = Connection(server_cfg, "server")
    spent["client"] += t1 - t0
    spent["server"] += time.perf_counter() - t1
    flights: list[tuple[str, int]] = []
    sides = (("c2s", client, server, "server"), ("s2c", server, client, "client"))
    for _ in range(6):
        for direction, src, dst, dst_name in sides:
            data = src.data_to_send()
            if not data:
                continue
            flights.append((direction, len(data)))
            start = time.perf_counter()
            dst.receive_data(data)
            while dst.next_event() is not NEED_DATA:
                pass
            spent[dst_name] += time.perf_counter() - start
    if not (client.handshake_complete and server.handshake_complete):
        raise RuntimeError(f"handshake {setup.name} did not complete")
    return HandshakeRun(spent["client"], spent["server"], tuple(flights))


def cpu_per_handshake(
    setup: HandshakeSetup, server_id: Identity, client_id: Identity, n: int
) -> float:
    """Process CPU seconds per in-memory handshake (both sides)."""
    start = time.process_time()
    for _ in range(n):
        in_memory(setup, server_id, client_id)
    return (time.process_time() - start) / n


# --- loopback: the server runs in a child process -----------------------------------


class _ServerStats:
    """CPU seconds a child server spent, and how many handshakes it completed."""

    def __init__(self, ctx: Any) -> None:
        self.cpu = ctx.Value("d", 0.0)
        self.count = ctx.Value("i", 0)

    def per_handshake(self) -> float:
        return float(self.cpu.value) / max(1, int(self.count.value))


def _serve_forever(
    sock: socket.socket, handle: Callable[[socket.socket], None], stats: _ServerStats
) -> None:
    base = time.process_time()
    while True:
        conn, _ = sock.accept()
        try:
            handle(conn)
        except Exception:  # noqa: S112 - a benchmark server keeps serving
            continue
        stats.cpu.value = time.process_time() - base
        stats.count.value += 1


def _pqe2ee_server(sock: socket.socket, config: Config, stats: _ServerStats, ready: Any) -> None:
    def handle(conn: socket.socket) -> None:
        with wrap_socket(conn, config, server_side=True) as s:
            s.recv(1)

    ready.set()
    _serve_forever(sock, handle, stats)


def _tls_server(
    sock: socket.socket,
    cert: str,
    key: str,
    client_ca: str | None,
    stats: _ServerStats,
    ready: Any,
) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca is not None:  # mutual: require and verify the client's certificate
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)

    def handle(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as s:
            s.recv(1)

    ready.set()
    _serve_forever(sock, handle, stats)


@contextlib.contextmanager
def _serve(target: Callable[..., None], *args: Any) -> Iterator[tuple[int, _ServerStats]]:
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    stats = _ServerStats(ctx)
    proc = ctx.Process(target=target, args=(listener, *args, stats, ready), daemon=True)
    proc.start()
    ready.wait(30)
    try:
        yield listener.getsockname()[1], stats
    finally:
        proc.kill()
        proc.join()
        listener.close()


@dataclass(frozen=True)
class LoopbackRun:
    """Sequential handshakes over loopback: client-side latency of each, and the server
    process's CPU seconds per handshake (its capacity: 1 / that per core)."""

    latencies: list[float]
    server_cpu: float


def pqe2ee_loopback(
    setup: HandshakeSetup, server_id: Identity, client_id: Identity, n: int
) -> LoopbackRun:
    """``n`` sequential connections, connect to authenticated."""
    client_cfg, server_cfg = setup.configs(server_id, client_id)
    times = []
    with _serve(_pqe2ee_server, server_cfg) as (port, stats):
        for _ in range(n):
            t0 = time.perf_counter()
            sock = socket.create_connection(("127.0.0.1", port))
            s = wrap_socket(sock, client_cfg)
            times.append(time.perf_counter() - t0)
            s.sendall(b"x")
            s.close()
        _wait_count(stats, n)
        return LoopbackRun(times, stats.per_handshake())


def _wait_count(stats: _ServerStats, n: int) -> None:
    """The last connection's server side finishes just after the client's: wait for it."""
    deadline = time.monotonic() + 10
    while int(stats.count.value) < n and time.monotonic() < deadline:
        time.sleep(0.001)


def self_signed_ed25519(folder: Path) -> tuple[str, str]:
    """An Ed25519 certificate for localhost, for the TLS baseline."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID

    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, None)
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def tls_loopback(n: int, *, mutual: bool = False) -> LoopbackRun:
    """Stdlib TLS 1.3 handshakes with a verified Ed25519 certificate, measured alike;
    ``mutual``: the client presents one too, which the server requires and verifies."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = self_signed_ed25519(Path(tmp))
        ctx = ssl.create_default_context(cafile=cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        client_ca = None
        if mutual:
            (Path(tmp) / "client").mkdir()
            client_ca, client_key = self_signed_ed25519(Path(tmp) / "client")
            ctx.load_cert_chain(client_ca, client_key)
        times = []
        with _serve(_tls_server, cert, key, client_ca) as (port, stats):
            for _ in range(n):
                t0 = time.perf_counter()
                sock = socket.create_connection(("127.0.0.1", port))
                s = ctx.wrap_socket(sock, server_hostname="localhost")
                times.append(time.perf_counter() - t0)
                s.sendall(b"x")
                s.close()
            _wait_count(stats, n)
            return LoopbackRun(times, stats.per_handshake())


def _null_server(sock: socket.socket, stats: _ServerStats, ready: Any) -> None:
    def handle(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            conn.sendall(bytes(1344))
            conn.recv(4096)

    ready.set()
    _serve_forever(sock, handle, stats)


def null_loopback(n: int) -> LoopbackRun:
    """The same message pattern with no cryptography at all (hello, reply, finish, each
    one ``send``), measured alike: the floor that sockets, processes and wake-ups put
    under any handshake over this loopback."""
    times = []
    with _serve(_null_server) as (port, stats):
        for _ in range(n):
            t0 = time.perf_counter()
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(bytes(1440))
            sock.recv(4096)
            sock.sendall(bytes(200))
            times.append(time.perf_counter() - t0)
            sock.close()
        _wait_count(stats, n)
        return LoopbackRun(times, stats.per_handshake())


# --- bulk throughput ------------------------------------------------------------------


def _sink_pqe2ee(sock: socket.socket, config: Config, stats: _ServerStats, ready: Any) -> None:
    ready.set()
    conn, _ = sock.accept()
    with wrap_socket(conn, config, server_side=True) as s:
        while s.recv(1 << 20):
            pass
        s.sendall(b"done")


def _sink_tls(
    sock: socket.socket, cert: str, key: str, total: int, stats: _ServerStats, ready: Any
) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ready.set()
    conn, _ = sock.accept()
    buf = bytearray(1 << 20)
    with ctx.wrap_socket(conn, server_side=True) as s:
        got = 0
        while got < total:
            n = s.recv_into(buf)
            if not n:
                break
            got += n
        s.sendall(b"done")


def pqe2ee_bulk(total: int, config_pair: tuple[Config, Config], block: int = 1 << 20) -> float:
    """Bytes per second sent through a wrapped socket to a sink process (one run)."""
    client_cfg, server_cfg = config_pair
    buf = os.urandom(block)
    with _serve(_sink_pqe2ee, server_cfg) as (port, _):
        s = wrap_socket(socket.create_connection(("127.0.0.1", port)), client_cfg)
        t0 = time.perf_counter()
        for _ in range(total // block):
            s.sendall(buf)
        s.shutdown_write()
        assert s.recv(4) == b"done"
        elapsed = time.perf_counter() - t0
        s.close()
    return total / elapsed


def tls_bulk(total: int, block: int = 1 << 20) -> float:
    """The same through stdlib TLS 1.3 (its default cipher, AES-256-GCM)."""
    buf = os.urandom(block)
    total = total // block * block
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = self_signed_ed25519(Path(tmp))
        ctx = ssl.create_default_context(cafile=cert)
        with _serve(_sink_tls, cert, key, total) as (port, _):
            raw = socket.create_connection(("127.0.0.1", port))
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            t0 = time.perf_counter()
            for _ in range(total // block):
                s.sendall(buf)
            assert s.recv(4) == b"done"
            elapsed = time.perf_counter() - t0
            s.close()
    return total / elapsed
