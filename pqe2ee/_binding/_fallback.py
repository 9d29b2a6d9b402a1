"""The C core's integer constants, as ``csrc/*.h`` defines them, for when it is not built.

With a built core every value is read from the compiled module (:func:`constant`), so the
C headers stay the one definition; this table only keeps the names defined for the
pure-Python fallback paths (the record layer's sizes, the STREAM format's, the pump's
status enum).  ``tests/binding/test_load.py`` holds it equal to the core's, name for name.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FALLBACK"]

FALLBACK: Final[dict[str, int]] = {
    # csrc/stream.h: AEAD and STREAM sizes
    "PQE2EE_AEAD_KEY_SIZE": 32,
    "PQE2EE_AEAD_NONCE_SIZE": 12,
    "PQE2EE_AEAD_TAG_SIZE": 16,
    "PQE2EE_STREAM_COUNTER_SIZE": 11,
    # csrc/stream.h: enum pqe2ee_stream_status
    "PQE2EE_STREAM_OK": 0,
    "PQE2EE_STREAM_ERR_TAG": 1,
    "PQE2EE_STREAM_ERR_LENGTH": 2,
    "PQE2EE_STREAM_ERR_COUNTER": 3,
    "PQE2EE_STREAM_ERR_CIPHER": 4,
    "PQE2EE_STREAM_ERR_OPENSSL": 5,
    # csrc/stream.h: enum pqe2ee_stream_cipher
    "PQE2EE_STREAM_CHACHA20_POLY1305": 1,
    "PQE2EE_STREAM_AES_256_GCM": 2,
    # csrc/records.h: the record format (docs/protocol.md §2, §7)
    "PQE2EE_RECORD_HEADER_SIZE": 4,
    "PQE2EE_RECORD_MAX_PLAINTEXT": 1 << 16,
    "PQE2EE_RECORD_MAX_FRAME": (1 << 16) + 256,
    "PQE2EE_RECORD_MIN_FRAME": 17,
    "PQE2EE_RECORD_OVERHEAD": 21,
    "PQE2EE_RECORD_CT_ENCRYPTED": 0x17,
    "PQE2EE_RECORD_INNER_DATA": 0x17,
    "PQE2EE_RECORD_MAX_INNER": (1 << 16) + 240,
    # csrc/records.h: padding policies (docs/protocol.md §10)
    "PQE2EE_PAD_NONE": 0,
    "PQE2EE_PAD_PADME": 1,
    "PQE2EE_PAD_BLOCK": 2,
    "PQE2EE_PAD_BLOCK_MAX": 1 << 16,
    # csrc/pump.h: buffer bounds
    "PQE2EE_PUMP_BUFFER_MIN": 4096,
    "PQE2EE_PUMP_BUFFER_MAX": 16 << 20,
    # csrc/pump.h: enum pqe2ee_pump_status
    "PQE2EE_PUMP_DONE": 0,
    "PQE2EE_PUMP_CONTROL": 1,
    "PQE2EE_PUMP_PLAIN_EOF": 2,
    "PQE2EE_PUMP_SESSION_EOF": 3,
    "PQE2EE_PUMP_SEND_LIMIT": 4,
    "PQE2EE_PUMP_RECV_LIMIT": 5,
    "PQE2EE_PUMP_TIMEOUT": 6,
    "PQE2EE_PUMP_WAKE": 7,
    "PQE2EE_PUMP_ERR_OS": 8,
    "PQE2EE_PUMP_ERR_TAG": 9,
    "PQE2EE_PUMP_ERR_LENGTH": 10,
    "PQE2EE_PUMP_ERR_STATE": 11,
    "PQE2EE_PUMP_ERR_FULL": 12,
    "PQE2EE_PUMP_ERR_TYPE": 13,
    # csrc/pump.h: enum pqe2ee_pump_flags
    "PQE2EE_PUMP_READ_PLAIN": 1,
    "PQE2EE_PUMP_READ_SESSION": 2,
    "PQE2EE_PUMP_SHUT_PLAIN": 4,
    "PQE2EE_PUMP_SHUT_SESSION": 8,
    # csrc/pump.h: enum pqe2ee_pump_buffer
    "PQE2EE_PUMP_SESSION_IN": 1,
    "PQE2EE_PUMP_SESSION_OUT": 2,
    "PQE2EE_PUMP_PLAIN_OUT": 3,
}
