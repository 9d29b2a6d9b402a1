"""ML-DSA-65 on each backend: sign, verify, key from seed; and the mutual handshake rate.

The primitives run in this process, backends interleaved round by round (median per call
over ``--rounds``).  The handshakes run in a fresh interpreter per round and backend, with
and without ``PQE2EE_BACKEND=oqs`` (which moves the KEMs to liboqs too), alternating, each
reporting sequential loopback handshakes/s, server capacity per core and in-memory CPU
per handshake; medians over the rounds.  Needs a liboqs (``OQS_INSTALL_PATH``).

    OQS_INSTALL_PATH=/path/to/liboqs .venv/bin/python benchmarks/mldsa_speed.py
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from pqe2ee.backends import backend_status, find_mldsa

_CHILD = """
import json, statistics, sys
from pqe2ee.backends import find_mldsa
from pqe2ee.bench import handshake as hb
from pqe2ee.handshake.identity import Identity
from pqe2ee.handshake.suites import AuthKind
from pqe2ee.hazmat.kem import get_kem
n = int(sys.argv[1])
out = {"mldsa": find_mldsa("ML-DSA-65")[0], "kem": get_kem("X25519MLKEM768").backend}
for auth in (AuthKind.ML_DSA_65, AuthKind.ED25519):
    setup = hb.HandshakeSetup("hybrid", auth)
    sid, cid = Identity.generate(auth), Identity.generate(auth)
    loop = hb.pqe2ee_loopback(setup, sid, cid, n)
    cpu = hb.cpu_per_handshake(setup, sid, cid, max(20, n // 3))
    out[setup.name] = {
        "rate": 1 / statistics.median(loop.latencies),
        "capacity": 1 / loop.server_cpu,
        "cpu_ms": cpu * 1e3,
    }
print(json.dumps(out))
"""


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def _spread(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4)
    return (q[2] - q[0]) / 2 / statistics.median(values) * 100


def primitives(rounds: int) -> None:
    seed, msg = os.urandom(32), os.urandom(256)
    cases: dict[str, list[tuple[str, Callable[[], object], int]]] = {}
    for backend in ("cryptography", "oqs"):
        ops = find_mldsa("ML-DSA-65", backend)[1]
        priv, pk = ops.load_private(seed)
        pub = ops.load_public(pk)
        sig = ops.sign(priv, msg)
        slow = backend == "cryptography"
        cases[backend] = [
            ("sign", functools.partial(ops.sign, priv, msg), 50 if slow else 200),
            ("verify", functools.partial(ops.verify, pub, sig, msg), 200),
            ("key pair from seed", functools.partial(ops.load_private, seed), 50),
        ]
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for backend, rows in cases.items():
            for what, fn, n in rows:
                times.setdefault((what, backend), []).append(_per_call_us(fn, n))
    print("| ML-DSA-65, µs per call | cryptography | oqs | cryptography / oqs |")
    print("|---|---:|---:|---:|")
    for what, _, _ in cases["oqs"]:
        c, o = times[(what, "cryptography")], times[(what, "oqs")]
        mc, mo = statistics.median(c), statistics.median(o)
        print(
            f"| {what} | {mc:.0f} (±{_spread(c):.0f}%) | {mo:.0f} (±{_spread(o):.0f}%) "
            f"| {mc / mo:.1f}x |"
        )


def _median(rows: list[dict[str, Any]], name: str, metric: str) -> float:
    return statistics.median(float(r[name][metric]) for r in rows)


def handshakes(rounds: int, n: int) -> None:
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(rounds):
        for label in ("default", "PQE2EE_BACKEND=oqs"):
            env = {k: v for k, v in os.environ.items() if k != "PQE2EE_BACKEND"}
            if label != "default":
                env["PQE2EE_BACKEND"] = "oqs"
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(n)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.setdefault(label, []).append(json.loads(out))
    print(
        "\n| handshake | backends (ML-DSA, KEM) | sequential hs/s | server hs/s per core "
        "| CPU/hs both sides ms |"
    )
    print("|---|---|---:|---:|---:|")
    for name in ("X25519MLKEM768/ml-dsa-65/mutual", "X25519MLKEM768/ed25519/mutual"):
        for label, rows in runs.items():
            rate, capacity, cpu = (_median(rows, name, m) for m in ("rate", "capacity", "cpu_ms"))
            print(
                f"| {name} | {label}: {rows[0]['mldsa']}, {rows[0]['kem']} | {rate:.0f} "
                f"| {capacity:.0f} | {cpu:.2f} |"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=21, help="interleaved rounds of primitives")
    p.add_argument("--hs-rounds", type=int, default=7, help="alternating handshake rounds")
    p.add_argument("--n", type=int, default=150, help="loopback handshakes per round")
    args = p.parse_args()
    status = backend_status()
    print(f"backends: {status}  load average: {os.getloadavg()[0]:.2f}\n")
    if status["oqs"].startswith("unavailable"):
        raise SystemExit("needs the liboqs backend (set OQS_INSTALL_PATH)")
    primitives(args.rounds)
    handshakes(args.hs_rounds, args.n)


if __name__ == "__main__":
    main()
