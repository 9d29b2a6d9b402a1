"""Session records in bulk on the compiled core (docs/protocol.md §7).

A record is the frame ``0x17 || length u24 || AEAD(key, nonce, aad = those 4 bytes,
content || inner_type || zeros[pad])`` with ``nonce = iv XOR seq`` (the padding, §10, is
chosen by a :class:`~pqe2ee.hazmat.padding.Padding` and stripped by every receiver),
so a record cannot be moved, replayed, dropped or re-typed without failing
authentication.  This module seals and opens whole runs of records in one C call each,
and holds the format's sizes, read from ``csrc/records.h``.  It does no policy: the record layer
(:mod:`pqe2ee.handshake.record`) counts sequence numbers, decides when to rekey and what
an inner type means.
"""

from __future__ import annotations

from pqe2ee._binding import records as _records
from pqe2ee._binding import stream as _stream
from pqe2ee._binding.records import OpenedRecords
from pqe2ee.hazmat import core
from pqe2ee.hazmat.padding import NO_PADDING, Padding

__all__ = [
    "CT_ENCRYPTED",
    "HEADER_SIZE",
    "INNER_DATA",
    "KEY_SIZE",
    "MAX_FRAME",
    "MAX_PLAINTEXT",
    "MIN_FRAME",
    "NONCE_SIZE",
    "OVERHEAD",
    "TAG_SIZE",
    "OpenedRecords",
    "bulk_available",
    "open_records",
    "seal_records",
    "sealed_size",
]

#: Frame header bytes: content type u8 || length u24 (§2).
HEADER_SIZE: int = _records.HEADER_SIZE
#: Content bytes of one record at most: 2^16.
MAX_PLAINTEXT: int = _records.MAX_PLAINTEXT
#: Payload bytes of an encrypted frame at most: 2^16 + 256.
MAX_FRAME: int = _records.MAX_FRAME
#: The smallest encrypted payload: the inner type and the tag.
MIN_FRAME: int = _records.MIN_FRAME
#: Bytes a record adds to its content: header, inner type, tag.
OVERHEAD: int = _records.OVERHEAD
#: The outer content type of every encrypted record.
CT_ENCRYPTED: int = _records.CT_ENCRYPTED
#: The inner type of application data.
INNER_DATA: int = _records.INNER_DATA
#: The traffic key, IV (a nonce, XORed with the sequence number) and tag sizes.
KEY_SIZE: int = _stream.KEY_SIZE
NONCE_SIZE: int = _stream.NONCE_SIZE
TAG_SIZE: int = _stream.TAG_SIZE


def bulk_available(aead: str) -> bool:
    """Whether the compiled core seals and opens records of ``aead``."""
    return core.offers(aead)


def sealed_size(n: int, record_size: int = MAX_PLAINTEXT, padding: Padding = NO_PADDING) -> int:
    """Bytes that ``n`` content bytes take as records of ``record_size`` content bytes
    (one empty record for no content), each padded as ``padding`` says."""
    return _records.records_sealed_size(n, record_size, padding.mode, padding.block)


def seal_records(
    aead: str,
    key: bytes,
    iv: bytes,
    data: bytes | bytearray | memoryview,
    out: bytearray | memoryview,
    *,
    first_seq: int,
    inner_type: int,
    record_size: int = MAX_PLAINTEXT,
    padding: Padding = NO_PADDING,
) -> None:
    """Seal ``data`` as records of ``record_size`` content bytes, all of ``inner_type``,
    each padded as ``padding`` says, under sequence numbers from ``first_seq`` on, into
    ``out`` (exactly :func:`sealed_size` bytes for the same ``padding``).

    :raises ValueError: a size or inner type out of range, or a wrongly sized ``out``.
    :raises ~pqe2ee.exceptions.BackendUnavailable: the core is not built.
    """
    _records.records_seal(
        aead,
        key,
        iv,
        data,
        out,
        first_seq=first_seq,
        inner_type=inner_type,
        record_size=record_size,
        pad_mode=padding.mode,
        pad_block=padding.block,
    )


def open_records(
    aead: str,
    key: bytes,
    iv: bytes,
    data: bytes | bytearray | memoryview,
    out: bytearray | memoryview,
    *,
    first_seq: int,
    max_frame: int = MAX_FRAME,
) -> OpenedRecords:
    """Open the complete records at the front of ``data`` into ``out``.

    Stops at the end of the complete frames, at a frame that is not encrypted, when
    ``out`` is full, or just after a record that is not application data (its content
    then follows the data in ``out``; see ``csrc/records.h`` for every case).  No byte of
    a record that fails authentication is left in ``out``.

    :returns: what was consumed, produced and opened; ``ok`` is False when a record
        failed authentication or had an impossible length.
    :raises ~pqe2ee.exceptions.BackendUnavailable: the core is not built.
    """
    return _records.records_open(aead, key, iv, data, out, first_seq=first_seq, max_frame=max_frame)
