"""The migration evaluation: what each mode costs a given service, and whether to hurry.

Inputs: a traffic profile (peak handshakes per second, bytes per session, path, cores,
how long the data must stay secret, how long a migration takes, the year a
cryptographically relevant quantum computer is assumed) and measured costs (a
:class:`~pqe2ee.bench.results.Report`).  Outputs per mode: server cores needed at peak,
extra bandwidth per day, added latency from the network model, and Mosca's inequality:
data is already at risk when *secrecy years + migration years > years until the quantum
computer* (M. Mosca, "Cybersecurity in an era with quantum computers", 2015).
"""

from __future__ import annotations

import datetime
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from pqe2ee.bench.humanize import count, data_size, number, signed
from pqe2ee.bench.netmodel import PathProfile, flight_segments, simulate
from pqe2ee.bench.results import Report

__all__ = ["ModeCost", "Profile", "Verdict", "evaluate", "load_profile", "mosca", "recommend"]

MODES = ("classical", "hybrid", "pq")


@dataclass(frozen=True)
class Profile:
    """A service's traffic and risk profile (flags or a TOML file, same names)."""

    handshakes_per_s: float = 200.0
    bytes_per_session: int = 50_000
    rtt_ms: float = 50.0
    loss: float = 0.01
    mtu: int = 1500
    initcwnd: int = 10
    cores: int = 8
    secrecy_years: float = 10.0
    migration_years: float = 3.0
    quantum_year: int = 2035
    current_year: int = datetime.date.today().year

    def __post_init__(self) -> None:
        if self.handshakes_per_s < 0 or self.bytes_per_session < 0 or self.cores < 1:
            raise ValueError("handshakes_per_s and bytes_per_session must be >= 0, cores >= 1")
        if self.secrecy_years < 0 or self.migration_years < 0:
            raise ValueError("secrecy_years and migration_years must be >= 0")

    @property
    def path(self) -> PathProfile:
        """The network path of this profile, for :func:`~pqe2ee.bench.netmodel.simulate`."""
        return PathProfile(self.rtt_ms, self.loss, self.mtu, self.initcwnd)


def load_profile(path: str | Path, **overrides: Any) -> Profile:
    """Read a profile from TOML (keys as in :class:`Profile`); flags override it.

    :raises ValueError: an unknown key or a bad value (named in the message).
    """
    with open(path, "rb") as f:
        data = tomllib.load(f)
    known = {f.name for f in fields(Profile)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return Profile(**data)


@dataclass(frozen=True)
class Verdict:
    """Mosca's inequality for one profile: at risk or not, by how many years, in words.

    ``margin_years`` is the years until the assumed quantum computer minus secrecy
    and migration years; negative means traffic recorded today is already at risk.
    """

    at_risk: bool
    margin_years: float
    text: str


def mosca(profile: Profile) -> Verdict:
    """Mosca's inequality for data protected only by classical key exchange today."""
    years_left = profile.quantum_year - profile.current_year
    need = profile.secrecy_years + profile.migration_years
    margin = years_left - need
    if margin < 0:
        text = (
            f"AT RISK: data must stay secret {profile.secrecy_years:g} years and migrating takes "
            f"{profile.migration_years:g}, but a quantum attacker is assumed in {years_left} "
            f"({profile.quantum_year}): traffic recorded today will be readable while it still "
            "matters. Start the migration now."
        )
    else:
        text = (
            f"Not yet at risk: {need:g} years needed, {years_left} left until "
            f"{profile.quantum_year} ({margin:g} years of margin)."
        )
    return Verdict(margin < 0, margin, text)


@dataclass(frozen=True)
class ModeCost:
    """What one mode costs the profiled service; ``extra_*`` are against classical."""

    mode: str
    server_cpu_ms: float
    cores_at_peak: float
    wire_bytes: int
    gb_per_day: float
    packets: tuple[int, ...]
    latency_p50_ms: float
    latency_p95_ms: float
    extra_cores: float = 0.0
    extra_gb_per_day: float = 0.0
    extra_latency_p50_ms: float = 0.0
    extra_latency_p95_ms: float = 0.0


def _mode_cost(mode: str, profile: Profile, report: Report, runs: int) -> ModeCost:
    server_cpu = report.value("handshake", "server_cpu_ms", mode)
    wire = int(report.value("handshake", "wire_bytes", mode))
    flights = [
        int(report.value("handshake", "flight1_bytes", mode)),
        int(report.value("handshake", "flight2_bytes", mode)),
    ]
    times = simulate(flights, profile.path, runs=runs)
    import numpy as np

    return ModeCost(
        mode=mode,
        server_cpu_ms=server_cpu,
        cores_at_peak=profile.handshakes_per_s * server_cpu / 1000.0,
        wire_bytes=wire,
        gb_per_day=profile.handshakes_per_s * 86400 * wire / 1e9,
        packets=tuple(flight_segments(f, profile.mtu) for f in flights),
        latency_p50_ms=float(np.percentile(times, 50)),
        latency_p95_ms=float(np.percentile(times, 95)),
    )


def evaluate(profile: Profile, report: Report, runs: int = 2000) -> list[ModeCost]:
    """Cost of each mode for ``profile``, from the measured ``report``.

    Bandwidth per day assumes the peak rate all day: an upper bound.
    """
    raw = [_mode_cost(mode, profile, report, runs) for mode in MODES]
    base = raw[0]
    return [
        replace(
            c,
            extra_cores=c.cores_at_peak - base.cores_at_peak,
            extra_gb_per_day=c.gb_per_day - base.gb_per_day,
            extra_latency_p50_ms=c.latency_p50_ms - base.latency_p50_ms,
            extra_latency_p95_ms=c.latency_p95_ms - base.latency_p95_ms,
        )
        for c in raw
    ]


def recommend(profile: Profile, costs: list[ModeCost]) -> list[str]:
    """A recommendation with its reasons, one sentence each."""
    verdict = mosca(profile)
    hybrid = next(c for c in costs if c.mode == "hybrid")
    reasons = [verdict.text]
    fits = hybrid.cores_at_peak <= profile.cores
    reasons.append(
        f"Hybrid needs {number(hybrid.cores_at_peak, 2)} of {profile.cores} cores at "
        f"{count(profile.handshakes_per_s)} handshakes/s "
        f"({signed(hybrid.extra_cores)} over classical)"
        + ("." if fits else ": MORE THAN YOU HAVE; add cores or pool sessions.")
    )
    reasons.append(
        f"It adds {data_size(hybrid.extra_gb_per_day * 1e9)} a day on the wire at the peak rate "
        f"and {signed(hybrid.extra_latency_p50_ms, 'ms')} median / "
        f"{signed(hybrid.extra_latency_p95_ms, 'ms')} p95 latency on the modelled path."
    )
    if verdict.at_risk or verdict.margin_years < 2:
        reasons.insert(
            0,
            "Recommendation: deploy hybrid key exchange now "
            "(--mode hybrid; add --require-pq once every peer is upgraded).",
        )
    else:
        reasons.insert(
            0, "Recommendation: plan the move to hybrid; run it in staging now to learn its costs."
        )
    reasons.append(
        "Hybrid keeps X25519, so it is never weaker than today's classical exchange, "
        "and ML-KEM protects recorded traffic against a future quantum computer."
    )
    return reasons
