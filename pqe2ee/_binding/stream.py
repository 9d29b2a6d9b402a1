"""Bulk AEAD for the STREAM payload format (``csrc/stream.h``), one call per C function.

Every length is checked here before the call (the C side checks again), and every status
code becomes an exception.  Buffers are passed with ``ffi.from_buffer``, so nothing is
copied; cffi releases the GIL for the duration of each call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pqe2ee._binding._load import (
    CORE_AVAILABLE,
    cipher_id,
    constant,
    ffi,
    lib,
    raise_for_status,
)
from pqe2ee.exceptions import InvalidTag

if TYPE_CHECKING:
    # Only for annotations: the run is made (and checked) by hazmat.stream, read here.
    from pqe2ee.hazmat.stream._chunk_run import ChunkRun

__all__ = [
    "COUNTER_SIZE",
    "KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "check_key_and_nonce",
    "cleanse",
    "stream_open",
    "stream_open_one",
    "stream_seal",
    "stream_seal_one",
]

#: Key, nonce and tag bytes of both AEADs (the record layer's IV is a nonce).
KEY_SIZE = constant("PQE2EE_AEAD_KEY_SIZE")
NONCE_SIZE = constant("PQE2EE_AEAD_NONCE_SIZE")
TAG_SIZE = constant("PQE2EE_AEAD_TAG_SIZE")
#: Bytes of the STREAM chunk counter (the nonce is counter || final flag).
COUNTER_SIZE = constant("PQE2EE_STREAM_COUNTER_SIZE")


def _check_run(key: Any, chunks: ChunkRun, pt_len: int, ct_len: int) -> None:
    """The run geometry both C loops insist on (see csrc/stream.h).

    The run itself (index, count, chunk size, counter range) was checked when it was
    made; what is left is whether it fits the key and the buffers.
    """
    if len(key) != KEY_SIZE:
        raise ValueError(f"STREAM key must be {KEY_SIZE} bytes, got {len(key)}")
    n_chunks, chunk_size = chunks.n_chunks, chunks.chunk_size
    last = pt_len - (n_chunks - 1) * chunk_size
    if not (0 <= last <= chunk_size) or (last == 0 and n_chunks > 1):
        raise ValueError(f"{pt_len} plaintext bytes do not make {n_chunks} chunks")
    if ct_len != pt_len + TAG_SIZE * n_chunks:
        raise ValueError("ciphertext and plaintext buffer lengths do not match")


def _run(
    cipher: str, key: Any, src: memoryview, dst: memoryview, chunks: ChunkRun, *, seal: bool
) -> tuple[int, int]:
    """Check, then run one C chunk loop: its status code and (opening) the chunks opened."""
    cid = cipher_id(cipher)
    plain, sealed = (src, dst) if seal else (dst, src)
    _check_run(key, chunks, len(plain), len(sealed))
    counter = chunks.first_index.to_bytes(COUNTER_SIZE, "big")
    args = (
        cid,
        ffi.from_buffer(key),
        len(key),
        counter,
        len(counter),
        chunks.n_chunks,
        int(chunks.last_is_final),
        chunks.chunk_size,
        ffi.from_buffer(src),
        len(src),
        ffi.from_buffer(dst, require_writable=True),
        len(dst),
    )
    if seal:
        return lib.pqe2ee_stream_seal(*args), 0
    opened = ffi.new("size_t *")
    return lib.pqe2ee_stream_open(*args, opened), int(opened[0])


def stream_seal(
    cipher: str, key: Any, src: memoryview, dst: memoryview, *, chunks: ChunkRun
) -> None:
    """Seal the run ``chunks`` of ``src`` into ``dst`` (exactly sized).

    :param chunks: which chunks: the first one's index (its counter), how many, whether
        the last gets the final flag, the chunk size.
    :raises ValueError: the run does not fit the key or the buffers.
    """
    status, _ = _run(cipher, key, src, dst, chunks, seal=True)
    raise_for_status(status, "STREAM seal")


def stream_open(
    cipher: str, key: Any, src: memoryview, dst: memoryview, *, chunks: ChunkRun
) -> int | None:
    """Open the run ``chunks`` of sealed chunks in ``src`` into ``dst`` (exactly sized).

    :returns: None when all authenticated, else the (run-relative) index of the first
        chunk that failed; that chunk's plaintext area is already wiped.
    """
    status, opened = _run(cipher, key, src, dst, chunks, seal=False)
    if status == lib.PQE2EE_STREAM_ERR_TAG:
        return opened
    raise_for_status(status, "STREAM open")
    return None


def check_key_and_nonce(key: Any, nonce: Any) -> None:
    """Refuse a key or a nonce (an IV) of the wrong size before calling the core.

    :raises ValueError: naming the size expected (never echoing the key).
    """
    if len(key) != KEY_SIZE:
        raise ValueError(f"AEAD key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"AEAD nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")


def _one(cipher: str, key: Any, nonce: Any, aad: Any, data: Any, *, seal: bool) -> bytearray:
    """Check, then make one AEAD call of the core: ``data`` in, a new buffer out.

    :raises InvalidTag: (opening) ``data`` is shorter than a tag, or does not authenticate.
    """
    what = "AEAD seal" if seal else "AEAD open"
    cid = cipher_id(cipher)
    check_key_and_nonce(key, nonce)
    if not seal and len(data) < TAG_SIZE:
        raise InvalidTag(f"{what}: input shorter than the {TAG_SIZE}-byte tag")
    out = bytearray(len(data) + TAG_SIZE if seal else len(data) - TAG_SIZE)
    fn = lib.pqe2ee_stream_seal_one if seal else lib.pqe2ee_stream_open_one
    status = fn(
        cid,
        ffi.from_buffer(key),
        len(key),
        ffi.from_buffer(nonce),
        len(nonce),
        ffi.from_buffer(aad),
        len(aad),
        ffi.from_buffer(data),
        len(data),
        ffi.from_buffer(out, require_writable=True),
        len(out),
    )
    raise_for_status(status, what)
    return out


def stream_seal_one(cipher: str, key: Any, nonce: Any, aad: Any, plaintext: Any) -> bytearray:
    """One AEAD seal with an explicit nonce: returns ciphertext || tag."""
    return _one(cipher, key, nonce, aad, plaintext, seal=True)


def stream_open_one(cipher: str, key: Any, nonce: Any, aad: Any, sealed: Any) -> bytearray:
    """One AEAD open of ciphertext || tag with an explicit nonce.

    :raises InvalidTag: authentication failed (no plaintext is returned).
    """
    return _one(cipher, key, nonce, aad, sealed, seal=False)


def cleanse(buf: bytearray | memoryview) -> None:
    """Overwrite a writable buffer with zeros (OPENSSL_cleanse; a slice fill without core)."""
    if len(buf) == 0:
        return
    if CORE_AVAILABLE:
        lib.pqe2ee_stream_cleanse(ffi.from_buffer(buf, require_writable=True), len(buf))
    else:  # pragma: no cover - exercised only without a build
        memoryview(buf).cast("B")[:] = bytes(len(buf))
