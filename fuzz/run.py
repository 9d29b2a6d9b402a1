"""Run the fuzz harnesses under atheris (libFuzzer).

``python -m fuzz.run NAME [libFuzzer flags] [corpus dirs]`` fuzzes one harness with
pqe2ee instrumented for coverage (the C core is not).  ``python -m fuzz.run --all
SECONDS`` runs every harness for SECONDS each, writes new corpus entries and crash
reproducers under build/fuzz/NAME/ (never into the committed seeds, which it only
reads), prints the executions per second, and fails if any harness failed.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: Harness -> the longest input to try (libFuzzer's -max_len): a little over the largest
#: seed, so that mutations can grow it, but not so far that each run gets slow.
MAX_LEN = {
    "client_hello": 4096,
    "server_flight": 4096,
    "records": 1024,
    "age_file": 8192,
    "age_payload": 64,
    "stream_core": 256,
    "ssh_server": 2048,
}
HARNESSES = tuple(MAX_LEN)
#: Harnesses whose inputs are short programs: grow them to -max_len at once, rather
#: than the slow ramp libFuzzer uses by default (-len_control).
NO_LEN_RAMP = {"records", "age_payload", "stream_core"}
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "fuzz"
SEEDS = ROOT / "fuzz" / "corpus"


def fuzz_one(name: str, argv: list[str]) -> None:
    # only here: replaying the seeds in pytest needs no atheris
    try:
        import atheris
        from atheris.import_hook import instrument_imports
    except ModuleNotFoundError:
        print(
            "fuzz/run.py: atheris is not installed: pip install -e '.[fuzz]' (make fuzz does)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None

    with instrument_imports(include=["pqe2ee", "fuzz"]):
        module = importlib.import_module(f"fuzz.{name}")
    atheris.Setup([f"fuzz.{name}", *argv], module.test_one_input)
    atheris.Fuzz()


def _stat(log: str, key: str) -> int | None:
    found = re.findall(rf"stat::{key}:\s*(\d+)", log)
    return int(found[-1]) if found else None


def run_all(seconds: int) -> int:
    failed: list[str] = []
    shutil.rmtree(OUT / "scratch", ignore_errors=True)  # left by earlier runs
    for name in HARNESSES:
        out = OUT / name
        (out / "corpus").mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "fuzz.run", name,
            f"-max_total_time={seconds}", f"-max_len={MAX_LEN[name]}",
            "-rss_limit_mb=2048", "-timeout=60",
            "-print_final_stats=1", f"-artifact_prefix={out}/",
            *(["-len_control=0"] if name in NO_LEN_RAMP else []),
            str(out / "corpus"), str(SEEDS / name),
        ]  # fmt: skip
        proc = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            cmd, cwd=ROOT, capture_output=True, text=True, errors="replace", check=False
        )
        log = proc.stdout + proc.stderr
        (out / "log.txt").write_text(log)
        runs = _stat(log, "number_of_executed_units")
        rate = _stat(log, "average_exec_per_sec")
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"fuzz {name:14} {status}: {runs} runs, {rate} exec/s, log {out / 'log.txt'}")
        if proc.returncode != 0:
            failed.append(name)
            print("\n".join(log.splitlines()[-60:]), file=sys.stderr)
    print(f"fuzz: {len(HARNESSES) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--all":
        sys.exit(run_all(int(args[1])))
    if not args or args[0] not in HARNESSES:
        sys.exit(f"usage: python -m fuzz.run {{{','.join(HARNESSES)}}} [flags] | --all SECONDS")
    fuzz_one(args[0], args[1:])


if __name__ == "__main__":
    main()
