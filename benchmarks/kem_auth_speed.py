"""kem identities against the signature suites and stdlib TLS 1.3, interleaved rounds.

    .venv/bin/python benchmarks/kem_auth_speed.py [--rounds 7] [--n 100]

The mutual X25519MLKEM768 handshake with ed25519, ml-dsa-65 and kem identities, and
stdlib TLS 1.3 with mutual certificates, measured round after round in turn (so a burst
of load on this shared machine hits every configuration alike), printed as Markdown:

- CPU per handshake in memory, both sides (what a pair of endpoints spends);
- server CPU per handshake over loopback (its capacity per core);
- sequential loopback handshakes per second (a client waiting for each);
- bytes on the wire, and the primitives on each side's critical path, which bound how
  close the ratios can come (docs/performance.md explains the arithmetic).
"""

from __future__ import annotations

import argparse
import statistics
import time

from pqe2ee.bench import handshake as hb
from pqe2ee.handshake import AuthKind, Identity

KINDS = (AuthKind.ED25519, AuthKind.ML_DSA_65, AuthKind.KEM)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--n", type=int, default=100, help="handshakes per measurement")
    args = p.parse_args()
    ids = {k: (Identity.generate(k), Identity.generate(k)) for k in KINDS}
    setups = {k: hb.HandshakeSetup("hybrid", k) for k in KINDS}
    cpu: dict[str, list[float]] = {k.value: [] for k in KINDS}
    lat: dict[str, list[float]] = {k.value: [] for k in KINDS} | {"tls-mutual": []}
    server: dict[str, list[float]] = {k: [] for k in lat}
    for _ in range(args.rounds):
        for kind in KINDS:
            sid, cid = ids[kind]
            start = time.process_time()
            for _ in range(max(10, args.n // 4)):
                hb.in_memory(setups[kind], sid, cid)
            cpu[kind.value].append((time.process_time() - start) / max(10, args.n // 4))
            loop = hb.pqe2ee_loopback(setups[kind], sid, cid, args.n)
            lat[kind.value].append(statistics.median(loop.latencies))
            server[kind.value].append(loop.server_cpu)
        tls = hb.tls_loopback(args.n, mutual=True)
        lat["tls-mutual"].append(statistics.median(tls.latencies))
        server["tls-mutual"].append(tls.server_cpu)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    wire = {k.value: hb.in_memory(setups[k], *ids[k]) for k in KINDS}
    print(f"{args.rounds} interleaved rounds of {args.n} handshakes; medians of the rounds\n")
    print(
        "| X25519MLKEM768, mutual | CPU/hs both sides ms | hs/s (CPU) | server CPU/hs ms "
        "| server hs/s per core | sequential hs/s | bytes | flights |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in lat:
        c = f"{med(cpu[name]) * 1e3:.2f} | {1 / med(cpu[name]):.0f}" if name in cpu else "- | -"
        w = wire.get(name)
        size = f"{w.c2s + w.s2c} | {len(w.flights)}" if w else "- | -"
        print(
            f"| {name} | {c} | {med(server[name]) * 1e3:.2f} | {1 / med(server[name]):.0f} "
            f"| {1 / med(lat[name]):.0f} | {size} |"
        )
    kem, ed, mldsa = "kem", "ed25519", "ml-dsa-65"
    print("\n| ratio | CPU both sides | server per core | sequential |\n|---|---:|---:|---:|")
    for label, a, b in (
        ("kem vs ed25519", kem, ed),
        ("kem vs ml-dsa-65", kem, mldsa),
        ("kem vs stdlib TLS mutual", kem, "tls-mutual"),
    ):
        cpu_ratio = f"{med(cpu[b]) / med(cpu[a]):.2f}x" if b in cpu else "-"
        print(
            f"| {label} | {cpu_ratio} | {med(server[b]) / med(server[a]):.2f}x "
            f"| {med(lat[b]) / med(lat[a]):.2f}x |"
        )


if __name__ == "__main__":
    main()
