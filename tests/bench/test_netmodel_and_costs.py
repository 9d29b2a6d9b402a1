"""The network model and the migration cost model, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from pqe2ee.bench.migrate import Profile, evaluate, load_profile, mosca, recommend
from pqe2ee.bench.netmodel import PathProfile, flight_segments, simulate
from pqe2ee.bench.results import Report, Row


def test_flight_segments() -> None:
    # MSS = 1500 - 52 = 1448
    assert flight_segments(1, 1500) == 1
    assert flight_segments(1448, 1500) == 1
    assert flight_segments(1449, 1500) == 2
    assert flight_segments(5563, 1500) == 4
    assert flight_segments(5563, 9000) == 1


def test_no_loss_small_flights_take_two_round_trips() -> None:
    """TCP connect (1 RTT) + ClientHello and the server flight (1 RTT)."""
    times = simulate([1200, 1400], PathProfile(rtt_ms=40, loss=0.0), runs=10)
    assert np.allclose(times, 80.0)


def test_no_loss_big_flight_needs_extra_round_trips() -> None:
    """A 30-segment server flight with initcwnd 10: windows of 10 and 20 -> one extra RTT."""
    path = PathProfile(rtt_ms=40, loss=0.0, mtu=1500, initcwnd=10)
    times = simulate([1000, 30 * 1448], path, runs=5)
    assert np.allclose(times, 120.0)
    # 31 segments: 10 + 20 + 1 -> two extra RTTs
    assert np.allclose(simulate([1000, 31 * 1448], path, runs=5), 160.0)


def test_loss_makes_a_tail() -> None:
    path = PathProfile(rtt_ms=50, loss=0.05)
    times = simulate([1200, 1400], path, runs=4000, seed=7)
    assert np.percentile(times, 50) == pytest.approx(100.0)
    assert np.percentile(times, 99) >= 1000.0  # a lost single-segment flight waits for the RTO
    lossless_share = np.mean(times == 100.0)
    assert lossless_share == pytest.approx(0.95**4, abs=0.02)  # SYN, SYN-ACK, two flights


def test_path_validation() -> None:
    for bad in ({"rtt_ms": 0}, {"loss": 1.0}, {"mtu": 100}, {"initcwnd": 0}):
        with pytest.raises(ValueError, match="need rtt_ms"):
            PathProfile(**bad)  # type: ignore[arg-type]


def test_mosca() -> None:
    at_risk = mosca(
        Profile(secrecy_years=10, migration_years=3, quantum_year=2035, current_year=2026)
    )
    assert at_risk.at_risk
    assert at_risk.margin_years == -4
    assert "AT RISK" in at_risk.text
    safe = mosca(Profile(secrecy_years=1, migration_years=1, quantum_year=2040, current_year=2026))
    assert not safe.at_risk
    assert safe.margin_years == 12


def _report() -> Report:
    """A hand-made report: classical 0.4 ms / 600 B, hybrid 0.5 ms / 2900 B, pq 0.45 ms."""
    report = Report(machine={"cpu": "test"})
    figures = {"classical": (0.4, 300, 300), "hybrid": (0.5, 1500, 1400), "pq": (0.45, 1450, 1380)}
    for mode, (cpu, c2s, s2c) in figures.items():
        for metric, value in (
            ("server_cpu_ms", cpu),
            ("wire_bytes", c2s + s2c),
            ("flight1_bytes", c2s),
            ("flight2_bytes", s2c),
        ):
            report.add(Row("handshake", f"{mode}-test", mode, metric, value, ""))
    return report


def test_cost_model_on_a_hand_computed_profile() -> None:
    profile = Profile(handshakes_per_s=1000, cores=4, rtt_ms=20, loss=0.0, current_year=2026)
    costs = {c.mode: c for c in evaluate(profile, _report(), runs=20)}
    # cores = 1000 hs/s x 0.5 ms = 0.5 core; extra over classical 0.1
    assert costs["hybrid"].cores_at_peak == pytest.approx(0.5)
    assert costs["hybrid"].extra_cores == pytest.approx(0.1)
    # bandwidth = 1000 x 86400 x 2900 B = 250.56 GB/day; classical 51.84
    assert costs["hybrid"].gb_per_day == pytest.approx(250.56)
    assert costs["hybrid"].extra_gb_per_day == pytest.approx(250.56 - 51.84)
    assert costs["hybrid"].packets == (2, 1)
    assert costs["classical"].extra_cores == 0
    # no loss, all flights fit the window: 2 RTTs for everyone
    assert costs["hybrid"].latency_p50_ms == pytest.approx(40.0)
    assert costs["hybrid"].extra_latency_p95_ms == pytest.approx(0.0)
    reasons = recommend(profile, list(costs.values()))
    assert reasons[0].startswith("Recommendation:")
    assert any("0.5 of 4 cores at 1,000 handshakes/s (+0.1 over classical)" in r for r in reasons)
    # 250.56 - 51.84 GB a day more, and no extra latency: written for people
    assert any("adds 199 GB a day" in r and "±0 ms median" in r for r in reasons), reasons


def test_recommendation_warns_when_cores_run_out() -> None:
    profile = Profile(handshakes_per_s=20000, cores=2, loss=0.0)
    reasons = recommend(profile, evaluate(profile, _report(), runs=10))
    assert any("MORE THAN YOU HAVE" in r for r in reasons)


def test_profile_from_toml(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "profile.toml"
    path.write_text("handshakes_per_s = 42.0\nsecrecy_years = 25\nquantum_year = 2032\n")
    profile = load_profile(path, rtt_ms=80.0)
    assert (profile.handshakes_per_s, profile.secrecy_years, profile.rtt_ms) == (42.0, 25, 80.0)
    path.write_text("handshakes_per_second = 1\n")
    with pytest.raises(ValueError, match="unknown keys"):
        load_profile(path)


def test_report_json_round_trip_and_bad_json() -> None:
    report = _report()
    again = Report.from_json(report.to_json())
    assert again.results == report.results
    with pytest.raises(ValueError, match="not a pqe2ee bench JSON report"):
        Report.from_json('{"machine": {}}')
