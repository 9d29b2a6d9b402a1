"""The only module that imports the compiled core ``pqe2ee._core``.

It checks that the core was built from this very package version (a stale build
after ``git pull`` is refused rather than trusted), turns the core's feature
probes into flags, and is the one place where C status codes become exceptions.
When the core is missing, :data:`CORE_AVAILABLE` is false and :data:`CORE_ERROR`
says why; callers fall back to their reference paths and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pqe2ee._version import __version__
from pqe2ee.exceptions import (
    BackendUnavailable,
    InternalError,
    InvalidTag,
    UnsupportedAlgorithm,
)

ffi: Any = None
lib: Any = None
CORE_AVAILABLE = False
CORE_ERROR = ""

try:
    from pqe2ee._core import ffi, lib  # type: ignore[no-redef]
except ImportError as exc:  # pragma: no cover - exercised only without a build
    CORE_ERROR = f"the C core pqe2ee._core is not built ({exc}); run `make build`"
else:
    _built = ffi.string(lib.pqe2ee_core_version()).decode()
    if _built != __version__:
        CORE_ERROR = (
            f"the C core was built for pqe2ee {_built} but this is {__version__}; "
            "rebuild it with `make build`"
        )
        ffi = lib = None
    else:
        CORE_AVAILABLE = True


def require_core() -> Any:
    """Return the core's ``lib``, or raise :class:`BackendUnavailable` saying why not."""
    if not CORE_AVAILABLE:
        raise BackendUnavailable(CORE_ERROR)
    return lib


def libcrypto_version() -> str | None:
    """The version string of the libcrypto the core links, or None without a core."""
    if not CORE_AVAILABLE:
        return None
    return str(ffi.string(lib.pqe2ee_libcrypto_version()).decode())


def core_features() -> dict[str, bool]:
    """Which AEADs the linked libcrypto offers (all false without a core)."""
    if not CORE_AVAILABLE:
        return {"chacha20-poly1305": False, "aes-256-gcm": False}
    return {
        "chacha20-poly1305": bool(lib.pqe2ee_has_chacha20_poly1305()),
        "aes-256-gcm": bool(lib.pqe2ee_has_aes_256_gcm()),
    }


# --- STREAM bulk AEAD (csrc/stream.h) ---------------------------------------------------
# Thin wrappers: every length is checked here before the call (the C side checks again),
# and every status code becomes an exception.  Buffers are passed with ffi.from_buffer,
# so nothing is copied; cffi releases the GIL for the duration of each call.

STREAM_KEY_SIZE = 32
STREAM_TAG_SIZE = 16
STREAM_NONCE_SIZE = 12
STREAM_COUNTER_SIZE = 11

_STREAM_CIPHERS = {
    "chacha20-poly1305": "PQE2EE_STREAM_CHACHA20_POLY1305",
    "aes-256-gcm": "PQE2EE_STREAM_AES_256_GCM",
}


def _cipher_id(cipher: str) -> int:
    """The core's enum value for ``cipher`` (csrc/stream.h names them)."""
    try:
        return int(getattr(require_core(), _STREAM_CIPHERS[cipher]))
    except KeyError:
        raise ValueError(
            f"unknown cipher {cipher!r}; use one of {', '.join(_STREAM_CIPHERS)}"
        ) from None


def _drain_openssl_errors() -> str:
    buf = ffi.new("char[]", 256)
    if lib.pqe2ee_stream_drain_errors(buf, len(buf)):
        return str(ffi.string(buf).decode(errors="replace"))
    return "no OpenSSL error recorded"


def _raise_for_status(status: int, what: str) -> None:
    if status == lib.PQE2EE_STREAM_OK:
        return
    if status == lib.PQE2EE_STREAM_ERR_TAG:
        raise InvalidTag(f"{what}: authentication failed")
    if status == lib.PQE2EE_STREAM_ERR_COUNTER:
        raise ValueError(f"{what}: the 88-bit STREAM chunk counter would wrap")
    if status == lib.PQE2EE_STREAM_ERR_CIPHER:
        raise UnsupportedAlgorithm(f"{what}: the linked libcrypto does not offer this AEAD")
    if status == lib.PQE2EE_STREAM_ERR_LENGTH:
        raise InternalError(f"{what}: the core refused lengths that Python had checked")
    raise InternalError(f"{what}: OpenSSL failed: {_drain_openssl_errors()}")


def _check_run(
    key: Any, counter: bytes, n_chunks: int, chunk_size: int, pt_len: int, ct_len: int
) -> None:
    """The run geometry both C loops insist on (see csrc/stream.h)."""
    if len(key) != STREAM_KEY_SIZE:
        raise ValueError(f"STREAM key must be {STREAM_KEY_SIZE} bytes, got {len(key)}")
    if len(counter) != STREAM_COUNTER_SIZE:
        raise ValueError("STREAM counter must be 11 bytes")
    if n_chunks < 1 or chunk_size < 1:
        raise ValueError("a STREAM run needs at least one chunk and a positive chunk size")
    head = (n_chunks - 1) * chunk_size
    last = pt_len - head
    if not (0 <= last <= chunk_size) or (last == 0 and n_chunks > 1):
        raise ValueError(f"{pt_len} plaintext bytes do not make {n_chunks} chunks")
    if ct_len != pt_len + STREAM_TAG_SIZE * n_chunks:
        raise ValueError("ciphertext and plaintext buffer lengths do not match")


def stream_seal(
    cipher: str,
    key: Any,
    counter: bytes,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
    src: memoryview,
    dst: memoryview,
) -> None:
    """Seal ``n_chunks`` STREAM chunks of ``src`` into ``dst`` (exactly sized)."""
    cid = _cipher_id(cipher)
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
    _raise_for_status(status, "STREAM seal")


def stream_open(
    cipher: str,
    key: Any,
    counter: bytes,
    n_chunks: int,
    last_is_final: bool,
    chunk_size: int,
    src: memoryview,
    dst: memoryview,
) -> int | None:
    """Open ``n_chunks`` sealed chunks of ``src`` into ``dst`` (exactly sized).

    Returns None when all authenticated, else the (run-relative) index of the first chunk
    that failed; that chunk's plaintext area is already wiped.
    """
    cid = _cipher_id(cipher)
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
    _raise_for_status(status, "STREAM open")
    return None


def _check_one(key: Any, nonce: Any) -> None:
    if len(key) != STREAM_KEY_SIZE:
        raise ValueError(f"AEAD key must be {STREAM_KEY_SIZE} bytes, got {len(key)}")
    if len(nonce) != STREAM_NONCE_SIZE:
        raise ValueError(f"AEAD nonce must be {STREAM_NONCE_SIZE} bytes, got {len(nonce)}")


def aead_seal(cipher: str, key: Any, nonce: Any, aad: Any, plaintext: Any) -> bytearray:
    """One AEAD seal with an explicit nonce: returns ciphertext || 16-byte tag."""
    cid = _cipher_id(cipher)
    _check_one(key, nonce)
    out = bytearray(len(plaintext) + STREAM_TAG_SIZE)
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
    _raise_for_status(status, "AEAD seal")
    return out


def aead_open(cipher: str, key: Any, nonce: Any, aad: Any, sealed: Any) -> bytearray:
    """One AEAD open of ciphertext || tag with an explicit nonce; InvalidTag on failure."""
    cid = _cipher_id(cipher)
    _check_one(key, nonce)
    if len(sealed) < STREAM_TAG_SIZE:
        raise InvalidTag("AEAD open: input shorter than the 16-byte tag")
    out = bytearray(len(sealed) - STREAM_TAG_SIZE)
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
    _raise_for_status(status, "AEAD open")
    return out


def cleanse(buf: bytearray | memoryview) -> None:
    """Overwrite a writable buffer with zeros (OPENSSL_cleanse; a slice fill without core)."""
    if len(buf) == 0:
        return
    if CORE_AVAILABLE:
        lib.pqe2ee_stream_cleanse(ffi.from_buffer(buf, require_writable=True), len(buf))
    else:  # pragma: no cover - exercised only without a build
        memoryview(buf).cast("B")[:] = bytes(len(buf))


# --- session records in bulk (csrc/records.h) ------------------------------------------

RECORD_OVERHEAD = 21  # header 4 + inner type 1 + tag 16


def records_sealed_size(n: int, record_size: int) -> int:
    """Bytes that ``n`` content bytes take as records of ``record_size``."""
    count = max(1, -(-n // record_size))
    return n + count * RECORD_OVERHEAD


def records_seal(
    cipher: str,
    key: bytes,
    iv: bytes,
    first_seq: int,
    inner_type: int,
    record_size: int,
    src: Any,
    dst: Any,
) -> None:
    """Seal ``src`` as records into ``dst`` (sized by :func:`records_sealed_size`)."""
    cid = _cipher_id(cipher)
    _check_one(key, iv)
    if not 1 <= record_size <= 1 << 16 or not 0 <= inner_type <= 255:
        raise ValueError("record size must be 1..65536 and the inner type one byte")
    if len(dst) != records_sealed_size(len(src), record_size):
        raise ValueError("record output buffer has the wrong size")
    status = lib.pqe2ee_records_seal(
        cid,
        key,
        len(key),
        iv,
        len(iv),
        first_seq,
        inner_type,
        record_size,
        ffi.from_buffer(src),
        len(src),
        ffi.from_buffer(dst, require_writable=True),
        len(dst),
    )
    _raise_for_status(status, "record seal")


def records_open(
    cipher: str, key: bytes, iv: bytes, first_seq: int, max_frame: int, src: Any, dst: Any
) -> tuple[int, int, int, int, int, bool]:
    """Open consecutive records of ``src`` into ``dst``.

    :returns: ``(consumed, produced, n_records, control_type, control_len, ok)``; ``ok``
        is False when a record failed authentication or had an impossible length (the
        other figures then describe the records before it).
    """
    cid = _cipher_id(cipher)
    _check_one(key, iv)
    consumed, produced = ffi.new("size_t *"), ffi.new("size_t *")
    n_records = ffi.new("unsigned long long *")
    control_type, control_len = ffi.new("int *"), ffi.new("size_t *")
    status = lib.pqe2ee_records_open(
        cid,
        key,
        len(key),
        iv,
        len(iv),
        first_seq,
        max_frame,
        ffi.from_buffer(src),
        len(src),
        ffi.from_buffer(dst, require_writable=True),
        len(dst),
        consumed,
        produced,
        n_records,
        control_type,
        control_len,
    )
    ok = status == lib.PQE2EE_STREAM_OK
    if status not in (
        lib.PQE2EE_STREAM_OK,
        lib.PQE2EE_STREAM_ERR_TAG,
        lib.PQE2EE_STREAM_ERR_LENGTH,
    ):
        _raise_for_status(status, "record open")
    return (
        int(consumed[0]),
        int(produced[0]),
        int(n_records[0]),
        int(control_type[0]),
        int(control_len[0]),
        ok,
    )


# --- the socket pump (csrc/pump.h) ------------------------------------------------------
# A pump object belongs to the C side (its buffers and keys are wiped when it is freed:
# by pump_free, or by the garbage collector through ffi.gc).  pump_run blocks, with the GIL
# released, until the pump needs the caller.

PUMP_BUFFER_MIN = 4096
PUMP_BUFFER_MAX = 16 << 20


@dataclass(frozen=True)
class PumpResult:
    """The figures of one :func:`pump_run` call (see ``struct pqe2ee_pump_result``)."""

    status: int
    os_error: int
    side: int
    plain_read: int
    plain_written: int
    session_read: int
    session_written: int
    sealed_records: int
    opened_records: int
    opened_bytes: int
    send_seq: int
    recv_seq: int
    control_len: int
    pending_plain: int
    pending_session: int
    buffered_session: int

    @classmethod
    def from_c(cls, raw: Any) -> PumpResult:
        return cls(*(int(getattr(raw, f.name)) for f in fields(cls)))


def pump_status(name: str) -> int:
    """The core's value of ``PQE2EE_PUMP_<name>`` (a status, flag or buffer id)."""
    return int(getattr(require_core(), "PQE2EE_PUMP_" + name))


def pump_new(cipher: str, record_size: int, max_frame: int, buffer_size: int) -> Any:
    """A new pump (freed with its buffers wiped by :func:`pump_free` or when collected)."""
    cid = _cipher_id(cipher)
    if not 1 <= record_size <= 1 << 16 or not 17 <= max_frame <= (1 << 16) + 256:
        raise ValueError("record size must be 1..65536 and max frame 17..65792")
    if not PUMP_BUFFER_MIN <= buffer_size <= PUMP_BUFFER_MAX:
        raise ValueError(f"pump buffer size must be {PUMP_BUFFER_MIN}..{PUMP_BUFFER_MAX}")
    pump = lib.pqe2ee_pump_new(cid, record_size, max_frame, buffer_size)
    if pump == ffi.NULL:
        raise MemoryError("the C core could not allocate a pump")
    return ffi.gc(pump, lib.pqe2ee_pump_free)


def pump_free(pump: Any) -> None:
    """Wipe and free ``pump`` now (it must not be used again)."""
    ffi.release(pump)


def pump_set_key(pump: Any, send: bool, key: bytes, iv: bytes, seq: int, limit: int) -> None:
    """Install one direction's traffic key, IV, next sequence number and limit."""
    _check_one(key, iv)
    if not 0 <= seq <= limit < 1 << 64:
        raise ValueError("need 0 <= seq <= limit < 2**64")
    status = lib.pqe2ee_pump_set_key(pump, int(send), key, len(key), iv, len(iv), seq, limit)
    if status != lib.PQE2EE_PUMP_DONE:
        raise InternalError(f"pump key: OpenSSL failed: {_drain_openssl_errors()}")


def pump_push(pump: Any, which: int, data: Any) -> bool:
    """Append ``data`` to one of the pump's buffers; False when it does not fit."""
    status = lib.pqe2ee_pump_push(pump, which, ffi.from_buffer(data), len(data))
    if status == lib.PQE2EE_PUMP_ERR_FULL:
        return False
    if status != lib.PQE2EE_PUMP_DONE:
        raise ValueError(f"unknown pump buffer {which}")
    return True


def pump_take(pump: Any, which: int, n: int) -> bytes:
    """Remove and return up to ``n`` bytes from the front of one of the pump's buffers."""
    if n < 0:
        raise ValueError("n must not be negative")
    out = bytearray(n)
    taken = ffi.new("size_t *")
    status = lib.pqe2ee_pump_take(
        pump, which, ffi.from_buffer(out, require_writable=True), n, taken
    )
    if status != lib.PQE2EE_PUMP_DONE:
        raise ValueError(f"unknown pump buffer {which}")
    return bytes(out[: int(taken[0])])


def pump_take_all(pump: Any, which: int) -> bytes:
    """Remove and return everything one of the pump's buffers holds."""
    parts = []
    while part := pump_take(pump, which, 1 << 16):
        parts.append(part)
    return b"".join(parts)


def pump_run(
    pump: Any, plain_fd: int, session_fd: int, wake_fd: int, flags: int, timeout_ms: int
) -> PumpResult:
    """Pump until the core needs the caller (blocks; the GIL is released meanwhile)."""
    if plain_fd < 0 or session_fd < 0:
        raise ValueError("the pump needs two open file descriptors")
    raw = ffi.new("struct pqe2ee_pump_result *")
    lib.pqe2ee_pump_run(pump, plain_fd, session_fd, wake_fd, flags, timeout_ms, raw)
    return PumpResult.from_c(raw)
