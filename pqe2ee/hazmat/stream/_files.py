"""STREAM from file to file in constant memory.

The source is read in batches of whole chunks (a few MiB per thread) into one reused
buffer; each batch is sealed or opened on several threads into one of two reused output
buffers, which a writer thread writes out while the next batch is processed.  Memory
stays at three batch buffers whatever the file size.

When the destination is a path, the output goes to a temporary file in the destination's
folder, created with mode 0600, and is renamed over the destination only after the whole
stream was processed (for decryption: authenticated, final chunk included).  A failure
removes the temporary file: no partial plaintext is left behind and an existing
destination is never clobbered.  (No fsync: the rename is atomic, not durable across a
crash.)
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from pqe2ee._fileio import PathOrFile, atomic_output, open_input, read_full
from pqe2ee.hazmat.core import cleanse
from pqe2ee.hazmat.stream._format import DEFAULT_CHUNK_SIZE, DEFAULT_CIPHER, TAG_SIZE
from pqe2ee.hazmat.stream._incremental import Decryptor, Encryptor
from pqe2ee.hazmat.stream._positional import run_middle

__all__ = ["decrypt_file", "encrypt_file"]


# Plaintext bytes read per thread per batch: large enough that each thread's C call
# dwarfs the Python around it, small enough that memory stays flat (sizes compared in
# docs/performance.md).
_BATCH_PER_THREAD = 1024 * 1024


def _write_all(f: BinaryIO, data: memoryview) -> None:
    while data:
        n = f.write(data)
        if n is None:  # pragma: no cover - only non-blocking files
            raise BlockingIOError("the destination file is non-blocking")
        data = data[n:]


def _pump(ctx: Encryptor | Decryptor, src: PathOrFile, dst: PathOrFile) -> None:
    """Read batches, process each on the context's threads, write them out.

    Between two regular files, every chunk but the last runs by position instead
    (:mod:`._positional`); this loop then does only the rest.

    Writing (into the page cache, often throttled) takes longer than sealing, so it runs
    on a thread of its own: while one output buffer is being written, the next batch is
    processed into the other.  Writes stay in order (one writer thread).
    """
    per_batch = max(1, ctx._threads * _BATCH_PER_THREAD // ctx._chunk_size)
    inbuf = bytearray(per_batch * ctx._in_chunk)
    # One batch plus the chunk held back from the batch before.
    out_size = (per_batch + 1) * ctx._out_chunk + TAG_SIZE
    outbufs = [bytearray(out_size), bytearray(out_size)]
    inview, outviews = memoryview(inbuf), [memoryview(b) for b in outbufs]
    writing: list[Future[None] | None] = [None, None]
    try:
        with (
            open_input(src, buffered=False) as fin,
            atomic_output(dst, buffered=False) as fout,
            ThreadPoolExecutor(1, thread_name_prefix="pqe2ee-writer") as writer,
        ):
            sealing = isinstance(ctx, Encryptor)
            # Opening out of order is fine only into a temporary file that a failure
            # deletes: into a caller's file, only an authenticated prefix may appear.
            if sealing or isinstance(dst, (str, os.PathLike)):
                run_middle(ctx, fin, fout, seal=sealing)
            k = 0
            while got := read_full(fin, inview):
                if (busy := writing[k]) is not None:
                    busy.result()  # this buffer is free again (and the write succeeded)
                n = ctx._update_into(inview[:got], outviews[k])
                writing[k] = writer.submit(_write_all, fout, outviews[k][:n])
                k ^= 1
            for busy in writing:
                if busy is not None:
                    busy.result()
            _write_all(fout, outviews[k][: ctx._finalize_into(outviews[k])])
    finally:
        inview.release()
        for v in outviews:
            v.release()
        # Any buffer may hold plaintext.
        for b in (inbuf, *outbufs):
            cleanse(b)


def encrypt_file(
    src: PathOrFile,
    dst: PathOrFile,
    key: bytes | bytearray | memoryview,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> None:
    """Seal the file ``src`` into ``dst`` as one STREAM, in constant memory.

    The bytes written equal :func:`pqe2ee.hazmat.stream.encrypt` of the whole file.

    :param src: a path, or a binary file object open for reading.
    :param dst: a path (written atomically: a temporary file in the same folder, renamed
        over ``dst`` when done; an existing ``dst`` is replaced only then), or a binary
        file object open for writing (written as it goes).
    :param key: as for :func:`pqe2ee.hazmat.stream.encrypt`.
    :param cipher: as for :func:`pqe2ee.hazmat.stream.encrypt`.
    :param chunk_size: as for :func:`pqe2ee.hazmat.stream.encrypt`.
    :param threads: as for :func:`pqe2ee.hazmat.stream.encrypt`.
    :raises FileNotFoundError: ``src`` does not exist, or ``dst``'s folder does not.
    """
    ctx = Encryptor(key, cipher=cipher, chunk_size=chunk_size, threads=threads)
    _pump(ctx, src, dst)


def decrypt_file(
    src: PathOrFile,
    dst: PathOrFile,
    key: bytes | bytearray | memoryview,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> None:
    """Open the STREAM in file ``src`` into ``dst``, in constant memory.

    Security property: when ``dst`` is a path, it appears (or is replaced) only if the
    whole stream authenticated, final chunk included; on :class:`InvalidTag` nothing is
    left behind and an existing ``dst`` is untouched.  When ``dst`` is a file object,
    plaintext of authenticated chunks is written as it goes, and the caller must discard
    it if this raises.

    :param src: a path, or a binary file object open for reading.
    :param dst: a path, or a binary file object open for writing.
    :param key: as for :func:`pqe2ee.hazmat.stream.decrypt`.
    :param cipher: as for :func:`pqe2ee.hazmat.stream.decrypt`.
    :param chunk_size: as for :func:`pqe2ee.hazmat.stream.decrypt`.
    :param threads: as for :func:`pqe2ee.hazmat.stream.decrypt`.
    :raises InvalidTag: the stream does not authenticate (tampered, truncated, extended,
        wrong key or cipher).
    :raises FileNotFoundError: ``src`` does not exist, or ``dst``'s folder does not.
    """
    ctx = Decryptor(key, cipher=cipher, chunk_size=chunk_size, threads=threads)
    _pump(ctx, src, dst)
