"""Files the package writes: one rule for every output path.

A regular file (or a new path) is written to a temporary file in the same folder and
renamed over the destination only when the writer finished without an exception, so a
failed decryption leaves no partial plaintext behind and never clobbers an existing file.
A path that names something else — a character device such as ``/dev/null`` or
``/dev/stdout``, a FIFO, a socket — is written directly: renaming over it would replace
the device node or pipe itself.  Writers that use such paths release only authenticated
data, chunk by chunk, as a pipe needs.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["PathOrFile", "atomic_output", "open_input", "read_full"]

PathOrFile = str | os.PathLike[str] | BinaryIO


def _special(path: Path) -> bool:
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def atomic_output(
    dst: PathOrFile,
    *,
    buffered: bool = True,
    mode: int | None = None,
    overwrite: bool = True,
) -> Iterator[BinaryIO]:
    """Yield a binary file to write ``dst`` through (see the module doc for the rule).

    :param dst: a path, or a writable binary file object (yielded as it is).
    :param buffered: use Python's write buffer (for many small writes).
    :param mode: permission bits of the new file (default: 0600, mkstemp's).
    :param overwrite: if False, refuse an existing regular ``dst`` with FileExistsError.
    """
    if not isinstance(dst, (str, os.PathLike)):
        yield dst
        return
    path = Path(dst)
    if _special(path):
        with open(path, "wb", buffering=-1 if buffered else 0) as f:
            yield f
        return
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:  # name the file asked for, never the temporary one
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with open(fd, "wb", buffering=-1 if buffered else 0) as f:
            yield f
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def open_input(src: PathOrFile, *, buffered: bool = True) -> Iterator[BinaryIO]:
    """Yield ``src`` opened for reading (a file object is yielded as it is).

    A missing file raises FileNotFoundError naming it, before any output is touched.
    """
    if isinstance(src, (str, os.PathLike)):
        with open(src, "rb", buffering=-1 if buffered else 0) as f:
            yield f
    else:
        yield src


def read_full(f: BinaryIO, buf: memoryview) -> int:
    """Fill ``buf`` from ``f`` as far as the data goes; the number of bytes read (0 at EOF)."""
    got = 0
    while got < len(buf):
        n = f.readinto(buf[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return int(got)
