"""Bulk AEAD for the STREAM payload format (``csrc/stream.h``), one call per C function.

Every length is checked here before the call (the C side checks again), and every status
code becomes an exception.  Buffers are passed with ``ffi.from_buffer``, so nothing is
copied; cffi releases the GIL for the duration of each call.
"""

from __future__ import annotations

from typing import Any

from pqe2ee._binding._load import (
    CORE_AVAILABLE,
    cipher_id,
    constant,
    ffi,
    lib,
    raise_for_status,
)
from pqe2ee.exceptions import InvalidTag

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


def _check_run(
    key: Any, counter: bytes, n_chunks: int, chunk_size: int, pt_len: int, ct_len: int
) -> None:
    """The run geometry both C loops insist on (see csrc/stream.h)."""
    if len(key) != KEY_SIZE:
        raise ValueError(f"STREAM key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(counter) != COUNTER_SIZE:
        raise ValueError(f"STREAM counter must be {COUNTER_SIZE} bytes")
    if n_chunks < 1 or chunk_size < 1:
        raise ValueError("a STREAM run needs at least one chunk and a positive chunk size")
    head = (n_chunks - 1) * chunk_size
    last = pt_len - head
    if not (0 <= last <= chunk_size) or (last == 0 and n_chunks > 1):
        raise ValueError(f"{pt_len} plaintext bytes do not make {n_chunks} chunks")
    if ct_len != pt_len + TAG_SIZE * n_chunks:
        raise ValueError("ciphertext and plaintext buffer lengths do not match")


def stream_seal(
    cipher: str,
    key: Any,
    counter: bytes,
    src: memoryview,
    dst: memoryview,
    *,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
) -> None:
    """Seal ``n_chunks`` STREAM chunks of ``src`` into ``dst`` (exactly sized).

    :param counter: the first chunk's counter, :data:`COUNTER_SIZE` bytes big-endian.
    :param last_is_final: whether the run's last chunk gets the final flag.
    :raises ValueError: inconsistent geometry, or a counter that would wrap.
    """
    cid = cipher_id(cipher)
    _check_run(key, counter, n_chunks, chunk_size, len(src), len(dst))
    status = lib.pqe2ee_stream_seal(
        cid,
        ffi.from_buffer(key),
        len(key),
        counter,
        len(counter),
        n_chunks,
        int(last_is_final),
        chunk_size,
        ffi.from_buffer(src),
        len(src),
        ffi.from_buffer(dst, require_writable=True),
        len(dst),
    )
    raise_for_status(status, "STREAM seal")


def stream_open(
    cipher: str,
    key: Any,
    counter: bytes,
    src: memoryview,
    dst: memoryview,
    *,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
) -> int | None:
    """Open ``n_chunks`` sealed chunks of ``src`` into ``dst`` (exactly sized).

    :returns: None when all authenticated, else the (run-relative) index of the first
        chunk that failed; that chunk's plaintext area is already wiped.
    """
    cid = cipher_id(cipher)
    _check_run(key, counter, n_chunks, chunk_size, len(dst), len(src))
    opened = ffi.new("size_t *")
    status = lib.pqe2ee_stream_open(
        cid,
        ffi.from_buffer(key),
        len(key),
        counter,
        len(counter),
        n_chunks,
        int(last_is_final),
        chunk_size,
        ffi.from_buffer(src),
        len(src),
        ffi.from_buffer(dst, require_writable=True),
        len(dst),
        opened,
    )
    if status == lib.PQE2EE_STREAM_ERR_TAG:
        return int(opened[0])
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


def stream_seal_one(cipher: str, key: Any, nonce: Any, aad: Any, plaintext: Any) -> bytearray:
    """One AEAD seal with an explicit nonce: returns ciphertext || tag."""
    cid = cipher_id(cipher)
    check_key_and_nonce(key, nonce)
    out = bytearray(len(plaintext) + TAG_SIZE)
    status = lib.pqe2ee_stream_seal_one(
        cid,
        ffi.from_buffer(key),
        len(key),
        ffi.from_buffer(nonce),
        len(nonce),
        ffi.from_buffer(aad),
        len(aad),
        ffi.from_buffer(plaintext),
        len(plaintext),
        ffi.from_buffer(out, require_writable=True),
        len(out),
    )
    raise_for_status(status, "AEAD seal")
    return out


def stream_open_one(cipher: str, key: Any, nonce: Any, aad: Any, sealed: Any) -> bytearray:
    """One AEAD open of ciphertext || tag with an explicit nonce.

    :raises InvalidTag: authentication failed (no plaintext is returned).
    """
    cid = cipher_id(cipher)
    check_key_and_nonce(key, nonce)
    if len(sealed) < TAG_SIZE:
        raise InvalidTag(f"AEAD open: input shorter than the {TAG_SIZE}-byte tag")
    out = bytearray(len(sealed) - TAG_SIZE)
    status = lib.pqe2ee_stream_open_one(
        cid,
        ffi.from_buffer(key),
        len(key),
        ffi.from_buffer(nonce),
        len(nonce),
        ffi.from_buffer(aad),
        len(aad),
        ffi.from_buffer(sealed),
        len(sealed),
        ffi.from_buffer(out, require_writable=True),
        len(out),
    )
    raise_for_status(status, "AEAD open")
    return out


def cleanse(buf: bytearray | memoryview) -> None:
    """Overwrite a writable buffer with zeros (OPENSSL_cleanse; a slice fill without core)."""
    if len(buf) == 0:
        return
    if CORE_AVAILABLE:
        lib.pqe2ee_stream_cleanse(ffi.from_buffer(buf, require_writable=True), len(buf))
    else:  # pragma: no cover - exercised only without a build
        memoryview(buf).cast("B")[:] = bytes(len(buf))
