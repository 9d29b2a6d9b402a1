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
import warnings
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Protocol

from pqe2ee._binding import stream as _core_stream
from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat import core
from pqe2ee.hazmat.stream import _reference
from pqe2ee.hazmat.stream._format import COUNTER_SIZE, MAX_CHUNKS, TAG_SIZE

__all__ = ["RunFn", "open_chunks", "seal_chunks", "single_run", "uses_core"]

# Below this much work per thread, handing a sub-run to another thread costs more than
# it saves.
_MIN_BYTES_PER_THREAD = 256 * 1024


class RunFn(Protocol):
    """Seal or open one run of consecutive chunks on one thread (the C loop's contract).

    Returns None, or (opening) the run-relative index of the first chunk that failed.
    """

    def __call__(
        self,
        cipher: str,
        key: memoryview,
        src: memoryview,
        dst: memoryview,
        *,
        first_index: int,
        n_chunks: int,
        last_is_final: bool,
        chunk_size: int,
    ) -> int | None: ...


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_warned = False


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
    global _warned
    if _core_offers(cipher):
        return True
    if not _warned:
        _warned = True
        reason = core.ERROR or f"the linked libcrypto does not offer {cipher}"
        warnings.warn(
            f"pqe2ee.hazmat.stream runs on its slow pure-Python reference path: {reason}",
            RuntimeWarning,
            stacklevel=5,  # uses_core < single_run < seal_chunks/open_chunks < ...
        )
    return False


def _c_seal(
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    first_index: int,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
) -> int | None:
    _core_stream.stream_seal(
        cipher,
        key,
        first_index.to_bytes(COUNTER_SIZE, "big"),
        src,
        dst,
        n_chunks=n_chunks,
        last_is_final=last_is_final,
        chunk_size=chunk_size,
    )
    return None


def _c_open(
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    first_index: int,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
) -> int | None:
    return _core_stream.stream_open(
        cipher,
        key,
        first_index.to_bytes(COUNTER_SIZE, "big"),
        src,
        dst,
        n_chunks=n_chunks,
        last_is_final=last_is_final,
        chunk_size=chunk_size,
    )


def _run(
    fn: RunFn,
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    first_index: int,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
    threads: int,
    plain: memoryview,
) -> int | None:
    """Cut the run into ``threads`` contiguous sub-runs; the first failing chunk or None.

    :param plain: whichever of ``src`` and ``dst`` holds the plaintext (it sets the
        split: sub-runs of at least ``_MIN_BYTES_PER_THREAD`` plaintext bytes).
    """
    if first_index + n_chunks > MAX_CHUNKS:
        raise ValueError("the 88-bit STREAM chunk counter would wrap")
    threads = max(1, min(threads, n_chunks, len(plain) // _MIN_BYTES_PER_THREAD))
    if threads == 1:
        return fn(
            cipher,
            key,
            src,
            dst,
            first_index=first_index,
            n_chunks=n_chunks,
            last_is_final=last_is_final,
            chunk_size=chunk_size,
        )
    sealed = chunk_size + TAG_SIZE
    in_step, out_step = (chunk_size, sealed) if src is plain else (sealed, chunk_size)
    per, extra = divmod(n_chunks, threads)
    jobs: list[tuple[int, int, bool, memoryview, memoryview]] = []
    start = 0
    for t in range(threads):
        count = per + (t < extra)
        stop = start + count
        last = stop == n_chunks
        in_end = len(src) if last else stop * in_step
        out_end = len(dst) if last else stop * out_step
        jobs.append(
            (
                start,
                count,
                last_is_final and last,
                src[start * in_step : in_end],
                dst[start * out_step : out_end],
            )
        )
        start = stop

    def job(s: int, c: int, f: bool, i: memoryview, o: memoryview) -> int | None:
        return fn(
            cipher,
            key,
            i,
            o,
            first_index=first_index + s,
            n_chunks=c,
            last_is_final=f,
            chunk_size=chunk_size,
        )

    futures: list[Future[int | None]] = [pool(threads - 1).submit(job, *j) for j in jobs[1:]]
    try:
        results = [job(*jobs[0])]
    finally:
        # Never return (or raise) while another thread still writes into dst.
        wait(futures)
    results += [fut.result() for fut in futures]
    for (s, _, _, _, _), bad in zip(jobs, results, strict=True):
        if bad is not None:
            return s + bad
    return None


def single_run(cipher: str, *, seal: bool) -> RunFn:
    """The one-thread run function for ``cipher``: C core, or the reference path."""
    if uses_core(cipher):
        return _c_seal if seal else _c_open
    return _reference.seal_run if seal else _reference.open_run


def seal_chunks(
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    first_index: int,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
    threads: int,
) -> None:
    """Seal ``n_chunks`` chunks starting at ``first_index`` from ``src`` into ``dst``."""
    fn = single_run(cipher, seal=True)
    _run(
        fn,
        cipher,
        key,
        src,
        dst,
        first_index=first_index,
        n_chunks=n_chunks,
        last_is_final=last_is_final,
        chunk_size=chunk_size,
        threads=threads,
        plain=src,
    )


def open_chunks(
    cipher: str,
    key: memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    first_index: int,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
    threads: int,
) -> None:
    """Open ``n_chunks`` chunks into ``dst``, or wipe all of ``dst`` and raise InvalidTag.

    No plaintext of this call survives a failure, not even of the chunks before the bad
    one: the caller gets all of it or none.
    """
    fn = single_run(cipher, seal=False)
    try:
        bad = _run(
            fn,
            cipher,
            key,
            src,
            dst,
            first_index=first_index,
            n_chunks=n_chunks,
            last_is_final=last_is_final,
            chunk_size=chunk_size,
            threads=threads,
            plain=dst,
        )
        if bad is not None:
            raise InvalidTag(f"STREAM chunk {first_index + bad} failed authentication")
    except BaseException:
        # Whatever went wrong, none of this call's plaintext stays behind.
        core.cleanse(dst)
        raise
