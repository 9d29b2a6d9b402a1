"""Print KEM keygen / encaps / decaps / parse medians as a Markdown table.

    .venv/bin/python bench/kem_speed.py [--rounds N]

Every KEM on every backend that loads here, all interleaved in one run; set
OQS_INSTALL_PATH to include liboqs.  Figures are per call, in microseconds, with the
interquartile range as a percentage of the median.
"""

from __future__ import annotations

import argparse
import platform
from collections import defaultdict

from pqe2ee.backends import backend_status
from pqe2ee.bench.kem import OPS, loadable_kems, measure


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    results = measure(loadable_kems(), rounds=args.rounds)
    table: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for r in results:
        cell = f"{r.timing.median * 1e6:.1f} (±{r.timing.iqr_ratio * 50:.0f}%)"
        table[(r.kem, r.mode, r.backend)][r.op] = cell
    print(f"Python {platform.python_version()} on {platform.machine()}, rounds={args.rounds}")
    for name, status in backend_status().items():
        print(f"- {name}: {status}")
    print()
    print("| KEM | mode | backend | " + " | ".join(f"{op} µs" for op in OPS) + " |")
    print("|---|---|---|" + "---:|" * len(OPS))
    for (kem, mode, backend), cells in table.items():
        row = " | ".join(cells[op] for op in OPS)
        print(f"| {kem} | {mode} | {backend} | {row} |")


if __name__ == "__main__":
    main()
