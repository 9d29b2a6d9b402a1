"""Tunnel overhead, measured in one run: direct, through a plain relay pair, through the tunnel.

    .venv/bin/python benchmarks/tunnel_speed.py             # 3 rounds, prints Markdown
    .venv/bin/python benchmarks/tunnel_speed.py --rounds 1 --quick

Three paths to the same service, each end in its own process (as two hosts would run it):

- **direct**: the benchmark talks to the service;
- **relay**: two chained plain stdlib-asyncio forwarders (no crypto), the tunnel's
  topology: benchmark -> relay A -> relay B -> service;
- **tunnel**: benchmark -> ``pqe2ee tunnel client`` -> ``pqe2ee tunnel server`` ->
  service (hybrid X25519MLKEM768 sessions, Ed25519 identities, ChaCha20-Poly1305).

Measured on each path, the paths interleaved in every round, medians over the rounds:
``redis-benchmark -t get,set -c 50`` (requests/s), ``redis-benchmark -t get -c 1`` (mean
latency per request), ``redis-benchmark -t ping -k 0 -c 10`` (a new connection per
request: connections/s, each a full handshake through the tunnel), and
``pgbench -S -c 10 -j 2`` (select-only, transactions/s).  Redis and PostgreSQL run as
private instances on free loopback ports (tests/io/tunnel/services.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pqe2ee._version import __version__  # noqa: E402
from pqe2ee.handshake import Identity  # noqa: E402
from pqe2ee.trust import load_public_identity, save_identity, save_public_identity  # noqa: E402
from tests.io.tunnel.services import free_port, postgres_server, redis_server  # noqa: E402

PATHS = ("direct", "relay", "tunnel")


# ------------------------------------------------------------------ the plain relay
async def _relay(listen: int, target: int) -> None:
    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(1 << 18):
                dst.write(data)
                await dst.drain()
            dst.write_eof()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            t_reader, t_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, t_writer), pipe(t_reader, writer))
        writer.close()
        t_writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def _processes(*commands: tuple[list[str], int]) -> Iterator[None]:
    procs = []
    try:
        for argv, port in commands:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            _wait_port(port, proc)
        yield
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@contextlib.contextmanager
def path_to(kind: str, service: int, keys: Path) -> Iterator[int]:
    """A port that leads to ``service`` the ``kind`` way."""
    if kind == "direct":
        yield service
        return
    near, far = free_port(), free_port()
    if kind == "relay":
        me = [sys.executable, __file__, "relay"]
        with _processes(([*me, str(far), str(service)], far), ([*me, str(near), str(far)], near)):
            yield near
        return
    pq = [sys.executable, "-m", "pqe2ee", "tunnel"]
    server_fpr = _fingerprint(keys / "server.key.pub")
    client_fpr = _fingerprint(keys / "client.key.pub")
    server = [*pq, "server", f"--listen=127.0.0.1:{far}", f"--forward=127.0.0.1:{service}"]
    server += [f"--identity={keys / 'server.key'}", f"--allow={client_fpr}", "--grace=1"]
    client = [*pq, "client", f"--listen=127.0.0.1:{near}", f"--connect=127.0.0.1:{far}"]
    client += [f"--identity={keys / 'client.key'}", f"--peer={server_fpr}", "--grace=1"]
    client += ["--max-handshakes=256"]
    server += ["--max-pending-handshakes=1024"]
    with _processes((server, far), (client, near)):
        yield near


def _fingerprint(path: Path) -> str:
    return load_public_identity(path).fingerprint_hex()


# ------------------------------------------------------------------ the measurements
def _redis_benchmark(port: int, *args: str) -> dict[str, dict[str, float]]:
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--csv", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    return {row["test"]: {k: float(v) for k, v in row.items() if k != "test"} for row in rows}


_PGBENCH = ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-S", "-n", "-c", "10", "-j", "2"]


def _pgbench(port: int, seconds: int) -> float:
    out = subprocess.run(
        [*_PGBENCH, "-p", str(port), "-T", str(seconds), "postgres"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"no tps in pgbench output: {out}")
    return float(match.group(1))


def measure(kind: str, redis: int, pg: int, keys: Path, quick: bool) -> dict[str, float]:
    n = 20_000 if quick else 100_000
    figures: dict[str, float] = {}
    with path_to(kind, redis, keys) as port:
        rows = _redis_benchmark(port, "-t", "get,set", "-c", "50", "-n", str(n))
        figures["redis SET, 50 clients (req/s)"] = rows["SET"]["rps"]
        figures["redis GET, 50 clients (req/s)"] = rows["GET"]["rps"]
        rows = _redis_benchmark(port, "-t", "get", "-c", "1", "-n", str(n // 10))
        figures["redis GET, 1 client: mean latency (µs)"] = rows["GET"]["avg_latency_ms"] * 1000
        rows = _redis_benchmark(port, "-t", "ping", "-k", "0", "-c", "10", "-n", str(n // 50))
        figures["new connections, 10 at a time (conn/s)"] = rows["PING_INLINE"]["rps"]
    with path_to(kind, pg, keys) as port:
        figures["pgbench select-only, 10 clients (tps)"] = _pgbench(port, 5 if quick else 10)
    return figures


def machine(load_at_start: float) -> list[str]:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    pg_v = subprocess.run(["pgbench", "--version"], capture_output=True, text=True)
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}",
        f"- Python {platform.python_version()}, pqe2ee {__version__}",
        f"- {redis_v.stdout.strip().split(' sha=')[0]}; {pg_v.stdout.strip()}",
        f"- load average (1 min) at start: {load_at_start:.2f}, at the end: "
        f"{os.getloadavg()[0]:.2f} (the tunnel's own threads count while it runs)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    args = parser.parse_args()
    for tool in ("redis-benchmark", "pgbench"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (see .ci/run)", file=sys.stderr)
            return 2
    load_at_start = os.getloadavg()[0]
    results: dict[str, dict[str, list[float]]] = {k: {} for k in PATHS}
    with tempfile.TemporaryDirectory() as tmp, redis_server() as redis, postgres_server() as pg:
        keys = Path(tmp)
        for name in ("server", "client"):
            identity = Identity.generate()
            save_identity(identity, keys / f"{name}.key")
            save_public_identity(identity.public(), keys / f"{name}.key.pub")
        dsn = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"]
        subprocess.run(
            ["pgbench", *dsn, "-i", "-s", "2", "-q", "postgres"],
            check=True,
            capture_output=True,
            timeout=600,
        )
        for r in range(args.rounds):
            for kind in PATHS:
                print(f"round {r + 1}/{args.rounds}: {kind}", file=sys.stderr)
                for key, value in measure(kind, redis.port, pg.port, keys, args.quick).items():
                    results[kind].setdefault(key, []).append(value)
    med = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in results.items()}
    print("\n".join(machine(load_at_start)))
    print(
        f"- command: `python benchmarks/tunnel_speed.py --rounds {args.rounds}"
        f"{' --quick' if args.quick else ''}`; medians of {args.rounds} rounds\n"
    )
    print(
        "| measure | direct | relay | tunnel | relay / direct | tunnel / direct | tunnel / relay |"
    )
    print("|---|---|---|---|---|---|---|")
    for m in med["direct"]:
        d, r, t = med["direct"][m], med["relay"][m], med["tunnel"][m]
        print(f"| {m} | {d:,.0f} | {r:,.0f} | {t:,.0f} | {r / d:.2f} | {t / d:.2f} | {t / r:.2f} |")
    lat = "redis GET, 1 client: mean latency (µs)"
    print(
        f"\nadded latency per request (1 client): relay "
        f"{med['relay'][lat] - med['direct'][lat]:+.0f} µs, tunnel "
        f"{med['tunnel'][lat] - med['direct'][lat]:+.0f} µs "
        f"(tunnel over relay {med['tunnel'][lat] - med['relay'][lat]:+.0f} µs)"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "relay":
        asyncio.run(_relay(int(sys.argv[2]), int(sys.argv[3])))
        sys.exit(0)
    sys.exit(main())
