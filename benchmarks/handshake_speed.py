"""Handshakes and sessions, every mode and auth kind, against stdlib TLS 1.3, one run.

    .venv/bin/python benchmarks/handshake_speed.py [--n 200] [--bulk-mib 512]

Prints Markdown: handshakes per second over loopback (server in a child process) and the
ratio to TLS, CPU per handshake in memory against the sum of its primitive operations,
bytes on the wire per direction, and bulk throughput of a wrapped socket against TLS.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import numpy as np

from pqe2ee.bench import handshake as hb
from pqe2ee.bench.timing import interleaved
from pqe2ee.handshake import AuthKind, Config, Identity, Policy
from pqe2ee.hazmat.kem import get_kem


def primitive_cost(
    setup: hb.HandshakeSetup, server_id: Identity, client_id: Identity
) -> tuple[float, float]:
    """Seconds of primitive operations per handshake: ``(both sides, critical path)``.

    The critical path is what a sequential client waits for, one after another: its
    key generation, the server's encapsulation and signature, then its decapsulation,
    its verification of the server and (mutual) its own signature.  The server's check
    of the client's signature happens after the client is done.  No implementation of
    this protocol with these primitives can run sequential handshakes faster than one
    per critical path, whatever its own overhead.
    """
    kem = get_kem(setup.kem or hb.MODE_KEMS[setup.mode])
    key = kem.generate()
    pk = key.public_key().public_bytes_raw()
    _, ct = kem.encapsulate(pk)
    ops = {
        "keygen": lambda: kem.generate().public_key().public_bytes_raw(),
        "encaps": lambda: kem.from_public_bytes(pk).encapsulate(),
        "decaps": lambda: key.decapsulate(ct),
        **_auth_ops("s", server_id),
        **(_auth_ops("c", client_id) if setup.mutual else {}),
    }
    medians = [t.median for t in interleaved(list(ops.values()), rounds=7)]
    times = dict(zip(ops, medians, strict=True))
    # the server checks the client's signature after the client is done; a kem client
    # is challenged inside the server's flight (early identity), all on the path
    critical = sum(v for k, v in times.items() if k != "c_verify")
    return sum(times.values()), critical


def _auth_ops(side: str, ident: Identity) -> dict[str, Callable[[], object]]:
    """The primitive operations authenticating one side: it signs and the peer verifies,
    or (kem) the peer encapsulates to it and it decapsulates."""
    if not ident.kind.signs:
        _, ct = ident.public().encapsulate()
        return {
            f"{side}_encaps_to": lambda: ident.public().encapsulate(),
            f"{side}_decaps": lambda: ident.decapsulate(ct),
        }
    msg = b"x" * 32
    sig = ident.sign(msg)
    return {
        f"{side}_sign": lambda: ident.sign(msg),
        f"{side}_verify": lambda: ident.public().verify(msg, sig),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200, help="handshakes per loopback measurement")
    p.add_argument("--bulk-mib", type=int, default=512)
    args = p.parse_args()

    ids = {k: Identity.generate(k) for k in AuthKind}
    client_ids = {k: Identity.generate(k) for k in AuthKind}
    setups = [hb.HandshakeSetup(m, a) for m in ("classical", "hybrid", "pq") for a in AuthKind]
    setups.insert(4, hb.HandshakeSetup("hybrid", AuthKind.ED25519, kem="X-Wing"))
    setups.insert(4, hb.HandshakeSetup("hybrid", AuthKind.ED25519, mutual=False))

    null = statistics.median(hb.null_loopback(args.n).latencies)
    mtls = hb.tls_loopback(args.n, mutual=True)
    tls = hb.tls_loopback(args.n)
    tls_rate = 1 / statistics.median(tls.latencies)
    tls_capacity = 1 / tls.server_cpu
    p50, p99 = statistics.median(tls.latencies) * 1e3, np.percentile(tls.latencies, 99) * 1e3
    print(
        f"stdlib TLS 1.3 (X25519, verified Ed25519 cert, server auth only): {tls_rate:.0f} "
        f"sequential handshakes/s (median {p50:.2f} ms, p99 {p99:.2f} ms); server capacity "
        f"{tls_capacity:.0f} handshakes/s per core"
    )
    m50 = statistics.median(mtls.latencies)
    print(
        f"stdlib TLS 1.3 with mutual authentication (client Ed25519 certificate verified "
        f"too): {1 / m50:.0f} sequential handshakes/s (median {m50 * 1e3:.2f} ms, "
        f"{1 / m50 / tls_rate:.2f}x server-auth TLS); server capacity "
        f"{1 / mtls.server_cpu:.0f} per core"
    )
    print(
        f"the same messages with no cryptography: median {null * 1e3:.2f} ms (the floor "
        "under every handshake here; 'ceiling' below = 1 / (that + critical-path "
        "primitives), against TLS)\n"
    )
    print(
        "| handshake | sequential hs/s | vs TLS | server hs/s per core | vs TLS "
        "| latency p50 / p99 ms | CPU/hs both sides ms | primitives ms | overhead "
        "| critical-path primitives ms | ceiling vs TLS | bytes c→s / s→c |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for setup in setups:
        sid, cid = ids[setup.auth], client_ids[setup.auth]
        loop = hb.pqe2ee_loopback(setup, sid, cid, args.n)
        rate = 1 / statistics.median(loop.latencies)
        capacity = 1 / loop.server_cpu
        cpu = hb.cpu_per_handshake(setup, sid, cid, max(20, args.n // 4))
        prim, critical = primitive_cost(setup, sid, cid)
        wire = hb.in_memory(setup, sid, cid)
        lat50 = statistics.median(loop.latencies) * 1e3
        lat99 = np.percentile(loop.latencies, 99) * 1e3
        print(
            f"| {setup.name} | {rate:.0f} | {rate / tls_rate:.2f}x | {capacity:.0f} "
            f"| {capacity / tls_capacity:.2f}x | {lat50:.2f} / {lat99:.2f} | {cpu * 1e3:.2f} "
            f"| {prim * 1e3:.2f} | {cpu / prim:.2f}x | {critical * 1e3:.2f} "
            f"| {1 / (null + critical) / tls_rate:.2f}x | {wire.c2s} / {wire.s2c} |"
        )

    total = args.bulk_mib << 20
    sid = ids[AuthKind.ED25519]
    pin = frozenset({sid.public().fingerprint()})
    print("\n| bulk, 1 MiB writes | MB/s | vs TLS |\n|---|---:|---:|")
    results = []
    for aead in ("chacha20-poly1305", "aes-256-gcm"):
        policy = Policy.for_mode("hybrid", AuthKind.ED25519, aead=aead)
        pair = (Config(policy=policy, peer_fingerprints=pin), Config(identity=sid, policy=policy))
        results.append((aead, [hb.pqe2ee_bulk(total, pair) for _ in range(3)]))
    tls_bulk = statistics.median(hb.tls_bulk(total) for _ in range(3))
    for aead, rates in results:
        r = statistics.median(rates)
        print(f"| pqe2ee {aead} | {r / 1e6:.0f} | {r / tls_bulk:.2f}x |")
    print(f"| stdlib TLS 1.3 (AES-256-GCM) | {tls_bulk / 1e6:.0f} | 1.00x |")


if __name__ == "__main__":
    main()
