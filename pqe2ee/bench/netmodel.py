"""A model of handshake completion time on a lossy path (the kernel here has no netem).

From the measured flight sizes of a handshake it simulates, many times over, when the
client holds the server's authenticated flight (the moment it can send data), on a path
with a given round-trip time, loss rate, MTU and TCP initial window.

Assumptions, stated in every report:

- A fresh TCP connection: the SYN / SYN-ACK exchange costs one RTT; a lost SYN or
  SYN-ACK is retransmitted after the initial RTO of 1 s (RFC 6298 §2.1), doubling.
- Each flight is cut into segments of MSS = MTU - 52 bytes (IPv4 + TCP with
  timestamps).  A sender may have ``initcwnd`` unacknowledged segments in flight;
  slow start doubles the window every RTT of a flight (no congestion-window state is
  carried between flights, which favours large flights slightly).
- Every segment is lost independently with probability ``loss``.  A lost segment with
  at least 3 later segments in the same window is recovered by fast retransmit (one
  extra RTT); otherwise by the retransmission timeout: max(1 s initial / 200 ms Linux
  minimum after the first sample, 2 x RTT), doubling on repeated loss.  ACKs are never
  lost and the receiver acknowledges at once.
- Processing time at the endpoints is not included (add the measured CPU for that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when a simulation runs, not with the CLI
    import numpy as np

__all__ = ["PathProfile", "flight_segments", "simulate"]

HEADER_BYTES = 52  # IPv4 (20) + TCP (20) + timestamps option (12)


@dataclass(frozen=True)
class PathProfile:
    """A network path: round-trip time, loss, MTU, TCP initial window."""

    rtt_ms: float = 50.0
    loss: float = 0.01
    mtu: int = 1500
    initcwnd: int = 10

    def __post_init__(self) -> None:
        if self.rtt_ms <= 0 or not 0 <= self.loss < 1 or self.mtu < 576 or self.initcwnd < 1:
            raise ValueError("need rtt_ms > 0, 0 <= loss < 1, mtu >= 576, initcwnd >= 1")

    @property
    def mss(self) -> int:
        """The TCP payload per segment: the MTU less the IPv4 and TCP headers."""
        return self.mtu - HEADER_BYTES


def flight_segments(size: int, mtu: int = 1500) -> int:
    """How many TCP segments (packets) a flight of ``size`` bytes needs."""
    mss = mtu - HEADER_BYTES
    return max(1, -(-size // mss))


def _flight_time(segments: int, path: PathProfile, rng: np.random.Generator) -> float:
    """Milliseconds from the first segment sent until the last one is received, plus the
    half RTT for it to arrive (so a loss-free flight costs RTT/2 + window rounds)."""
    rtt = path.rtt_ms
    remaining, cwnd, elapsed = segments, path.initcwnd, 0.0
    rto = max(1000.0, 2 * rtt)
    while remaining > 0:
        window = min(cwnd, remaining)
        lost = rng.random(window) < path.loss
        if lost.any():
            first = int(lost.argmax())
            if window - first - 1 >= 3:
                elapsed += rtt  # fast retransmit after three duplicate ACKs
            else:
                elapsed += rto
                rto = min(rto * 2, 60_000.0)
            # retransmissions may themselves be lost: each costs another timeout
            while rng.random() < path.loss:
                elapsed += rto
                rto = min(rto * 2, 60_000.0)
        remaining -= window
        if remaining > 0:
            elapsed += rtt  # wait for ACKs to open the next window
            cwnd *= 2
    return elapsed + rtt / 2


def _tcp_connect(path: PathProfile, rng: np.random.Generator) -> float:
    elapsed, rto = path.rtt_ms, 1000.0
    # SYN, then SYN-ACK: each may be lost and resent after the (doubling) timeout
    for _ in range(2):
        while rng.random() < path.loss:
            elapsed += rto
            rto *= 2
    return elapsed


def simulate(
    flights: Sequence[int], path: PathProfile, runs: int = 2000, seed: int = 1
) -> np.ndarray:
    """Handshake completion times (ms) for ``runs`` simulated connections.

    :param flights: the handshake's flight sizes in bytes, alternating client and
        server, ending with the flight after which the client may send data (for
        pqe2ee: ClientHello, then the server's flight).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty(runs)
    segments = [flight_segments(size, path.mtu) for size in flights]
    for i in range(runs):
        total = _tcp_connect(path, rng)
        for n in segments:
            total += _flight_time(n, path, rng)
        out[i] = total
    return out
