"""One-shot STREAM over buffers in memory, and random access to single chunks."""

from __future__ import annotations

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat.core import cleanse
from pqe2ee.hazmat.stream import _engine
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CIPHER,
    TAG_SIZE,
    check_chunk_size,
    check_cipher,
    check_index,
    check_key,
    check_threads,
    ciphertext_chunks,
    ciphertext_size,
    plaintext_chunks,
    plaintext_size,
    view,
)

__all__ = ["decrypt", "decrypt_chunk", "decrypt_into", "encrypt", "encrypt_into"]


def encrypt(
    key: bytes | bytearray | memoryview,
    plaintext: bytes | bytearray | memoryview,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> bytearray:
    """Seal ``plaintext`` as one STREAM (age spec, "Payload"; C2SP STREAM).

    Chunk *i* is sealed with ``cipher`` under the nonce ``i`` (11 bytes big-endian) || flag,
    the flag being 0x01 only on the last chunk.  The result authenticates the content, the
    order and the end of the plaintext: see :func:`decrypt`.  A key must seal one stream
    only (derive a fresh one per stream, as age does with HKDF).

    :param key: 32 bytes.
    :param plaintext: any bytes-like object; it is read in place, not copied.
    :param cipher: ``"chacha20-poly1305"`` (RFC 8439 §2.8) or ``"aes-256-gcm"``
        (NIST SP 800-38D).
    :param chunk_size: plaintext bytes per chunk (age: 65536).
    :param threads: threads to seal large inputs with; None = one per core.  The output
        does not depend on it.
    :returns: the sealed stream, :func:`ciphertext_size` bytes, as a new bytearray.
    :raises TypeError: a key, cipher or size of the wrong type.
    :raises ValueError: a wrong key size, cipher, chunk size or thread count.
    """
    _check_args(key, cipher, chunk_size, threads)
    src = view(plaintext, "plaintext")
    out = bytearray(ciphertext_size(len(src), chunk_size))
    encrypt_into(key, src, out, cipher=cipher, chunk_size=chunk_size, threads=threads)
    return out


def encrypt_into(
    key: bytes | bytearray | memoryview,
    plaintext: bytes | bytearray | memoryview,
    out: bytearray | memoryview,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> int:
    """:func:`encrypt` into a caller's writable buffer of exactly :func:`ciphertext_size`.

    For large data sealed repeatedly: reusing ``out`` avoids allocating (and faulting in)
    fresh memory for every stream.  Returns the number of bytes written.
    """
    key_view, cipher, chunk_size, n_threads = _check_args(key, cipher, chunk_size, threads)
    src = view(plaintext, "plaintext")
    dst = _writable(out, ciphertext_size(len(src), chunk_size))
    n = plaintext_chunks(len(src), chunk_size)
    chunks = ChunkRun(first_index=0, n_chunks=n, last_is_final=True, chunk_size=chunk_size)
    _engine.run_chunks(cipher, key_view, src, dst, chunks, seal=True, threads=n_threads)
    return len(dst)


def decrypt(
    key: bytes | bytearray | memoryview,
    ciphertext: bytes | bytearray | memoryview,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> bytearray:
    """Open a whole STREAM sealed by :func:`encrypt` (or by age, given its payload key).

    Security property: the plaintext is returned only if every chunk authenticated under
    its own index, the last one (and only it) carries the final flag, and no data follows
    it.  A flipped bit, a dropped, duplicated or reordered chunk, a missing final chunk,
    trailing data, a wrong key or a wrong cipher all fail the same way.

    :param key: 32 bytes.
    :param ciphertext: the sealed stream (read in place).
    :param cipher: as given to :func:`encrypt`.
    :param chunk_size: as given to :func:`encrypt`.
    :param threads: as for :func:`encrypt`.
    :returns: the plaintext, as a new bytearray (wipe it when done if it is secret).
    :raises InvalidTag: for every authentication failure, and only for those.
    :raises TypeError: misuse, as for :func:`encrypt`.
    :raises ValueError: misuse, as for :func:`encrypt`.
    """
    _check_args(key, cipher, chunk_size, threads)
    src = view(ciphertext, "ciphertext")
    out = bytearray(plaintext_size(len(src), chunk_size))
    decrypt_into(key, src, out, cipher=cipher, chunk_size=chunk_size, threads=threads)
    return out


def decrypt_into(
    key: bytes | bytearray | memoryview,
    ciphertext: bytes | bytearray | memoryview,
    out: bytearray | memoryview,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threads: int | None = None,
) -> int:
    """:func:`decrypt` into a caller's writable buffer of exactly :func:`plaintext_size`.

    On :class:`InvalidTag` the whole of ``out`` has been overwritten with zeros: no
    plaintext of a stream that failed is left in it.  Returns the number of bytes written.
    """
    key_view, cipher, chunk_size, n_threads = _check_args(key, cipher, chunk_size, threads)
    src = view(ciphertext, "ciphertext")
    n = ciphertext_chunks(len(src), chunk_size)
    dst = _writable(out, len(src) - TAG_SIZE * n)
    chunks = ChunkRun(first_index=0, n_chunks=n, last_is_final=True, chunk_size=chunk_size)
    _engine.run_chunks(cipher, key_view, src, dst, chunks, seal=False, threads=n_threads)
    return len(dst)


def _check_args(
    key: object, cipher: object, chunk_size: object, threads: object
) -> tuple[memoryview, str, int, int]:
    """Every argument checked before any data is looked at (misuse before InvalidTag)."""
    return (
        check_key(key),
        check_cipher(cipher),
        check_chunk_size(chunk_size),
        check_threads(threads),
    )


def _writable(out: object, size: int) -> memoryview:
    dst = view(out, "out")
    if dst.readonly:
        raise TypeError("out must be a writable buffer, such as a bytearray")
    if len(dst) != size:
        raise ValueError(f"out must be exactly {size} bytes, got {len(dst)}")
    return dst


def decrypt_chunk(
    key: bytes | bytearray | memoryview,
    chunk: bytes | bytearray | memoryview,
    index: int,
    *,
    cipher: str = DEFAULT_CIPHER,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    final: bool | None = None,
) -> bytearray:
    """Open the single sealed chunk number ``index`` of a stream (random access).

    The chunk of index *i* starts at byte ``i * (chunk_size + 16)`` of the stream.  When
    ``final`` is None the chunk is opened as a non-final chunk if it is full size, and as
    the final chunk otherwise or if that fails: a full-size chunk may be either.  Pass
    ``final`` explicitly when you know it (for example from the stream's length).

    Security property: the plaintext is that of chunk ``index`` of a stream sealed under
    ``key``; it says nothing about the rest of the stream, in particular not that the
    stream was not truncated after it unless it is opened as final.

    :returns: the chunk's plaintext, as a new bytearray.
    :raises InvalidTag: the chunk does not authenticate at this index (with either flag
        when ``final`` is None), or its length is impossible for a chunk.
    :raises TypeError: misuse, as for :func:`encrypt`.
    :raises ValueError: misuse, as for :func:`encrypt`; ``index`` outside [0, 2**88).
    """
    cipher = check_cipher(cipher)
    chunk_size = check_chunk_size(chunk_size)
    index = check_index(index)
    key_view = check_key(key)
    src = view(chunk, "chunk")
    if final is not None and not isinstance(final, bool):
        raise TypeError(f"final must be a bool or None, not {type(final).__name__}")
    full = len(src) == chunk_size + TAG_SIZE
    if (
        len(src) > chunk_size + TAG_SIZE
        or len(src) < TAG_SIZE
        or (len(src) == TAG_SIZE and index > 0)
    ):
        raise InvalidTag(f"a {len(src)}-byte chunk is impossible at index {index}")
    if final is False and not full:
        raise InvalidTag("a chunk that is not the final one must be full size")
    flags = [final] if final is not None else ([False, True] if full else [True])
    out = bytearray(len(src) - TAG_SIZE)
    for flag in flags:
        chunks = ChunkRun(first_index=index, n_chunks=1, last_is_final=flag, chunk_size=chunk_size)
        try:
            _engine.run_chunks(
                cipher, key_view, src, memoryview(out), chunks, seal=False, threads=1
            )
        except InvalidTag:
            continue
        return out
    cleanse(out)
    raise InvalidTag(f"STREAM chunk {index} failed authentication")
