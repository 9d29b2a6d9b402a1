"""The STREAM format in plain Python over ``cryptography``'s AEADs.

This is the path used when the compiled core is not built, and the oracle the tests hold
the C core to: it is written for obviousness, one AEAD call per chunk, and must produce
byte-identical output.  The AEADs are ChaCha20-Poly1305 (RFC 8439 §2.8) and AES-256-GCM
(NIST SP 800-38D), each with a 12-byte nonce and a 16-byte tag.
"""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.exceptions import InvalidTag as _CryptographyInvalidTag

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat.aead import Cipher, by_name
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import (
    CIPHERS,
    DEFAULT_CHUNK_SIZE,
    TAG_SIZE,
    ciphertext_chunks,
    nonce,
    plaintext_chunks,
)

__all__ = ["decrypt", "encrypt", "open_run", "seal_run"]


def _aead(cipher: str, key: bytes | bytearray | memoryview) -> Cipher:
    if cipher not in CIPHERS:
        raise ValueError(f"unknown cipher {cipher!r}")
    return by_name(cipher).cipher(bytes(key))


def _pieces(src: memoryview, chunks: ChunkRun, size: int) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk of the run in ``src`` (``size`` bytes, the last one the rest), with its nonce."""
    pos = 0
    for i in range(chunks.n_chunks):
        end = len(src) if i == chunks.n_chunks - 1 else pos + size
        yield chunks.nonce(i), bytes(src[pos:end])
        pos = end


def seal_run(
    cipher: str,
    key: bytes | bytearray | memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    chunks: ChunkRun,
) -> None:
    """Seal the run ``chunks`` of ``src`` into ``dst`` (the C loop's contract)."""
    aead = _aead(cipher, key)
    out = 0
    for chunk_nonce, piece in _pieces(src, chunks, chunks.chunk_size):
        sealed = aead.encrypt(chunk_nonce, piece, None)
        dst[out : out + len(sealed)] = sealed
        out += len(sealed)


def open_run(
    cipher: str,
    key: bytes | bytearray | memoryview,
    src: memoryview,
    dst: memoryview,
    *,
    chunks: ChunkRun,
) -> int | None:
    """Open the run ``chunks`` of ``src`` into ``dst``; the index of the first bad one or None."""
    aead = _aead(cipher, key)
    out = 0
    for i, (chunk_nonce, sealed) in enumerate(_pieces(src, chunks, chunks.chunk_size + TAG_SIZE)):
        try:
            plain = aead.decrypt(chunk_nonce, sealed, None)
        except _CryptographyInvalidTag:
            return i
        dst[out : out + len(plain)] = plain
        out += len(plain)
    return None


def encrypt(
    key: bytes,
    plaintext: bytes,
    cipher: str = "chacha20-poly1305",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytes:
    """Seal a whole message, chunk by chunk: the oracle for :func:`pqe2ee.hazmat.stream.encrypt`."""
    aead = _aead(cipher, key)
    n = plaintext_chunks(len(plaintext), chunk_size)
    return b"".join(
        aead.encrypt(nonce(i, i == n - 1), plaintext[i * chunk_size : (i + 1) * chunk_size], None)
        for i in range(n)
    )


def decrypt(
    key: bytes,
    ciphertext: bytes,
    cipher: str = "chacha20-poly1305",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytes:
    """Open a whole message: the oracle for :func:`pqe2ee.hazmat.stream.decrypt`.

    :raises InvalidTag: any chunk fails, or the length is impossible for a stream.
    """
    aead = _aead(cipher, key)
    n = ciphertext_chunks(len(ciphertext), chunk_size)
    sealed = chunk_size + TAG_SIZE
    try:
        return b"".join(
            aead.decrypt(nonce(i, i == n - 1), ciphertext[i * sealed : (i + 1) * sealed], None)
            for i in range(n)
        )
    except _CryptographyInvalidTag:
        raise InvalidTag("STREAM chunk failed authentication") from None
