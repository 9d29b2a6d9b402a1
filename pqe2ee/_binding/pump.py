"""The socket pump (``csrc/pump.h``): one session's data path between two sockets in C.

A pump object belongs to the C side (its buffers and keys are wiped when it is freed: by
:func:`pump_free`, or by the garbage collector through ``ffi.gc``).  :func:`pump_run`
blocks, with the GIL released, until the pump needs the caller.
"""

from __future__ import annotations

from typing import Any

from pqe2ee._binding._load import (
    cipher_id,
    constant,
    drain_openssl_errors,
    ffi,
    lib,
)
from pqe2ee._binding.records import MAX_FRAME, MAX_PLAINTEXT, MIN_FRAME
from pqe2ee._binding.stream import check_key_and_nonce
from pqe2ee.exceptions import InternalError

__all__ = [
    "BUFFER_MAX",
    "BUFFER_MIN",
    "pump_constant",
    "pump_free",
    "pump_new",
    "pump_push",
    "pump_run",
    "pump_set_key",
    "pump_set_padding",
    "pump_take",
    "pump_take_all",
]

#: Bounds of a pump's buffer size.
BUFFER_MIN = constant("PQE2EE_PUMP_BUFFER_MIN")
BUFFER_MAX = constant("PQE2EE_PUMP_BUFFER_MAX")

# pump_take_all empties a buffer in pieces of this size (any size works).
_TAKE_PIECE = 1 << 16


def pump_constant(name: str) -> int:
    """The value of ``PQE2EE_PUMP_<name>``: a status, a run flag or a buffer id."""
    return constant("PQE2EE_PUMP_" + name)


def pump_new(cipher: str, *, record_size: int, max_frame: int, buffer_size: int) -> Any:
    """A new pump (freed with its buffers wiped by :func:`pump_free` or when collected).

    :raises ValueError: a size out of the bounds of ``csrc/pump.h``, or an unknown cipher.
    :raises MemoryError: the core could not allocate the buffers.
    """
    cid = cipher_id(cipher)
    if not 1 <= record_size <= MAX_PLAINTEXT or not MIN_FRAME <= max_frame <= MAX_FRAME:
        raise ValueError(
            f"record size must be 1..{MAX_PLAINTEXT} and max frame {MIN_FRAME}..{MAX_FRAME}"
        )
    if not BUFFER_MIN <= buffer_size <= BUFFER_MAX:
        raise ValueError(f"pump buffer size must be {BUFFER_MIN}..{BUFFER_MAX}")
    pump = lib.pqe2ee_pump_new(cid, record_size, max_frame, buffer_size)
    if pump == ffi.NULL:
        raise MemoryError("the C core could not allocate a pump")
    return ffi.gc(pump, lib.pqe2ee_pump_free)


def pump_free(pump: Any) -> None:
    """Wipe and free ``pump`` now (it must not be used again)."""
    ffi.release(pump)


def pump_set_key(pump: Any, *, send: bool, key: bytes, iv: bytes, seq: int, limit: int) -> None:
    """Install one direction's traffic key, IV, next sequence number and limit.

    :param send: True for the sealing direction, False for the opening one.
    :raises ValueError: a wrongly sized key or IV, or not ``0 <= seq <= limit < 2**64``.
    """
    check_key_and_nonce(key, iv)
    if not 0 <= seq <= limit < 1 << 64:
        raise ValueError("need 0 <= seq <= limit < 2**64")
    status = lib.pqe2ee_pump_set_key(pump, int(send), key, len(key), iv, len(iv), seq, limit)
    if status != lib.PQE2EE_PUMP_DONE:
        raise InternalError(f"pump key: OpenSSL failed: {drain_openssl_errors()}")


def pump_set_padding(pump: Any, *, mode: int, block: int) -> None:
    """Pad every record the pump seals under ``(mode, block)`` (``PQE2EE_PAD_*``).

    :raises ValueError: a policy the core refuses, or records already sealed.
    """
    if (
        mode < 0
        or block < 0
        or lib.pqe2ee_pump_set_padding(pump, mode, block) != (lib.PQE2EE_PUMP_DONE)
    ):
        raise ValueError("the pump refused the padding policy (set it before any record)")


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
    while part := pump_take(pump, which, _TAKE_PIECE):
        parts.append(part)
    return b"".join(parts)


def pump_run(
    pump: Any, *, plain_fd: int, session_fd: int, wake_fd: int, flags: int, timeout_ms: int
) -> dict[str, int]:
    """Pump until the core needs the caller (blocks; the GIL is released meanwhile).

    :returns: the fields of ``struct pqe2ee_pump_result``, by name.
    :raises ValueError: a negative plain or session file descriptor.
    """
    if plain_fd < 0 or session_fd < 0:
        raise ValueError("the pump needs two open file descriptors")
    raw = ffi.new("struct pqe2ee_pump_result *")
    lib.pqe2ee_pump_run(pump, plain_fd, session_fd, wake_fd, flags, timeout_ms, raw)
    return {name: int(getattr(raw, name)) for name, _ in ffi.typeof(raw[0]).fields}
