"""Print KEM keygen / encaps / decaps / parse medians as a Markdown table.

    .venv/bin/python benchmarks/kem_speed.py [--rounds N]

Every KEM on every backend that loads here, all interleaved in one run (set
OQS_INSTALL_PATH to include liboqs), plus the same ML-KEM-768 and X25519 operations
called directly on ``cryptography``, to show what pqe2ee's layer adds.  Figures are per
call, in microseconds, with the interquartile range as a percentage of the median.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from pqe2ee.backends import backend_status
from pqe2ee.bench.kem import OPS, kem_operations, loadable_kems
from pqe2ee.bench.timing import interleaved


def raw_cryptography_ops() -> dict[tuple[str, str], Callable[[], object]]:
    """ML-KEM-768 and X25519 straight on cryptography, shaped like kem_operations."""
    key = mlkem.MLKEM768PrivateKey.generate()
    pk_raw = key.public_key().public_bytes_raw()
    pub = mlkem.MLKEM768PublicKey.from_public_bytes(pk_raw)
    _, ct = pub.encapsulate()
    xkey = x25519.X25519PrivateKey.generate()
    xpub = xkey.public_key()

    def x_encaps() -> object:
        eph = x25519.X25519PrivateKey.generate()
        return eph.exchange(xpub), eph.public_key().public_bytes_raw()

    return {
        ("ML-KEM-768", "keygen"): lambda: (
            mlkem.MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
        ),
        ("ML-KEM-768", "encaps"): pub.encapsulate,
        ("ML-KEM-768", "decaps"): lambda: key.decapsulate(ct),
        ("ML-KEM-768", "parse"): lambda: mlkem.MLKEM768PublicKey.from_public_bytes(pk_raw),
        ("X25519", "keygen"): lambda: (
            x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
        ),
        ("X25519", "encaps"): x_encaps,
        ("X25519", "decaps"): lambda: xkey.exchange(xpub),
        ("X25519", "parse"): lambda: x25519.X25519PublicKey.from_public_bytes(
            xpub.public_bytes_raw()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    rows: dict[tuple[str, str, str], dict[str, float]] = {}
    labels: list[tuple[tuple[str, str, str], str]] = []
    calls: list[Callable[[], object]] = []
    for kem in loadable_kems():
        for op, fn in kem_operations(kem).items():
            labels.append(((kem.name, kem.mode, kem.backend), op))
            calls.append(fn)
    for (name, op), fn in raw_cryptography_ops().items():
        labels.append(((name, "raw", "cryptography, called directly"), op))
        calls.append(fn)
    cells: dict[tuple[str, str, str], dict[str, str]] = {}
    for (row, op), t in zip(labels, interleaved(calls, rounds=args.rounds), strict=True):
        rows.setdefault(row, {})[op] = t.median
        cells.setdefault(row, {})[op] = f"{t.median * 1e6:.1f} (±{t.iqr_ratio * 50:.0f}%)"

    print(f"Python {platform.python_version()} on {platform.machine()}, rounds={args.rounds}")
    for name, status in backend_status().items():
        print(f"- {name}: {status}")
    print()
    print("| KEM | mode | backend | " + " | ".join(f"{op} µs" for op in OPS) + " |")
    print("|---|---|---|" + "---:|" * len(OPS))
    for (kem, mode, backend), row_cells in cells.items():
        print(f"| {kem} | {mode} | {backend} | " + " | ".join(row_cells[op] for op in OPS) + " |")

    print("\nRatios within this run (median / median):")
    base = rows.get(("X25519", "classical", "cryptography"))
    for key, ops in rows.items():
        if key[1] == "raw":
            ours = rows.get((key[0], "pq" if key[0].startswith("ML") else "classical", key[2][:12]))
            if ours:
                ratio = ", ".join(f"{op} {ours[op] / ops[op]:.2f}x" for op in OPS)
                print(f"- pqe2ee {key[0]} over direct cryptography calls: {ratio}")
    if base:
        for key, ops in rows.items():
            if key[1] in ("hybrid", "pq"):
                total = ops["keygen"] + ops["encaps"] + ops["decaps"]
                base_total = base["keygen"] + base["encaps"] + base["decaps"]
                print(
                    f"- {key[0]} ({key[2]}): keygen+encaps+decaps = "
                    f"{total / base_total:.2f}x X25519"
                )


if __name__ == "__main__":
    main()
