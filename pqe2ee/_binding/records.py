"""Session records in bulk (``csrc/records.h``, docs/protocol.md §7): many records per call.

The sizes and types of the record format are read from the core here, so that the
record layer, the socket pump and the C loops share one definition of each.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pqe2ee._binding._load import cipher_id, constant, ffi, lib, raise_for_status, require_core
from pqe2ee._binding.stream import check_key_and_nonce

__all__ = [
    "CT_ENCRYPTED",
    "HEADER_SIZE",
    "INNER_DATA",
    "MAX_FRAME",
    "MAX_INNER",
    "MAX_PLAINTEXT",
    "MIN_FRAME",
    "OVERHEAD",
    "PAD_BLOCK",
    "PAD_BLOCK_MAX",
    "PAD_NONE",
    "PAD_PADME",
    "OpenedRecords",
    "record_padded_length",
    "records_open",
    "records_seal",
    "records_sealed_size",
]

#: Frame header bytes: content type u8 || length u24.
HEADER_SIZE = constant("PQE2EE_RECORD_HEADER_SIZE")
#: Content bytes of one record at most (2^16).
MAX_PLAINTEXT = constant("PQE2EE_RECORD_MAX_PLAINTEXT")
#: Payload bytes of an encrypted frame at most (2^16 + 256).
MAX_FRAME = constant("PQE2EE_RECORD_MAX_FRAME")
#: Payload bytes of an encrypted frame at least: the inner type and the tag.
MIN_FRAME = constant("PQE2EE_RECORD_MIN_FRAME")
#: Bytes a record adds to its content: header, inner type, tag.
OVERHEAD = constant("PQE2EE_RECORD_OVERHEAD")
#: The outer content type of every encrypted record.
CT_ENCRYPTED = constant("PQE2EE_RECORD_CT_ENCRYPTED")
#: The inner type of application data.
INNER_DATA = constant("PQE2EE_RECORD_INNER_DATA")
#: Padded plaintext bytes (content, inner type, padding) at most: MAX_FRAME less the tag.
MAX_INNER = constant("PQE2EE_RECORD_MAX_INNER")
#: Padding policies (docs/protocol.md §10.2) and the largest block of ``PAD_BLOCK``.
PAD_NONE = constant("PQE2EE_PAD_NONE")
PAD_PADME = constant("PQE2EE_PAD_PADME")
PAD_BLOCK = constant("PQE2EE_PAD_BLOCK")
PAD_BLOCK_MAX = constant("PQE2EE_PAD_BLOCK_MAX")


class OpenedRecords(NamedTuple):
    """What one :func:`records_open` call did (see ``pqe2ee_records_open``).

    ``ok`` is False when a record failed authentication or had an impossible length;
    the other figures then describe the records before it.
    """

    consumed: int
    produced: int
    n_records: int
    control_type: int
    control_len: int
    ok: bool


def records_sealed_size(
    n: int, record_size: int, pad_mode: int = PAD_NONE, pad_block: int = 1
) -> int:
    """Bytes that ``n`` content bytes take as records of ``record_size`` content bytes,
    each padded under ``(pad_mode, pad_block)`` (the core computes it with padding).

    :raises ValueError: a record size or padding policy out of range.
    """
    if pad_mode == PAD_NONE:
        if not 1 <= record_size <= MAX_PLAINTEXT:
            raise ValueError(f"record size must be 1..{MAX_PLAINTEXT}")
        count = max(1, -(-n // record_size))
        return n + count * OVERHEAD
    size = int(require_core().pqe2ee_records_sealed_size(n, record_size, pad_mode, pad_block))
    if size == 0:
        raise ValueError("record size or padding policy out of range")
    return size


def record_padded_length(pad_mode: int, pad_block: int, length: int) -> int:
    """The core's padded plaintext length of a record whose content and inner type are
    ``length`` bytes (0 for arguments out of range), ``pqe2ee_record_padded_length``."""
    if pad_mode < 0 or pad_block < 0 or length < 0:
        return 0
    return int(require_core().pqe2ee_record_padded_length(pad_mode, pad_block, length))


def records_seal(
    cipher: str,
    key: bytes,
    iv: bytes,
    src: Any,
    dst: Any,
    *,
    first_seq: int,
    inner_type: int,
    record_size: int,
    pad_mode: int = PAD_NONE,
    pad_block: int = 1,
) -> None:
    """Seal ``src`` as records into ``dst`` (sized by :func:`records_sealed_size` with the
    same padding policy).

    :raises ValueError: a record size outside 1 .. :data:`MAX_PLAINTEXT`, an inner type
        outside 1..255 (0 would read as padding), a padding policy out of range, or a
        wrongly sized output buffer.
    """
    cid = cipher_id(cipher)
    check_key_and_nonce(key, iv)
    if not 1 <= record_size <= MAX_PLAINTEXT or not 1 <= inner_type <= 255:
        raise ValueError(f"record size must be 1..{MAX_PLAINTEXT} and the inner type 1..255")
    if len(dst) != records_sealed_size(len(src), record_size, pad_mode, pad_block):
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
        pad_mode,
        pad_block,
        ffi.from_buffer(src),
        len(src),
        ffi.from_buffer(dst, require_writable=True),
        len(dst),
    )
    raise_for_status(status, "record seal")


def records_open(
    cipher: str,
    key: bytes,
    iv: bytes,
    src: Any,
    dst: Any,
    *,
    first_seq: int,
    max_frame: int,
) -> OpenedRecords:
    """Open consecutive records of ``src`` into ``dst``, stopping where C says it stops.

    :param max_frame: the largest encrypted payload accepted (at most :data:`MAX_FRAME`).
    """
    cid = cipher_id(cipher)
    check_key_and_nonce(key, iv)
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
    if status not in (
        lib.PQE2EE_STREAM_OK,
        lib.PQE2EE_STREAM_ERR_TAG,
        lib.PQE2EE_STREAM_ERR_LENGTH,
    ):
        raise_for_status(status, "record open")
    return OpenedRecords(
        int(consumed[0]),
        int(produced[0]),
        int(n_records[0]),
        int(control_type[0]),
        int(control_len[0]),
        status == lib.PQE2EE_STREAM_OK,
    )
