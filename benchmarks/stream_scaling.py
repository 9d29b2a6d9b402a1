"""Does sealing scale with threads?  Cache-sized vs DRAM-sized buffers, beside plain copying.

    .venv/bin/python benchmarks/stream_scaling.py [--repeats N]

For each size, ``encrypt_into`` with 1 and with 2 threads (round-robin, medians), and a
numpy copy of the same size on 1 and 2 threads (numpy releases the GIL): when copying
does not get faster with a second thread either, the limit is the memory system, not
pqe2ee.  Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable

import numpy as np

from pqe2ee.hazmat import stream

KEY = bytes(range(32))


def _median(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def _copy(dst: np.ndarray, src: np.ndarray, threads: int) -> None:  # type: ignore[type-arg]
    n = len(src)
    parts = [
        threading.Thread(target=np.copyto, args=(dst[n * t // threads : n * (t + 1) // threads],
                                                 src[n * t // threads : n * (t + 1) // threads]))
        for t in range(threads)
    ]  # fmt: skip
    for p in parts:
        p.start()
    for p in parts:
        p.join()


def _rows(size: int, repeats: int) -> list[str]:
    plain = os.urandom(size)
    out = bytearray(stream.ciphertext_size(size))
    src = np.frombuffer(plain, dtype=np.uint8)
    dst = np.zeros(size, dtype=np.uint8)
    fns: dict[str, Callable[[], object]] = {
        "copy 1": lambda: _copy(dst, src, 1),
        "copy 2": lambda: _copy(dst, src, 2),
    }
    for cipher in stream.CIPHERS:
        for t in (1, 2):
            fns[f"{cipher} {t}"] = lambda c=cipher, t=t: stream.encrypt_into(
                KEY, plain, out, cipher=c, threads=t
            )
    med = _median(fns, repeats)
    rows = []
    for what in ("copy", *stream.CIPHERS):
        one, two = med[f"{what} 1"], med[f"{what} 2"]
        name = "numpy copy" if what == "copy" else f"STREAM {what} (encrypt_into)"
        rows.append(
            f"| {size >> 20} MiB | {name} | {size / one / 1e9:.2f} GB/s "
            f"| {size / two / 1e9:.2f} GB/s | {one / two:.2f}x |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    print("| size | what | 1 thread | 2 threads | 2 / 1 |\n|---|---|---|---|---|")
    for size in (8 << 20, 1 << 30):
        print("\n".join(_rows(size, args.repeats)))


if __name__ == "__main__":
    main()
