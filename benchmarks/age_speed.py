"""age file to file: ``pqe2ee age`` against the ``age`` binary on the same file, one run.

Both tools encrypt the same random file to the same X25519 recipient and decrypt it
with the same identity file, as separate processes (start-up included), interleaved
round by round (alternating which goes first) so that machine noise hits both alike.
Before each run the output file is removed and ``sync`` flushes the previous run's
writes, so no run pays for another's write-back.  Reports the median wall time,
throughput, the speed ratio (age time / pqe2ee time: above 1 means pqe2ee is faster)
and each process's peak resident memory (``ru_maxrss`` from ``wait4``).

    python benchmarks/age_speed.py --size-mib 1024 --rounds 5
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process.

    The peak comes from GNU time (``%M``): ``ru_maxrss`` seen by this process would
    include the memory its child inherited before ``exec``.
    """
    with tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        elapsed = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()}")
        return elapsed, int(rss.read().split()[-1])


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def version(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--warmup", type=int, default=1, help="rounds run first and not counted (page cache)"
    )
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()

    age = shutil.which("age")
    keygen = shutil.which("age-keygen")
    pqe2ee = str(Path(sys.executable).with_name("pqe2ee"))
    if not age or not keygen or not os.path.exists("/usr/bin/time"):
        raise SystemExit("needs age and GNU time (Debian: apt-get install age time)")
    work = Path(tempfile.mkdtemp(prefix="age-bench-", dir=args.dir))
    try:
        plain = work / "plain"
        with plain.open("wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        key = work / "key.txt"
        subprocess.run([keygen, "-o", str(key)], check=True, capture_output=True)
        recipient = subprocess.run(
            [keygen, "-y", str(key)], check=True, capture_output=True, text=True
        ).stdout.strip()

        tools = {
            "age": {
                "encrypt": [age, "-e", "-r", recipient, "-o", str(work / "a.age"), str(plain)],
                "decrypt": [
                    age,
                    "-d",
                    "-i",
                    str(key),
                    "-o",
                    str(work / "a.out"),
                    str(work / "a.age"),
                ],
            },
            "pqe2ee": {
                "encrypt": [
                    pqe2ee,
                    "age",
                    "encrypt",
                    "-r",
                    recipient,
                    "-o",
                    str(work / "p.age"),
                    str(plain),
                ],
                "decrypt": [
                    pqe2ee,
                    "age",
                    "decrypt",
                    "-i",
                    str(key),
                    "-o",
                    str(work / "p.out"),
                    str(work / "p.age"),
                ],
            },
        }
        times: dict[tuple[str, str], list[float]] = {}
        rss: dict[tuple[str, str], int] = {}
        for i in range(-args.warmup, args.rounds):
            for op in ("encrypt", "decrypt"):
                # Alternate who goes first, so that neither always follows the other.
                for tool in ("age", "pqe2ee") if i % 2 == 0 else ("pqe2ee", "age"):
                    # Start each run without its output file (replacing a 1 GiB file
                    # costs its deallocation) and with no dirty pages left to write back
                    # from the run before: neither is what is measured here.
                    Path(tools[tool][op][-2]).unlink(missing_ok=True)
                    os.sync()
                    t, m = run(tools[tool][op])
                    if i >= 0:
                        times.setdefault((tool, op), []).append(t)
                        rss[(tool, op)] = max(rss.get((tool, op), 0), m)
        want = sha256(plain)
        assert sha256(work / "a.out") == want
        assert sha256(work / "p.out") == want
        # Each tool's file opens with the other tool too.
        run([age, "-d", "-i", str(key), "-o", str(work / "x.out"), str(work / "p.age")])
        assert sha256(work / "x.out") == want

        size = plain.stat().st_size
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
        print(f"python {platform.python_version()}, {version([age, '--version'])} (age)")
        print(
            f"file: {size / 2**20:.0f} MiB random, {args.warmup} warm-up + {args.rounds} "
            "rounds, medians; min-max in brackets\n"
        )
        print("| operation | tool | median s [min-max] | MB/s | peak RSS MiB |")
        print("|---|---|---|---|---|")
        for op in ("encrypt", "decrypt"):
            for tool in ("age", "pqe2ee"):
                ts = times[(tool, op)]
                med = statistics.median(ts)
                print(
                    f"| {op} | {tool} | {med:.3f} [{min(ts):.2f}-{max(ts):.2f}] | "
                    f"{size / med / 1e6:.0f} | {rss[(tool, op)] / 1024:.1f} |"
                )
        print()
        for op in ("encrypt", "decrypt"):
            ratio = statistics.median(times[("age", op)]) / statistics.median(times[("pqe2ee", op)])
            print(f"{op}: pqe2ee is {ratio:.2f}x age's speed (age time / pqe2ee time)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
