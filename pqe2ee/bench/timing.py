"""Interleaved, repeated timing with robust statistics (median, IQR, p99)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Per-call seconds of one operation over many rounds."""

    median: float
    p25: float
    p75: float
    p99: float
    rounds: int

    @property
    def iqr_ratio(self) -> float:
        """Spread as a fraction of the median: how noisy this figure is."""
        return (self.p75 - self.p25) / self.median if self.median else 0.0


def calibrate(fn: Callable[[], object], target_s: float = 0.005) -> int:
    """How many calls make one batch of roughly ``target_s`` seconds."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target_s or n >= 1 << 20:
            return n
        n = max(n * 2, int(n * target_s / max(elapsed, 1e-9)))


def interleaved(
    ops: Sequence[Callable[[], object]], rounds: int = 15, target_s: float = 0.005
) -> list[Timing]:
    """Time every op once per round, all ops in each round, for ``rounds`` rounds.

    Interleaving spreads the machine's slow moments over every op alike, so ratios
    between ops from one call are fair even when absolute figures drift.
    """
    batches = [calibrate(op, target_s) for op in ops]
    samples: list[list[float]] = [[] for _ in ops]
    for _ in range(rounds):
        for i, (op, n) in enumerate(zip(ops, batches, strict=True)):
            start = time.perf_counter()
            for _ in range(n):
                op()
            samples[i].append((time.perf_counter() - start) / n)
    out = []
    for s in samples:
        arr = np.asarray(s)
        p25, med, p75, p99 = np.percentile(arr, [25, 50, 75, 99])
        out.append(Timing(float(med), float(p25), float(p75), float(p99), len(s)))
    return out
