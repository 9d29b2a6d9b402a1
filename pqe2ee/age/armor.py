"""ASCII armor for age files: strict PEM with the label ``AGE ENCRYPTED FILE``.

C2SP age spec, "ASCII armor" (RFC 7468 strict encoding): padded standard base64 in
lines of exactly 64 columns, the last one shorter or full, between the BEGIN and END
lines; no headers, no checksum.  As age does, the reader accepts CRLF line ends and up
to 1 KiB of whitespace before and after the armor, and nothing else.

Both sides stream: :class:`ArmorReader` decodes a line at a time and
:class:`ArmorWriter` encodes as it is written, so memory stays constant.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import BinaryIO

from pqe2ee.exceptions import AgeArmorError

__all__ = ["BEGIN", "END", "ArmorReader", "ArmorWriter", "is_armored"]

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_BYTES_PER_LINE = _COLUMNS // 4 * 3
_MAX_WHITESPACE = 1024


def is_armored(start: bytes) -> bool:
    """Whether a file beginning with ``start`` looks armored (``-----`` after whitespace).

    A binary age file starts with ``age-encryption.org/``; anything starting with dashes
    is read as armor, so that a damaged BEGIN line is reported as an armor error.
    """
    return start.lstrip().startswith(b"-----")


class ArmorReader(io.RawIOBase):
    """Decode an armored age file from ``src`` (a buffered binary file)."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._started = False
        self._done = False
        self._buf = b""

    def readable(self) -> bool:
        """Always True: this is a read-only stream."""
        return True

    def _line(self) -> bytes:
        line = self._src.readline(_MAX_WHITESPACE + 1)
        if not line:
            raise AgeArmorError("armored age file is truncated (no END line)")
        if len(line) > _MAX_WHITESPACE and not line.endswith(b"\n"):
            raise AgeArmorError("armor line is too long")
        line = line.removesuffix(b"\n")
        return line.removesuffix(b"\r")

    def _drain_trailing(self) -> None:
        rest = self._src.read(_MAX_WHITESPACE)
        if rest.strip():
            raise AgeArmorError("data after the armor's END line")
        if len(rest) == _MAX_WHITESPACE:
            raise AgeArmorError("too much whitespace after the armor's END line")
        self._done = True

    def _start(self) -> None:
        skipped = 0
        while True:
            line = self._line()
            if line.strip():
                break
            skipped += len(line) + 1
            if skipped > _MAX_WHITESPACE:
                raise AgeArmorError("too much whitespace before the armor")
        if line != BEGIN:
            raise AgeArmorError("armor must begin with '-----BEGIN AGE ENCRYPTED FILE-----'")
        self._started = True

    def _next_block(self) -> None:
        if not self._started:
            self._start()
        line = self._line()
        if line == END:
            self._drain_trailing()
            return
        if len(line) > _COLUMNS:
            raise AgeArmorError("armor line longer than 64 columns")
        if not line:
            raise AgeArmorError("empty line inside the armor")
        try:
            data = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise AgeArmorError("armor line is not valid padded base64") from None
        if base64.b64encode(data) != line:
            raise AgeArmorError("armor line is not canonical base64")
        if len(data) < _BYTES_PER_LINE:
            if self._line() != END:
                raise AgeArmorError("a short armor line must be the last, before END")
            self._drain_trailing()
        self._buf = data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``b`` with decoded bytes; 0 after the END line.

        :raises AgeArmorError: the armor is malformed (not canonical base64, bad lines).
        """
        while not self._buf and not self._done:
            self._next_block()
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class ArmorWriter(io.RawIOBase):
    """Encode everything written into armor on ``dst``; :meth:`close` writes the END line.

    Closing does not close ``dst``.
    """

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._pending = bytearray()
        dst.write(BEGIN + b"\n")

    def writable(self) -> bool:
        """Always True: this is a write-only stream."""
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Encode ``b``; whole 64-column lines go out now, the rest waits for more or close."""
        self._pending += b
        whole = len(self._pending) // _BYTES_PER_LINE * _BYTES_PER_LINE
        if whole:
            self._emit(self._pending[:whole])
            del self._pending[:whole]
        return len(b)

    def _emit(self, data: bytes | bytearray) -> None:
        text = base64.b64encode(data)
        self._dst.write(
            b"".join(text[i : i + _COLUMNS] + b"\n" for i in range(0, len(text), _COLUMNS))
        )

    def close(self) -> None:
        """Write the last partial line and the END line (``dst`` stays open)."""
        if not self.closed:
            if self._pending:
                self._emit(self._pending)
            self._dst.write(END + b"\n")
        super().close()
