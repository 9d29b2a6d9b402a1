"""Stream throughput against the cipher's raw speed, in memory, one run.

``raw`` is one AEAD call per 1 MiB buffer through the C core (the same libcrypto, no
STREAM framing): the speed limit.  ``STREAM`` is :func:`pqe2ee.hazmat.stream.encrypt_into`
on one thread and on every core, into a reused buffer.  ``session`` is the record layer
of a connected session (seal and open, one thread).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from pqe2ee.bench.results import Row
from pqe2ee.hazmat import core, stream

__all__ = ["stream_rows"]

MiB = 1 << 20


def _median_rate(fn: Callable[[], object], nbytes: int, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    arr = np.asarray(times)
    p25, med, p75 = np.percentile(arr, [25, 50, 75])
    return nbytes / med / 1e6, float((p75 - p25) / med)


def stream_rows(total: int, repeats: int) -> list[Row]:
    """Rows of group ``stream``: MB/s and the ratio to raw, per cipher."""
    rows: list[Row] = []
    if not core.AVAILABLE:
        return rows
    key = os.urandom(32)
    plaintext = os.urandom(total)
    block = os.urandom(MiB)
    out = bytearray(stream.ciphertext_size(total, stream.DEFAULT_CHUNK_SIZE))

    def raw(cipher: str) -> None:
        for _ in range(total // MiB):
            core.seal_one(cipher, key, bytes(12), b"", block)

    def sealed(cipher: str, threads: int | None) -> None:
        stream.encrypt_into(key, plaintext, out, cipher=cipher, threads=threads)

    for cipher in ("chacha20-poly1305", "aes-256-gcm"):
        cases = [
            (f"{cipher} raw AEAD (1 MiB calls)", partial(raw, cipher)),
            (f"{cipher} STREAM 1 thread", partial(sealed, cipher, 1)),
            (f"{cipher} STREAM all cores", partial(sealed, cipher, None)),
        ]
        raw_rate = 0.0
        for name, fn in cases:
            fn()  # warm up: fault in the buffers
            rate, spread = _median_rate(fn, total, repeats)
            raw_rate = raw_rate or rate
            rows.append(Row("stream", name, None, "throughput_mb_s", rate, "MB/s", None, spread))
            rows.append(Row("stream", name, None, "ratio_to_raw", rate / raw_rate, "x"))
    return rows
