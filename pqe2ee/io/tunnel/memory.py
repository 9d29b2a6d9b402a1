"""Workaround: one bulk-open buffer per thread instead of one per session.

``RecordCipher.open_many`` (pqe2ee/handshake/record.py) allocates a 4 MiB output
buffer (``BULK_OPEN_MAX``) on its first call and keeps it for the life of the session,
so every open connection costs 4 MiB of resident memory: 1,000 tunnelled connections
would hold 4 GiB.  The buffer's contents never outlive a call (``open_many`` copies out
what it produced before returning), so sessions that are only ever read from one thread
may share one.  The tunnel runs all its sessions in one event loop thread and gives
their read ciphers that thread's buffer.  If the handshake internals change shape this
does nothing (and the load test's memory check says so).
"""

from __future__ import annotations

import threading
from typing import Any

from pqe2ee.handshake.record import BULK_OPEN_MAX

__all__ = ["share_open_buffer"]

_local = threading.local()


def share_open_buffer(reader: Any) -> bool:
    """Give the session behind ``reader`` (an :class:`pqe2ee.io.aio.SecureReader`) this
    thread's bulk-open buffer.  Call it after the handshake: the read cipher of the
    application keys is the one that stays.

    :returns: whether the buffer could be shared.
    """
    cipher = getattr(getattr(getattr(reader, "_s", None), "conn", None), "_read", None)
    if cipher is None or not hasattr(cipher, "_open_buf"):
        return False
    shared = getattr(_local, "buffer", None)
    if shared is None:
        shared = _local.buffer = bytearray(BULK_OPEN_MAX)
    cipher._open_buf = shared
    return True
