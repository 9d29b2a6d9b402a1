"""The age payload: a 16-byte nonce, then STREAM (ChaCha20-Poly1305, 64 KiB chunks)
under ``HKDF-SHA256(ikm = file key, salt = nonce, info = "payload")`` (C2SP age spec,
"Payload").

The chunk work is :mod:`pqe2ee.hazmat.stream` (the C core); this module is a thin
adapter that adds what age needs on top:

- age (Go) releases chunks one at a time, so when a payload fails it has released every
  chunk before the failing one, a full-size non-final chunk that ends the file, and a
  final chunk that is followed by more data.  ``Decryptor.update`` instead drops the
  whole call's output when any chunk in it fails, and opens a held-back full chunk only
  as final.  So on failure only, the failing batch is replayed chunk by chunk with
  ``decrypt_chunk`` to release exactly what age releases (the testkit's payload hashes
  depend on it).  Nothing unauthenticated is ever released.

Security property: :func:`decrypt_blocks` yields only authenticated plaintext, and
raises :class:`~pqe2ee.exceptions.AgePayloadError` (an ``InvalidTag``) unless the
payload ended with a final chunk exactly at the end of the input.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from pqe2ee._fileio import read_full
from pqe2ee.exceptions import AgeHeaderError, AgePayloadError, InvalidTag
from pqe2ee.hazmat import stream
from pqe2ee.hazmat.core import cleanse
from pqe2ee.hazmat.kdf import hkdf
from pqe2ee.hazmat.stream._positional import ChunkFailed, run_middle

__all__ = ["NONCE_SIZE", "decrypt_blocks", "encrypt_payload", "read_nonce"]

NONCE_SIZE = 16
# age's 64 KiB chunks are STREAM's default; every stream call here relies on it.
_CT_CHUNK = stream.DEFAULT_CHUNK_SIZE + stream.TAG_SIZE
# Ciphertext read per batch: 512 KiB per thread, so that a batch stays in the L2 cache
# between read, decryption and write (measured: docs/performance.md).
_BATCH = 8 * _CT_CHUNK * max(1, min(os.cpu_count() or 1, 8))


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    """The STREAM key for one file."""
    return hkdf(file_key, salt=nonce, info=b"payload", length=32)


def read_nonce(src: BinaryIO) -> bytes:
    """The payload nonce.  :raises AgeHeaderError: the file ends before 16 bytes."""
    nonce = bytearray(NONCE_SIZE)
    if read_full(src, memoryview(nonce)) != NONCE_SIZE:
        raise AgeHeaderError("age file is truncated: the payload nonce is missing")
    return bytes(nonce)


def encrypt_payload(
    src: BinaryIO, dst: BinaryIO, file_key: bytes, *, threads: int | None = None
) -> None:
    """Write a fresh nonce and the STREAM of everything in ``src`` to ``dst``."""
    nonce = os.urandom(NONCE_SIZE)
    dst.write(nonce)
    stream.encrypt_file(src, dst, payload_key(file_key, nonce), threads=threads)


_AFTER_FINAL = "age payload has data after its final chunk"


def _open_as_final(key: bytes, chunk: bytes, index: int) -> bytearray:
    """A full chunk that failed as a middle one, opened as the final one (age then
    reports data after it); :raises AgePayloadError: it does not authenticate at all."""
    try:
        return stream.decrypt_chunk(key, chunk, index, final=True)
    except InvalidTag:
        raise AgePayloadError(f"age payload chunk {index} does not authenticate") from None


def _replay(key: bytes, data: bytes, index: int) -> Iterator[bytes | bytearray]:
    """After ``update`` failed on ``data``: release what age would, then raise.

    Every chunk ``update`` processed was full size and followed by more data.
    """
    for start in range(0, (len(data) - 1) // _CT_CHUNK * _CT_CHUNK, _CT_CHUNK):
        chunk = data[start : start + _CT_CHUNK]
        try:
            yield bytes(stream.decrypt_chunk(key, chunk, index, final=False))
        except InvalidTag:
            yield bytes(_open_as_final(key, chunk, index))
            raise AgePayloadError(_AFTER_FINAL) from None
        index += 1
    raise AgePayloadError("age payload does not authenticate")


def _decrypt_middle(dec: stream.Decryptor, key: bytes, src: BinaryIO, dst: BinaryIO) -> int:
    """Open every chunk but the last from file to file by position; the count done."""
    try:
        return run_middle(dec, src, dst, seal=False)
    except ChunkFailed as exc:  # src is a regular file, still where the payload starts
        chunk = os.pread(src.fileno(), _CT_CHUNK, src.tell() + exc.index * _CT_CHUNK)
        cleanse(_open_as_final(key, chunk, exc.index))  # into a file deleted anyway
        raise AgePayloadError(_AFTER_FINAL) from None


def decrypt_blocks(
    src: BinaryIO,
    file_key: bytes,
    nonce: bytes,
    *,
    threads: int | None = None,
    scratch: BinaryIO | None = None,
) -> Iterator[bytes | bytearray]:
    """Yield the payload's plaintext in authenticated blocks, reading ``src`` to the end.

    :param scratch: the file the blocks will be written to, when it is a temporary file
        that any failure deletes.  Between regular files, every chunk but the last is
        then written straight into it by position (on every core) before the first
        block is yielded, and ``scratch`` is positioned after them.
    :raises AgePayloadError: a chunk fails, the payload is truncated or extended; the
        blocks yielded before are authenticated (and exactly those age would release).
    """
    key = payload_key(file_key, nonce)
    dec = stream.Decryptor(key, threads=threads)
    released = 0  # chunks
    if scratch is not None:
        released = _decrypt_middle(dec, key, src, scratch)
    carry = b""  # input fed to dec and not yet released: its held-back chunk
    buf = memoryview(bytearray(_BATCH))  # one input buffer, reused
    while got := read_full(src, buf):
        block = buf[:got]
        try:
            out = dec.update(block)
        except InvalidTag:
            yield from _replay(key, carry + bytes(block), released)
            raise AssertionError("unreachable") from None  # _replay always raises
        n = len(out) // stream.DEFAULT_CHUNK_SIZE
        released += n
        keep = len(carry) + len(block) - n * _CT_CHUNK
        if keep <= len(block):
            carry = bytes(block[len(block) - keep :])
        else:
            carry = carry[len(carry) - (keep - len(block)) :] + bytes(block)
        if out:
            yield out
    try:
        out = dec.finalize()
    except InvalidTag:
        if len(carry) == _CT_CHUNK:
            # age reads a full chunk at the end as non-final first: release it if so.
            try:
                pt = stream.decrypt_chunk(key, carry, released, final=False)
            except InvalidTag:
                pass
            else:
                yield bytes(pt)
                raise AgePayloadError("age payload is truncated: no final chunk") from None
        raise AgePayloadError("age payload is truncated or its last chunk is corrupt") from None
    if out:
        yield out
