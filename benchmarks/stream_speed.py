"""STREAM speed and memory, measured in one run: prints a Markdown table of medians and ratios.

    .venv/bin/python benchmarks/stream_speed.py            # 1 GiB in memory and on disk,
                                                           # 4 GiB for peak memory, age
    .venv/bin/python benchmarks/stream_speed.py --size 64M --big 256M --repeats 3   # a quick look

What is compared (every figure the median of --repeats runs; ratios from this run only):
- raw: one-shot AEAD of the same libcrypto through the core's single-chunk path
  (``pqe2ee_stream_seal_one``) on a reused 1 MiB buffer, 1 GiB in total;
- STREAM through the C core into a reused output buffer (``encrypt_into``), one thread and
  all cores; ``encrypt()``/``decrypt()`` including a fresh output buffer;
- a per-chunk Python loop over ``cryptography``'s ``encrypt_into`` (its own bundled
  OpenSSL) into a reused buffer, at 64 KiB and 4 KiB chunks;
- file to file (files in the page cache), and ``age`` encrypting and decrypting the
  same file;
- peak memory (ru_maxrss) of a child process doing file to file on a --big file.
Temporary files go to --dir (default: a fresh folder under /tmp) and are deleted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from pqe2ee import _binding
from pqe2ee._binding import _load
from pqe2ee.hazmat import core, stream
from pqe2ee.hazmat.stream._format import check_threads, plaintext_chunks

MiB = 1 << 20
GiB = 1 << 30
KEY = bytes(range(32))


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": MiB, "G": GiB}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e9


def raw_one_shot(cipher: str, total: int, walk: bytes | None = None) -> Callable[[], None]:
    """The same libcrypto, one AEAD call per 1 MiB, no STREAM around it: on one reused
    (cache-hot) buffer, or walking through ``walk`` into a matching output (the same
    memory traffic as STREAM over it)."""
    lib, ffi = _binding.lib, _binding.ffi
    cid = _load.cipher_id(cipher)
    nonce = bytes(12)
    if walk is None:
        src, dst = ffi.from_buffer(os.urandom(MiB)), ffi.from_buffer(bytearray(MiB + 16))
        in_step = out_step = 0
    else:
        src = ffi.from_buffer(walk)
        dst = ffi.from_buffer(bytearray(total + 16 * (total // MiB)), require_writable=True)
        in_step, out_step = MiB, MiB + 16

    def run() -> None:
        for i in range(total // MiB):
            status = lib.pqe2ee_stream_seal_one(
                cid, KEY, 32, nonce, 12, ffi.NULL, 0, src + i * in_step, MiB,
                dst + i * out_step, MiB + 16,
            )  # fmt: skip
            assert status == 0

    return run


def openssl_speed(cipher: str, processes: int) -> float | None:
    """``openssl speed -evp`` at 64 KiB (the system libcrypto, which the core links), in
    bytes per second summed over ``processes``; None without the openssl command."""
    if shutil.which("openssl") is None:
        return None
    name = {"chacha20-poly1305": "chacha20-poly1305", "aes-256-gcm": "aes-256-gcm"}[cipher]
    multi = ["-multi", str(processes)] if processes > 1 else []
    done = subprocess.run(
        ["openssl", "speed", *multi, "-evp", name, "-bytes", "65536", "-seconds", "3"],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1].split()[-1].rstrip("k")) * 1000


def python_loop(
    cipher: str, src: memoryview, out: memoryview, chunk: int, threads: int = 1
) -> Callable[[], None]:
    """The per-chunk loop a Python user would write over cryptography's encrypt_into,
    optionally cut into contiguous ranges on threads (cryptography releases the GIL)."""
    aead = (ChaCha20Poly1305 if cipher == "chacha20-poly1305" else AESGCM)(KEY)
    n = plaintext_chunks(len(src), chunk)
    sealed = chunk + 16

    def loop(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            last = i == n - 1
            nonce = i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
            piece = src[i * chunk :] if last else src[i * chunk : (i + 1) * chunk]
            aead.encrypt_into(nonce, piece, None, out[i * sealed : i * sealed + len(piece) + 16])

    def run() -> None:
        if threads == 1:
            loop(0, n)
            return
        bounds = [n * t // threads for t in range(threads + 1)]
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(loop, bounds[:-1], bounds[1:]))

    return run


# Runs the measured interpreter and reports its ru_maxrss.  It is itself started by this
# (large) process, but the measured one is forked from it while it is small: Linux counts
# the RSS a process had before exec into its ru_maxrss.
_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
_, status, usage = os.wait4(p.pid, 0)
sys.exit(1 if status else print(usage.ru_maxrss))
"""


def child_peak_rss(code: str) -> tuple[float, int]:
    """Run ``code`` in a fresh interpreter; its wall time and peak RSS (ru_maxrss) in bytes."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, code], check=True, capture_output=True, text=True
    )
    return time.perf_counter() - start, int(done.stdout) * 1024


def run_cmd(*args: str) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            f.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def copy_file(src: Path, dst: Path) -> None:
    """The I/O floor: the same reads and writes as encrypt_file, no crypto."""
    buf = memoryview(bytearray(8 * MiB))
    tmp = dst.with_suffix(".copying")
    with open(src, "rb", buffering=0) as fin, open(tmp, "wb", buffering=0) as fout:
        while n := fin.readinto(buf):
            fout.write(buf[:n])
    os.replace(tmp, dst)


Row = tuple[str, str, str]


def interleaved(jobs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each job, the jobs run round-robin so that all of them meet
    the same load on this shared machine."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, fn in jobs.items():
            times[name].append(median_seconds(fn, 1))
    return {name: statistics.median(v) for name, v in times.items()}


def memory_rows(cipher: str, plaintext: bytes, reps: int, cores: int) -> list[Row]:
    size, src = len(plaintext), memoryview(plaintext)
    out = bytearray(stream.ciphertext_size(size))
    back = bytearray(size)
    out4 = bytearray(stream.ciphertext_size(size, 4096))
    kw: dict[str, Any] = {"cipher": cipher}
    k4: dict[str, Any] = {"cipher": cipher, "chunk_size": 4096}
    stream.encrypt_into(KEY, src, out, **kw)
    t = interleaved(
        {
            "raw": raw_one_shot(cipher, size),
            "raw_walk": raw_one_shot(cipher, size, plaintext),
            "enc1": lambda: stream.encrypt_into(KEY, src, out, threads=1, **kw),
            "encn": lambda: stream.encrypt_into(KEY, src, out, **kw),
            "dec1": lambda: stream.decrypt_into(KEY, out, back, threads=1, **kw),
            "decn": lambda: stream.decrypt_into(KEY, out, back, **kw),
            "fresh": lambda: stream.encrypt(KEY, src, **kw),
            "fresh_d": lambda: stream.decrypt(KEY, out, **kw),
            "py64": python_loop(cipher, src, memoryview(bytearray(len(out))), 65536),
            "py64n": python_loop(cipher, src, memoryview(bytearray(len(out))), 65536, cores),
            "py4": python_loop(cipher, src, memoryview(bytearray(len(out4))), 4096),
            "c4_1": lambda: stream.encrypt_into(KEY, src, out4, threads=1, **k4),
            "c4_n": lambda: stream.encrypt_into(KEY, src, out4, **k4),
        },
        reps,
    )
    assert back == plaintext
    t_raw, t1, tn, td1, tdn = t["raw"], t["enc1"], t["encn"], t["dec1"], t["decn"]
    t_walk = t["raw_walk"]
    t_fresh, t_fresh_d, t_py64, t_py64n = t["fresh"], t["fresh_d"], t["py64"], t["py64n"]
    t_py4, t4_1, t4_n = t["py4"], t["c4_1"], t["c4_n"]

    def speed(t: float) -> str:
        return f"{gbps(size, t):.2f} GB/s"

    c, n = cipher, cores
    ossl1, ossln = openssl_speed(cipher, 1), openssl_speed(cipher, cores)
    ossl = (
        [
            (
                f"{c}: `openssl speed -evp` 64 KiB, 1 / {n} processes",
                f"{ossl1 / 1e9:.2f} / {ossln / 1e9:.2f} GB/s",
                f"{ossln / ossl1:.2f}x; STREAM 1 thread = {size / t1 / ossl1:.2f}x openssl speed",
            )
        ]
        if ossl1 and ossln
        else []
    )
    return [
        *ossl,
        (f"{c}: raw one-shot AEAD, reused 1 MiB buffer, core's libcrypto", speed(t_raw), ""),
        (f"{c}: raw one-shot AEAD, 1 MiB at a time through the input", speed(t_walk), ""),
        (
            f"{c}: STREAM 64 KiB, 1 thread (encrypt_into)",
            speed(t1),
            f"{t_raw / t1:.2f}x raw (reused), {t_walk / t1:.2f}x raw (walking)",
        ),
        (f"{c}: STREAM 64 KiB, {n} threads (encrypt_into)", speed(tn), f"{t1 / tn:.2f}x 1 thread"),
        (f"{c}: STREAM 64 KiB decrypt_into, 1 thread", speed(td1), f"{t_raw / td1:.2f}x raw seal"),
        (f"{c}: STREAM 64 KiB decrypt_into, {n} threads", speed(tdn), f"{td1 / tdn:.2f}x 1 thread"),
        (f"{c}: encrypt() with a fresh output buffer, {n} threads", speed(t_fresh), ""),
        (f"{c}: decrypt() with a fresh output buffer, {n} threads", speed(t_fresh_d), ""),
        (
            f"{c}: Python loop, cryptography encrypt_into, 64 KiB",
            speed(t_py64),
            f"C: {t_py64 / t1:.2f}x (1 thread), {t_py64 / tn:.2f}x ({n} threads)",
        ),
        (
            f"{c}: the same loop on {n} threads (contiguous ranges)",
            speed(t_py64n),
            f"C ({n} threads): {t_py64n / tn:.2f}x",
        ),
        (f"{c}: STREAM 4 KiB, 1 thread (encrypt_into)", speed(t4_1), ""),
        (f"{c}: STREAM 4 KiB, {n} threads (encrypt_into)", speed(t4_n), ""),
        (
            f"{c}: Python loop, cryptography encrypt_into, 4 KiB",
            speed(t_py4),
            f"C: {t_py4 / t4_1:.2f}x (1 thread), {t_py4 / t4_n:.2f}x ({n} threads)",
        ),
    ]


def file_rows(tmp: Path, size: int, reps: int, use_age: bool) -> list[Row]:
    """File to file, interleaved round by round with a plain copy and age, so that all
    of them meet the same page-cache and writeback conditions."""
    plain, sealed, opened = tmp / "plain", tmp / "sealed", tmp / "opened"
    make_file(plain, size)
    jobs: dict[str, Callable[[], object]] = {
        "copy": lambda: copy_file(plain, tmp / "copy"),
        "enc1": lambda: stream.encrypt_file(plain, sealed, KEY, threads=1),
        "enc": lambda: stream.encrypt_file(plain, sealed, KEY),
        "dec": lambda: stream.decrypt_file(sealed, opened, KEY),
    }
    if use_age:
        ident = tmp / "identity"
        run_cmd("age-keygen", "-o", str(ident))
        recipient = subprocess.run(
            ["age-keygen", "-y", str(ident)], check=True, capture_output=True, text=True
        ).stdout.strip()
        a_sealed, a_opened = str(tmp / "a.age"), str(tmp / "a.out")
        jobs["age"] = lambda: run_cmd("age", "-r", recipient, "-o", a_sealed, str(plain))
        jobs["age-d"] = lambda: run_cmd("age", "-d", "-i", str(ident), "-o", a_opened, a_sealed)
    t = interleaved(jobs, reps)
    assert opened.read_bytes() == plain.read_bytes()

    def speed(name: str) -> str:
        return f"{gbps(size, t[name]):.2f} GB/s"

    rows = [
        ("file: plain copy, same reads and writes (I/O floor)", speed("copy"), ""),
        ("file: encrypt_file, 1 thread", speed("enc1"), f"{t['copy'] / t['enc1']:.2f}x copy"),
        ("file: encrypt_file, all cores", speed("enc"), f"{t['copy'] / t['enc']:.2f}x copy"),
        ("file: decrypt_file, all cores", speed("dec"), f"{t['copy'] / t['dec']:.2f}x copy"),
    ]
    if use_age:
        rows += [
            ("file: age 1.1.1 encrypt", speed("age"), f"encrypt_file: {t['age'] / t['enc']:.2f}x"),
            (
                "file: age 1.1.1 decrypt",
                speed("age-d"),
                f"decrypt_file: {t['age-d'] / t['dec']:.2f}x",
            ),
        ]
    return rows


def rss_rows(tmp: Path, big: int) -> list[Row]:
    """Peak memory of a fresh interpreter doing file to file on a big file."""
    plain = tmp / "plain"
    make_file(plain, big)
    setup = f"from pqe2ee.hazmat import stream; k = bytes(range(32)); p = {str(tmp)!r}"
    t_e, rss_e = child_peak_rss(f"{setup}; stream.encrypt_file(p + '/plain', p + '/sealed', k)")
    plain.unlink()
    t_d, rss_d = child_peak_rss(f"{setup}; stream.decrypt_file(p + '/sealed', p + '/opened', k)")
    _, rss_idle = child_peak_rss(setup)
    g = f"{big / GiB:g} GiB"
    return [
        (f"peak RSS: encrypt_file of {g}", f"{rss_e / MiB:.0f} MiB", f"{gbps(big, t_e):.2f} GB/s"),
        (f"peak RSS: decrypt_file of {g}", f"{rss_d / MiB:.0f} MiB", f"{gbps(big, t_d):.2f} GB/s"),
        ("peak RSS: the same interpreter, import only", f"{rss_idle / MiB:.0f} MiB", ""),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--size", default="1G", help="bytes for the speed runs (1G)")
    ap.add_argument("--big", default="4G", help="file size for the peak-memory run (4G)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where temporary files go (/tmp)")
    ap.add_argument("--no-age", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help="skip files and peak RSS")
    args = ap.parse_args()
    size, big, reps = _size(args.size), _size(args.big), args.repeats
    cores = check_threads(None)
    use_age = not args.no_age and shutil.which("age") is not None

    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="pqe2ee-bench-", dir=args.dir))
    try:
        if not args.memory_only:
            # Peak memory first, while nothing else is on disk.
            rows += rss_rows(tmp, big)
            for p in tmp.iterdir():
                p.unlink()
            rows += file_rows(tmp, size, reps, use_age)
    finally:
        shutil.rmtree(tmp)
    plaintext = os.urandom(size)
    for cipher in stream.CIPHERS:
        rows += memory_rows(cipher, plaintext, reps, cores)

    print(
        f"Machine: {platform.machine()} {_cpu()}, {os.cpu_count()} cores, "
        f"Linux {platform.release()}; Python {platform.python_version()}; "
        f"core libcrypto: {core.libcrypto_version()}; cryptography "
        f"{cryptography.__version__} ({_cryptography_openssl()}); {_age_version()}"
    )
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"Sizes: {size / GiB:g} GiB for speed, {big / GiB:g} GiB for peak RSS; median of {reps}\n"
    )
    print("| what | median | ratio (this run) |\n|---|---|---|")
    for what, figure, note in rows:
        print(f"| {what} | {figure} | {note} |")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _cryptography_openssl() -> str:
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def _age_version() -> str:
    if not shutil.which("age"):
        return "age not installed"
    version = subprocess.run(["age", "--version"], capture_output=True, text=True).stdout
    return f"age {version.strip()}"


if __name__ == "__main__":
    main()
