"""The middle of a STREAM between two regular files, by position, on every core.

When both ends are regular files, the chunks of a STREAM need no pipeline: chunk ``i``
sits at a known offset in the input and goes to a known offset in the output.  Each
thread here takes the next batch of chunks, reads it with ``preadv``, seals or opens it
in one C call and writes it with ``pwrite``: read, cipher and write of a batch happen on
one core while the batch is still in its cache, and no thread waits for another (the
sequential pipeline of :mod:`._files` hands every batch from a reader to the cipher
threads to a writer).  Figures against the pipeline and against ``age`` are in
docs/performance.md.

Only the chunks that are certainly not the last (more input follows them) run here; the
caller's sequential path then does the rest from the advanced positions, so the final
chunk, and a file that grows meanwhile, are handled exactly as without this.  Security
properties are those of the chunks themselves: nonces come from the chunk index alone.
A decryption failure stops every thread, wipes the buffers, and raises
:class:`~pqe2ee.exceptions.InvalidTag`; chunks after the failing one may already sit in
the output, so callers use this for decryption only into a temporary file that a
failure deletes.
"""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, BinaryIO

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat.core import cleanse
from pqe2ee.hazmat.stream import _engine
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import MAX_CHUNKS

if TYPE_CHECKING:
    from pqe2ee.hazmat.stream._incremental import _StreamContext

__all__ = ["ChunkFailed", "SourceChangedError", "run_middle"]

# Chunks' worth of input each thread reads, ciphers and writes per batch (1 MiB: in the
# L2 cache between the three steps; sizes compared in docs/performance.md).
_BATCH_BYTES = 1024 * 1024
# Below this much middle, the threads cost more than they save.
_MIN_BYTES = 4 * 1024 * 1024
# preadv, pwrite and fcntl are POSIX; elsewhere the sequential path does everything.
_POSITIONAL_IO = all(hasattr(os, name) for name in ("preadv", "pwrite")) and os.name == "posix"


class SourceChangedError(OSError):
    """The input file shrank while it was read: the output would not match any file."""


class ChunkFailed(InvalidTag):
    """Chunk ``index`` (counted from the stream's start) did not authenticate."""

    def __init__(self, index: int) -> None:
        super().__init__(f"STREAM chunk {index} does not authenticate")
        self.index = index


def _regular_fd(f: BinaryIO, *, writing: bool) -> int | None:
    """``f``'s descriptor if positional I/O on it is exactly sequential I/O."""
    try:
        fd = f.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):  # io.BytesIO, closed, …
        return None
    if not stat.S_ISREG(mode) or not f.seekable():
        return None
    if writing and _appending(fd):
        return None  # pwrite ignores the offset under O_APPEND
    return fd


def _appending(fd: int) -> bool:
    import fcntl

    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND)


def _read_exactly(fd: int, view: memoryview, offset: int) -> None:
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            raise SourceChangedError("the input file shrank while it was being read")
        got += n


def _write_all(fd: int, view: memoryview, offset: int) -> None:
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


def run_middle(
    ctx: _StreamContext, fin: BinaryIO, fout: BinaryIO, *, seal: bool, threads: int | None = None
) -> int:
    """Process every chunk of ``fin`` from its position that more input follows; return
    how many chunks that was (0 when this path does not apply).

    ``ctx`` (fresh, or positioned by earlier calls) is advanced past those chunks, and
    ``fin`` and ``fout`` are positioned after them, as if the sequential path had run.
    Does nothing unless both are regular files (and ``fout`` not in append mode) and the
    middle is large enough to gain from it.

    :param threads: default: the context's.
    :raises ChunkFailed: (opening) a chunk failed; ``ctx`` is closed as failed.
    :raises SourceChangedError: ``fin`` shrank meanwhile.
    """
    if not _POSITIONAL_IO:
        return 0
    fd_in = _regular_fd(fin, writing=False)
    fd_out = _regular_fd(fout, writing=True)
    if fd_in is None or fd_out is None or ctx._pending:
        return 0
    in_off = fin.tell()
    size = os.fstat(fd_in).st_size - in_off
    in_chunk, out_chunk = ctx._in_chunk, ctx._out_chunk
    n = (size - 1) // in_chunk if size > 0 else 0  # chunks followed by more input
    if n * in_chunk < _MIN_BYTES or ctx._index + n >= MAX_CHUNKS:
        return 0  # (the sequential path reports a counter that would wrap)
    fout.flush()
    out_off = fout.tell()
    per = max(1, _BATCH_BYTES // ctx._chunk_size)
    batches = -(-n // per)
    first_index = ctx._index
    cipher = ctx._cipher
    # The chunks followed by more input: none of them is final.
    middle = ChunkRun(
        first_index=first_index, n_chunks=n, last_is_final=False, chunk_size=ctx._chunk_size
    )
    run = _engine.single_run(cipher, seal=seal)
    claim = iter(range(batches))
    lock = threading.Lock()
    failed: list[int] = []  # first failing chunk index of each thread that failed
    stop = threading.Event()  # a failure or an error anywhere: every thread stops

    def work() -> None:
        try:
            _work()
        except BaseException:
            stop.set()
            raise

    def _work() -> None:
        inbuf, outbuf = bytearray(per * in_chunk), bytearray(per * out_chunk)
        try:
            with memoryview(inbuf) as iv, memoryview(outbuf) as ov, memoryview(ctx._key) as key:
                while not stop.is_set():
                    with lock:
                        b = next(claim, None)
                    if b is None:
                        return
                    c0 = b * per
                    count = min(per, n - c0)
                    src, dst = iv[: count * in_chunk], ov[: count * out_chunk]
                    _read_exactly(fd_in, src, in_off + c0 * in_chunk)
                    bad = run(cipher, key, src, dst, chunks=middle.part(c0, count))
                    if bad is not None:
                        failed.append(c0 + bad)
                        stop.set()
                        return
                    _write_all(fd_out, dst, out_off + c0 * out_chunk)
        finally:
            cleanse(inbuf)
            cleanse(outbuf)

    workers = max(1, min(ctx._threads if threads is None else threads, batches))
    pool = _engine.pool(workers - 1) if workers > 1 else None
    futures: list[Future[None]] = [pool.submit(work) for _ in range(workers - 1)] if pool else []
    try:
        work()
    except BaseException:
        ctx._close_failed()
        raise
    finally:
        wait(futures)  # never return while another thread still writes
    try:
        for fut in futures:
            fut.result()
    except BaseException:
        ctx._close_failed()
        raise
    if failed:
        ctx._close_failed()
        raise ChunkFailed(first_index + min(failed))
    ctx._index += n
    fin.seek(in_off + n * in_chunk)
    fout.seek(out_off + n * out_chunk)
    return n
