"""``pqe2ee bench``: classical, hybrid and post-quantum side by side, in one run.

Every figure is measured here and now; ratios between modes come from the same run,
and the KEM operations are interleaved so the machine's noise hits every mode alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pqe2ee.bench import handshake as hb
from pqe2ee.bench.kem import kem_operations
from pqe2ee.bench.netmodel import PathProfile, flight_segments, simulate
from pqe2ee.bench.padding import padding_rows
from pqe2ee.bench.results import Report, Row
from pqe2ee.bench.stream import stream_rows
from pqe2ee.bench.timing import interleaved
from pqe2ee.handshake import AuthKind, Identity
from pqe2ee.hazmat.kem import get_kem

__all__ = ["Budget", "run"]

KEMS = ["X25519", "P-256", "X25519MLKEM768", "X-Wing", "ML-KEM-768", "ML-KEM-1024"]
MODES = ("classical", "hybrid", "pq")
#: The row name of the standard library's TLS 1.3 baseline (server authentication).
TLS_LABEL = "stdlib TLS 1.3 (X25519, Ed25519 cert)"


@dataclass(frozen=True)
class Budget:
    """How long to measure: ``quick`` finishes in well under a minute."""

    kem_rounds: int
    handshakes_cpu: int
    handshakes_loopback: int
    auth_kinds: tuple[AuthKind, ...]
    netmodel_runs: int
    stream_mib: int
    stream_repeats: int
    #: identity kinds timed with the hybrid KEM only (besides ``auth_kinds`` in every mode)
    hybrid_auth_kinds: tuple[AuthKind, ...] = ()

    @classmethod
    def quick(cls) -> Budget:
        """The ``--quick`` budget: well under a minute; Ed25519 identities in every mode,
        and the hybrid KEM with ML-DSA-65 and kem identities too."""
        extra = (AuthKind.ML_DSA_65, AuthKind.KEM)
        return cls(7, 40, 60, (AuthKind.ED25519,), 2000, 64, 3, extra)

    @classmethod
    def full(cls) -> Budget:
        """The default budget: more rounds, every identity kind, the figures to publish."""
        return cls(15, 150, 300, tuple(AuthKind), 5000, 512, 5)

    @classmethod
    def tiny(cls) -> Budget:
        """For tests: every code path, almost no time."""
        return cls(2, 2, 3, (AuthKind.ED25519,), 50, 2, 1, (AuthKind.KEM,))

    def handshake_setups(self) -> list[tuple[str, AuthKind]]:
        """``(mode, auth)`` of every handshake configuration this budget times."""
        out = [(mode, auth) for auth in self.auth_kinds for mode in MODES]
        out += [("hybrid", auth) for auth in self.hybrid_auth_kinds if auth not in self.auth_kinds]
        return out

    @property
    def timed_kinds(self) -> tuple[AuthKind, ...]:
        """Every identity kind some handshake configuration times."""
        return tuple(dict.fromkeys(a for _, a in self.handshake_setups()))


Progress = Callable[[str], None]


def _stats(samples: list[float]) -> tuple[float, float, float]:
    arr = np.asarray(samples)
    p25, med, p75, p99 = np.percentile(arr, [25, 50, 75, 99])
    return float(med), float(p99), float((p75 - p25) / med) if med else 0.0


def _kems(report: Report, budget: Budget, progress: Progress) -> None:
    progress("KEM operations")
    kems = [get_kem(name) for name in KEMS]
    labels, calls = [], []
    for kem in kems:
        for op, fn in kem_operations(kem).items():
            if op == "parse":
                continue
            labels.append((kem, op))
            calls.append(fn)
    for (kem, op), t in zip(labels, interleaved(calls, rounds=budget.kem_rounds), strict=True):
        report.add(
            Row(
                "kem",
                kem.name,
                kem.mode,
                f"{op}_us",
                t.median * 1e6,
                "us",
                t.p99 * 1e6,
                t.iqr_ratio,
            )
        )
    for kem in kems:
        report.add(Row("kem", kem.name, kem.mode, "public_key_bytes", kem.public_key_size, "B"))
        report.add(Row("kem", kem.name, kem.mode, "ciphertext_bytes", kem.ciphertext_size, "B"))


def _flight_rows(name: str, mode: str, run: hb.HandshakeRun) -> list[Row]:
    """Bytes on the wire of one handshake: per direction, and per flight with its packets."""
    rows = [
        Row("handshake", name, mode, "flights", len(run.flights), "flights"),
        Row("handshake", name, mode, "wire_bytes", run.c2s + run.s2c, "B"),
        Row("handshake", name, mode, "wire_bytes_c2s", run.c2s, "B"),
        Row("handshake", name, mode, "wire_bytes_s2c", run.s2c, "B"),
    ]
    for i, (direction, size) in enumerate(run.flights[:3], start=1):
        rows.append(Row("handshake", name, mode, f"flight{i}_bytes", size, f"B {direction}"))
        rows.append(
            Row(
                "handshake",
                name,
                mode,
                f"flight{i}_packets",
                flight_segments(size),
                "packets of 1500 B",
            )
        )
    return rows


def _wire_only(report: Report, budget: Budget, progress: Progress) -> None:
    """Flight sizes (no timing) of the hybrid suite with each identity kind not timed.

    One handshake each costs milliseconds, and it is what the network model needs to
    show what post-quantum signatures do to the flights (an ML-DSA-65 server flight
    is several packets) even on the quick budget.
    """
    for auth in AuthKind:
        if auth in budget.timed_kinds:
            continue
        setup = hb.HandshakeSetup("hybrid", auth)
        progress(f"flight sizes {setup.name}")
        run = hb.in_memory(setup, Identity.generate(auth), Identity.generate(auth))
        for row in _flight_rows(setup.name, "hybrid", run):
            report.add(row)


def _handshakes(report: Report, budget: Budget, progress: Progress) -> None:
    ids = {k: Identity.generate(k) for k in budget.timed_kinds}
    peers = {k: Identity.generate(k) for k in budget.timed_kinds}
    for mode, auth in budget.handshake_setups():
        setup = hb.HandshakeSetup(mode, auth)
        name = setup.name
        progress(f"handshake {name}")
        runs = [hb.in_memory(setup, ids[auth], peers[auth]) for _ in range(budget.handshakes_cpu)]
        client_ms, client_p99, client_spread = _stats([r.client_s * 1e3 for r in runs])
        server_ms, server_p99, server_spread = _stats([r.server_s * 1e3 for r in runs])
        first = runs[0]
        rows = [
            Row(
                "handshake",
                name,
                mode,
                "client_cpu_ms",
                client_ms,
                "ms",
                client_p99,
                client_spread,
            ),
            Row(
                "handshake",
                name,
                mode,
                "server_cpu_ms",
                server_ms,
                "ms",
                server_p99,
                server_spread,
            ),
            Row("handshake", name, mode, "handshakes_per_s_per_core", 1000 / server_ms, "1/s"),
        ]
        rows += _flight_rows(name, mode, first)
        loop = hb.pqe2ee_loopback(setup, ids[auth], peers[auth], budget.handshakes_loopback)
        lat, lat_p99, lat_spread = _stats([t * 1e6 for t in loop.latencies])
        rows.append(Row("handshake", name, mode, "latency_us", lat, "us", lat_p99, lat_spread))
        rows.append(Row("handshake", name, mode, "handshakes_per_s", 1e6 / lat, "1/s"))
        rows.append(
            Row("handshake", name, mode, "server_capacity_per_core", 1 / loop.server_cpu, "1/s")
        )
        for row in rows:
            report.add(row)
    _wire_only(report, budget, progress)
    progress("TLS 1.3 baseline")
    for label, mutual in (
        (TLS_LABEL, False),
        ("stdlib TLS 1.3 mutual (X25519, Ed25519 certs)", True),
    ):
        tls = hb.tls_loopback(budget.handshakes_loopback, mutual=mutual)
        lat, lat_p99, spread = _stats([t * 1e6 for t in tls.latencies])
        report.add(Row("handshake", label, None, "latency_us", lat, "us", lat_p99, spread))
        report.add(Row("handshake", label, None, "handshakes_per_s", 1e6 / lat, "1/s"))
        capacity = 1 / tls.server_cpu
        report.add(Row("handshake", label, None, "server_capacity_per_core", capacity, "1/s"))


def _netmodel(report: Report, budget: Budget, path: PathProfile, progress: Progress) -> None:
    progress("network model")
    for row in report.find("handshake", "flight1_bytes"):
        flights = [int(row.value), int(report.value("handshake", "flight2_bytes", name=row.name))]
        times = simulate(flights, path, runs=budget.netmodel_runs)
        for q in (50, 95, 99):
            value = float(np.percentile(times, q))
            report.add(Row("netmodel", row.name, row.mode, f"completion_p{q}_ms", value, "ms"))
        mean = float(times.mean())
        report.add(Row("netmodel", row.name, row.mode, "completion_mean_ms", mean, "ms"))


def run(
    budget: Budget, path: PathProfile | None = None, progress: Progress | None = None
) -> Report:
    """Measure everything within ``budget``; ``progress`` hears each step's name."""
    report = Report()
    path = path or PathProfile()
    report.settings = {
        "budget": budget.__class__.__name__,
        **budget.__dict__,
        "path": path.__dict__,
    }
    report.settings["auth_kinds"] = [k.value for k in budget.timed_kinds]
    report.settings["hybrid_auth_kinds"] = [k.value for k in budget.hybrid_auth_kinds]
    say = progress or (lambda _: None)
    _kems(report, budget, say)
    _handshakes(report, budget, say)
    _netmodel(report, budget, path, say)
    say("stream throughput")
    for row in stream_rows(budget.stream_mib << 20, budget.stream_repeats):
        report.add(row)
    say("record padding cost")
    for row in padding_rows(max(1, budget.stream_mib // 4) << 20, budget.stream_repeats):
        report.add(row)
    return report
