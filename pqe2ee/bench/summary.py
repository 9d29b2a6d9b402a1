"""The ten-second summary of a benchmark run: what hybrid costs over classical, and a verdict.

Everything here is computed from a :class:`~pqe2ee.bench.results.Report`'s rows (never
typed in), so the same code that draws the page can be tested on a synthetic report.
The suites compared are the first measured suite of each mode (the runner measures
Ed25519 identities first), and stdlib TLS 1.3 when the report has it.

The verdict grades the extra *server CPU per handshake* of hybrid over classical
(measured in memory, the least noisy of the figures) and whether hybrid needs more
packets per handshake:

- **cheap**: at most :data:`CHEAP` extra CPU and no extra packet;
- **affordable**: at most :data:`AFFORDABLE` extra CPU;
- **expensive**: more than that.
"""

from __future__ import annotations

from dataclasses import dataclass

from pqe2ee.bench.humanize import number, percent, signed, signed_size
from pqe2ee.bench.netmodel import PathProfile
from pqe2ee.bench.results import NOISY, Report, Row

__all__ = ["AFFORDABLE", "CHEAP", "Suite", "Summary", "Tls", "summarize"]

#: Extra server CPU per handshake (fraction over classical) still called cheap.
CHEAP = 0.25
#: Extra server CPU per handshake (fraction over classical) still called affordable.
AFFORDABLE = 1.0


@dataclass(frozen=True)
class Suite:
    """One suite's headline figures; None where the report lacks them.

    ``noisy`` names the metrics whose spread exceeded :data:`~pqe2ee.bench.results.NOISY`.
    """

    name: str
    mode: str
    client_cpu_ms: float
    server_cpu_ms: float
    wire_bytes: float
    packets: tuple[int, ...]
    latency_us: float | None
    capacity_per_core: float | None
    completion_p50_ms: float | None
    completion_p95_ms: float | None
    completion_mean_ms: float | None
    noisy: frozenset[str]

    @property
    def kem(self) -> str:
        """The key exchange of the suite (the first part of its name)."""
        return self.name.split("/")[0]

    @property
    def cpu_ms(self) -> float:
        """Client and server CPU per handshake together."""
        return self.client_cpu_ms + self.server_cpu_ms


@dataclass(frozen=True)
class Tls:
    """The stdlib TLS 1.3 baseline measured on the same loopback."""

    name: str
    latency_us: float | None
    capacity_per_core: float | None
    noisy: frozenset[str]


@dataclass(frozen=True)
class Summary:
    """Classical, hybrid (and pq, TLS when measured), the grade and the verdict sentence."""

    classical: Suite
    hybrid: Suite
    pq: Suite | None
    tls: Tls | None
    path: PathProfile
    grade: str
    verdict: str
    noise_note: str | None

    @property
    def extra_cpu(self) -> float:
        """Hybrid's extra server CPU per handshake as a fraction of classical's."""
        return self.hybrid.server_cpu_ms / self.classical.server_cpu_ms - 1

    @property
    def extra_packets(self) -> int:
        """How many more packets a hybrid handshake needs than a classical one."""
        return sum(self.hybrid.packets) - sum(self.classical.packets)


def _one(report: Report, group: str, metric: str, name: str) -> Row | None:
    rows = report.find(group, metric, name=name)
    return rows[0] if rows else None


def _noisy(row: Row | None) -> bool:
    return row is not None and row.spread is not None and row.spread > NOISY


def _suite(report: Report, mode: str) -> Suite | None:
    first = report.find("handshake", "server_cpu_ms", mode)
    if not first:
        return None
    name = first[0].name

    def get(metric: str, group: str = "handshake") -> Row | None:
        return _one(report, group, metric, name)

    def value(metric: str, group: str = "handshake") -> float | None:
        row = get(metric, group)
        return None if row is None else row.value

    packets = []
    for i in range(1, 10):
        row = get(f"flight{i}_packets")
        if row is None:
            break
        packets.append(int(row.value))
    client = get("client_cpu_ms")
    wire = get("wire_bytes")
    watched = ("client_cpu_ms", "server_cpu_ms", "latency_us", "server_capacity_per_core")
    return Suite(
        name=name,
        mode=mode,
        client_cpu_ms=client.value if client else 0.0,
        server_cpu_ms=first[0].value,
        wire_bytes=wire.value if wire else 0.0,
        packets=tuple(packets),
        latency_us=value("latency_us"),
        capacity_per_core=value("server_capacity_per_core"),
        completion_p50_ms=value("completion_p50_ms", "netmodel"),
        completion_p95_ms=value("completion_p95_ms", "netmodel"),
        completion_mean_ms=value("completion_mean_ms", "netmodel"),
        noisy=frozenset(m for m in watched if _noisy(get(m))),
    )


def _tls(report: Report) -> Tls | None:
    rows = [r for r in report.results if r.group == "handshake" and r.mode is None]
    if not rows:
        return None
    name = rows[0].name
    lat = _one(report, "handshake", "latency_us", name)
    cap = _one(report, "handshake", "server_capacity_per_core", name)
    noisy = frozenset(
        m for m, r in (("latency_us", lat), ("server_capacity_per_core", cap)) if _noisy(r)
    )
    return Tls(name, lat.value if lat else None, cap.value if cap else None, noisy)


def _verdict(classical: Suite, hybrid: Suite, path: PathProfile) -> tuple[str, str]:
    extra_cpu = hybrid.server_cpu_ms / classical.server_cpu_ms - 1
    extra_packets = sum(hybrid.packets) - sum(classical.packets)
    if extra_cpu <= CHEAP and extra_packets <= 0:
        grade, advice = "cheap", "deploy it"
    elif extra_cpu <= AFFORDABLE:
        grade = "affordable"
        advice = f"deploy it, budgeting {percent(max(extra_cpu, 0))} more server CPU for handshakes"
    else:
        grade = "expensive"
        advice = "size the server cores before deploying it, or resume sessions to save handshakes"
    if extra_packets > 0:
        packets = f", {extra_packets} more packet{'s' if extra_packets > 1 else ''} per handshake"
    elif hybrid.packets and max(hybrid.packets) == 1:
        packets = ", every flight still fits in one packet"
    else:
        packets = ", no extra packets"
    latency = ""
    for which in ("mean", "p50"):
        h = getattr(hybrid, f"completion_{which}_ms")
        c = getattr(classical, f"completion_{which}_ms")
        if h is not None and c is not None:
            word = "mean" if which == "mean" else "median"
            latency = (
                f", {signed(h - c, 'ms')} {word} completion on a modelled "
                f"{number(path.rtt_ms)} ms path with {percent(path.loss)} loss"
            )
            break
    text = (
        f"Hybrid is {grade} here: {signed(hybrid.server_cpu_ms - classical.server_cpu_ms, 'ms')} "
        f"server CPU per handshake ({percent(extra_cpu, sign=True)}) and "
        f"{signed_size(hybrid.wire_bytes - classical.wire_bytes)} on the wire{packets}"
        f"{latency}; {advice}."
    )
    return grade, text


def _noise_note(report: Report, suites: list[Suite], tls: Tls | None) -> str | None:
    noisy = sorted({m for s in suites for m in s.noisy} | (tls.noisy if tls else set()))
    raw_load = report.machine.get("load_average_at_start")
    load = float(raw_load) if isinstance(raw_load, int | float) else 0.0
    cores = report.machine.get("cores")
    busy = isinstance(cores, int) and load > cores
    if not noisy and not busy:
        return None
    labels = {
        "client_cpu_ms": "client CPU",
        "server_cpu_ms": "server CPU",
        "latency_us": "loopback latency",
        "server_capacity_per_core": "server capacity",
    }
    parts = []
    if noisy:
        parts.append(
            "Figures marked ~ varied by more than "
            f"{percent(NOISY)} between runs ({', '.join(labels[m] for m in noisy)})."
        )
    if busy:
        parts.append(f"The machine was busy (load average {number(load)} on {cores} cores).")
    parts.append("Rerun without --quick on an idle machine before quoting them.")
    return " ".join(parts)


def summarize(report: Report) -> Summary:
    """The summary of ``report``: its classical and hybrid suites side by side, and the verdict.

    :raises KeyError: the report has no classical or no hybrid handshake measured.
    """
    classical, hybrid = _suite(report, "classical"), _suite(report, "hybrid")
    if classical is None or hybrid is None:
        raise KeyError("the report has no classical or no hybrid handshake to compare")
    pq = _suite(report, "pq")
    tls = _tls(report)
    path = PathProfile(**report.settings.get("path", {}))
    grade, verdict = _verdict(classical, hybrid, path)
    suites = [s for s in (classical, hybrid, pq) if s is not None]
    return Summary(
        classical, hybrid, pq, tls, path, grade, verdict, _noise_note(report, suites, tls)
    )
