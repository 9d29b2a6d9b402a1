"""What the harnesses share: a reader over the fuzz input and a known plaintext."""

from __future__ import annotations

import hashlib
from pathlib import Path

#: The committed seed corpora, one folder per harness.
CORPUS = Path(__file__).parent / "corpus"
#: Scratch files of harnesses that go through the file system (gitignored).
SCRATCH_ROOT = Path(__file__).resolve().parent.parent / "build" / "fuzz" / "scratch"
#: Committed reference data that seeds and harnesses both need (see make_seeds.py).
DATA = Path(__file__).parent / "data"

#: Position-dependent bytes that plaintexts are cut from, so that any reordering,
#: duplication or change of released data shows as a mismatch against the original.
PATTERN = hashlib.shake_256(b"pqe2ee fuzz pattern").digest(5 << 20)


class Input:
    """The fuzz bytes, read front to back; reads past the end give zeros (never fail),
    so every input is a valid program for the harness."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def left(self) -> int:
        return len(self._data) - self._pos

    def u8(self) -> int:
        if self._pos >= len(self._data):
            return 0
        self._pos += 1
        return self._data[self._pos - 1]

    def u16(self) -> int:
        return self.u8() << 8 | self.u8()

    def take(self, n: int) -> bytes:
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def rest(self) -> bytes:
        return self.take(self.left)


def chunks(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of ``size`` bytes (0: one piece); never an empty piece."""
    if size <= 0 or size >= len(data):
        return [data] if data else []
    return [data[i : i + size] for i in range(0, len(data), size)]


def is_prefix(released: bytes | bytearray, original: bytes | bytearray) -> bool:
    return len(released) <= len(original) and original[: len(released)] == released
