"""Runs of chunks, split across threads, on the C core or the reference path.

Chunks of a STREAM are independent given their index, so a run of chunks is cut into
contiguous sub-runs and each is sealed or opened by one C call on its own thread; cffi
releases the GIL during the call, so the sub-runs proceed in parallel.  The bytes do not
depend on the split: the output is identical for every thread count.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Protocol

from pqe2ee._binding import stream as _core_stream
from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat import core
from pqe2ee.hazmat.stream import _reference
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import TAG_SIZE

__all__ = ["RunFn", "run_chunks", "single_run", "uses_core"]

# Below this much work per thread, handing a sub-run to another thread costs more than
# it saves.
_MIN_BYTES_PER_THREAD = 256 * 1024


class RunFn(Protocol):
    """Seal or open one run of consecutive chunks on one thread (the C loop's contract).

    Returns None, or (opening) the run-relative index of the first chunk that failed.
    """

    def __call__(
        self, cipher: str, key: memoryview, src: memoryview, dst: memoryview, *, chunks: ChunkRun
    ) -> int | None: ...


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _forget_pools_after_fork() -> None:
    # A forked child inherits the pools but not their threads: work submitted to them
    # would wait forever.  Start afresh instead.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool of ``workers`` threads (made on first use)."""
    with _pools_lock:
        executor = _pools.get(workers)
        if executor is None:
            executor = ThreadPoolExecutor(workers, thread_name_prefix="pqe2ee-stream")
            _pools[workers] = executor
        return executor


@functools.cache
def _core_offers(cipher: str) -> bool:
    return core.offers(cipher)


def uses_core(cipher: str) -> bool:
    """True when ``cipher`` runs on the compiled core; warns once when it cannot."""
    if _core_offers(cipher):
        return True
    core.warn_pure_python(
        "pqe2ee.hazmat.stream",
        f"the linked libcrypto does not offer {cipher}",
        stacklevel=5,  # uses_core < single_run < run_chunks < ...
    )
    return False


# Looked up at call time (tests put a failing core in their place).
_c_seal: RunFn = _core_stream.stream_seal
_c_open: RunFn = _core_stream.stream_open


def _run(
    fn: RunFn,
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    chunks: ChunkRun,
    *,
    threads: int,
    plain: memoryview,
) -> int | None:
    """Cut the run into ``threads`` contiguous sub-runs; the first failing chunk or None.

    :param plain: whichever of ``src`` and ``dst`` holds the plaintext (it sets the
        split: sub-runs of at least ``_MIN_BYTES_PER_THREAD`` plaintext bytes).
    :returns: the stream index (not the run's) of the first chunk that failed, or None.
    """
    n = chunks.n_chunks
    threads = max(1, min(threads, n, len(plain) // _MIN_BYTES_PER_THREAD))

    def job(part: ChunkRun, i: memoryview, o: memoryview) -> int | None:
        bad = fn(cipher, key, i, o, chunks=part)
        return None if bad is None else part.first_index + bad

    if threads == 1:
        return job(chunks, src, dst)
    sealed = chunks.chunk_size + TAG_SIZE
    in_step, out_step = (chunks.chunk_size, sealed) if src is plain else (sealed, chunks.chunk_size)
    per, extra = divmod(n, threads)
    jobs: list[tuple[ChunkRun, memoryview, memoryview]] = []
    start = 0
    for t in range(threads):
        stop = start + per + (t < extra)
        last = stop == n
        in_end = len(src) if last else stop * in_step
        out_end = len(dst) if last else stop * out_step
        jobs.append(
            (
                chunks.part(start, stop - start),
                src[start * in_step : in_end],
                dst[start * out_step : out_end],
            )
        )
        start = stop
    futures: list[Future[int | None]] = [pool(threads - 1).submit(job, *j) for j in jobs[1:]]
    try:
        results = [job(*jobs[0])]
    finally:
        # Never return (or raise) while another thread still writes into dst.
        wait(futures)
    results += [fut.result() for fut in futures]
    return next((bad for bad in results if bad is not None), None)


def single_run(cipher: str, *, seal: bool) -> RunFn:
    """The one-thread run function for ``cipher``: C core, or the reference path."""
    if uses_core(cipher):
        return _c_seal if seal else _c_open
    return _reference.seal_run if seal else _reference.open_run


def run_chunks(
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    chunks: ChunkRun,
    *,
    seal: bool,
    threads: int,
) -> None:
    """Seal (or open) the run ``chunks`` from ``src`` into ``dst`` on up to ``threads`` threads.

    Opening gives all of the run's plaintext or none: on any failure all of ``dst`` is
    wiped, even the chunks before the bad one, and a chunk that does not authenticate
    raises :class:`~pqe2ee.exceptions.InvalidTag`.
    """
    fn = single_run(cipher, seal=seal)
    if seal:
        _run(fn, cipher, key, src, dst, chunks, threads=threads, plain=src)
        return
    try:
        bad = _run(fn, cipher, key, src, dst, chunks, threads=threads, plain=dst)
        if bad is not None:
            raise InvalidTag(f"STREAM chunk {bad} failed authentication")
    except BaseException:
        # Whatever went wrong, none of this call's plaintext stays behind.
        core.cleanse(dst)
        raise
