"""The age payload across many chunks (64 KiB each, too large for whole-file seeds):
one fixed header and nonce, a fuzz-chosen number of chunks, and fuzz-chosen changes
to them, read through the public API in memory (:class:`age.AgeReader`) and from
file to file (:func:`age.decrypt`, whose by-position path opens a middle of 4 MiB or
more on every core).

Input: a control byte (bits 0-1: threads, 1-3; bit 2: also decrypt file to file;
bits 5-7: how many chunks: 0-3, or 14-19 around the reader's 16-chunk batch, or, when
all three are set, 65-68, past the by-position threshold), a count byte, the last
chunk's length (u16), then up to three changes: a kind byte (flip a byte, cut, append,
drop a chunk, duplicate one, swap two) and its arguments.

Properties: an unchanged file decrypts to exactly its plaintext both ways; a changed
one raises :class:`AgePayloadError` both ways, releasing from memory only a prefix of
the plaintext, and leaves nothing at the file destination (not even a partial file).
"""

from __future__ import annotations

import atexit
import io
import os
import shutil

from fuzz._common import PATTERN, SCRATCH_ROOT, Input, is_prefix
from pqe2ee import age
from pqe2ee.age.format import Header
from pqe2ee.age.payload import payload_key
from pqe2ee.exceptions import AgePayloadError, Pqe2eeError
from pqe2ee.hazmat import stream

FILE_KEY = bytes(range(16))
NONCE = bytes(range(16, 32))
KEY = payload_key(FILE_KEY, NONCE)
CT_CHUNK = stream.DEFAULT_CHUNK_SIZE + stream.TAG_SIZE
IDENTITY = age.X25519Identity(bytes(range(1, 33)))
#: A real header for FILE_KEY (its stanza is randomized, made once per process).
HEADER = Header.build(IDENTITY.recipient().wrap(FILE_KEY), FILE_KEY).encode()
#: Where the file-to-file runs write: emptied after each input, removed at a normal
#: exit (libFuzzer's exit skips that; ``make fuzz`` clears the folder first).
SCRATCH = SCRATCH_ROOT / str(os.getpid())
SCRATCH.mkdir(parents=True, exist_ok=True)
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def _chunks(control: int, count: int) -> int:
    band = control >> 5
    if band == 7:
        return 65 + count % 4
    if band >= 4:
        return 14 + count % 6
    return count % 4


def _change(source: Input, data: bytearray) -> None:
    kind, n = source.u8() % 6, max(1, -(-len(data) // CT_CHUNK))
    i, j = source.u8() % n, source.u8() % n
    if kind == 0 and data:
        data[(source.u16() << 8 | source.u8()) % len(data)] ^= source.u8() or 1
    elif kind == 1:
        del data[(source.u16() << 8 | source.u8()) % (len(data) + 1) :]
    elif kind == 2:
        data += source.take(source.u8() % 32 + 1)
    elif kind == 3:
        del data[i * CT_CHUNK : (i + 1) * CT_CHUNK]
    elif kind == 4:
        data[i * CT_CHUNK : i * CT_CHUNK] = data[i * CT_CHUNK : (i + 1) * CT_CHUNK]
    elif kind == 5 and i < j:
        a, b = (
            bytes(data[i * CT_CHUNK : (i + 1) * CT_CHUNK]),
            data[j * CT_CHUNK : (j + 1) * CT_CHUNK],
        )
        data[j * CT_CHUNK : (j + 1) * CT_CHUNK] = a
        data[i * CT_CHUNK : (i + 1) * CT_CHUNK] = b


def _in_memory(file: bytes, threads: int) -> tuple[bytes, Pqe2eeError | None]:
    released = bytearray()
    try:
        for block in age.AgeReader(io.BytesIO(file), [IDENTITY], threads=threads).blocks():
            released += block
    except Pqe2eeError as exc:
        return bytes(released), exc
    return bytes(released), None


def _file_to_file(file: bytes, threads: int) -> bytes | Pqe2eeError:
    """The decrypted file, or the error (after checking that nothing was left)."""
    src, dst = SCRATCH / "in.age", SCRATCH / "out"
    src.write_bytes(file)
    try:
        age.decrypt(src, dst, [IDENTITY], threads=threads)
    except Pqe2eeError as exc:
        left = sorted(p.name for p in SCRATCH.iterdir())
        assert left == ["in.age"], f"a failed decryption left {left}"
        return exc
    finally:
        src.unlink()
    out = dst.read_bytes()
    dst.unlink()
    return out


def test_one_input(data: bytes) -> None:
    source = Input(data)
    control = source.u8()
    threads = control % 3 + 1
    length = _chunks(control, source.u8()) * stream.DEFAULT_CHUNK_SIZE + source.u16()
    plaintext = PATTERN[:length]
    sealed = bytes(stream.encrypt(KEY, plaintext, threads=threads))
    changed = bytearray(sealed)
    for _ in range(source.u8() % 4):
        _change(source, changed)
    file = HEADER + NONCE + bytes(changed)

    released, error = _in_memory(file, threads)
    if changed == sealed:
        assert error is None, f"an intact payload failed: {error!r}"
        assert released == plaintext
    else:
        assert isinstance(error, AgePayloadError), f"a changed payload gave {error!r}"
        assert is_prefix(released, plaintext), "released plaintext that was never sealed"
    if control & 4 or length > 32 * stream.DEFAULT_CHUNK_SIZE:
        out = _file_to_file(file, threads)
        if changed == sealed:
            assert out == plaintext, f"file to file: {out!r:.80}"
        else:
            assert isinstance(out, AgePayloadError), f"file to file, a changed payload: {out!r:.80}"
