"""What record padding costs (docs/protocol.md §10): wire bytes per payload byte, and bulk speed.

Bandwidth: every message of 1..2000 bytes, and a few larger ones, sealed as one send
through the record layer (:class:`~pqe2ee.handshake.record.RecordCipher`) under each
policy; ``wire_per_payload`` is the frames' bytes (header, padded plaintext, tag) over
the message bytes, so ``none`` shows the record overhead alone and the others add their
padding.  Speed: a bulk send sealed and opened in the C core's loops (the path of large
sends), per policy, against ``none`` in the same run.
"""

from __future__ import annotations

import os
import time

from pqe2ee.bench.results import Row
from pqe2ee.handshake.record import INNER_DATA, FrameReader, RecordCipher
from pqe2ee.hazmat import core
from pqe2ee.hazmat.padding import Padding

__all__ = ["LARGE_SIZES", "POLICIES", "SMALL_SIZES", "padding_rows"]

#: The policies compared, ``none`` first (the reference).
POLICIES = ("none", "padme", "block:256")
#: Message sizes whose cost is summed into one figure, and larger ones reported one by one.
SMALL_SIZES = range(1, 2001)
LARGE_SIZES = (4096, 16384, 65536, 1 << 20)
_AEAD = "chacha20-poly1305"
_MiB = 1 << 20


def _cipher(policy: Padding, secret: bytes) -> RecordCipher:
    cipher = RecordCipher(_AEAD, secret)
    cipher.padding = policy
    return cipher


def _wire_bytes(policy: Padding, sizes: range | tuple[int, ...]) -> int:
    cipher = _cipher(policy, os.urandom(32))
    return sum(len(cipher.seal_many(INNER_DATA, bytes(n))) for n in sizes)


def _bulk_rate(policy: Padding, data: bytes, repeats: int) -> float:
    """MB/s of sealing ``data`` in one send and opening it again (median of ``repeats``)."""
    times = []
    for _ in range(repeats + 1):  # the first one warms up
        secret = os.urandom(32)
        sender, receiver = _cipher(policy, secret), RecordCipher(_AEAD, secret)
        reader = FrameReader()
        start = time.perf_counter()
        reader.feed(sender.seal_many(INNER_DATA, data))
        got = 0
        while (opened := receiver.open_many(reader)) is not None:
            got += len(opened[0])
        times.append(time.perf_counter() - start)
        if got != len(data):  # pragma: no cover - the record layer's tests hold this
            raise RuntimeError("the padded bulk round trip lost data")
    times = sorted(times[1:])
    return len(data) / times[len(times) // 2] / 1e6


def padding_rows(bulk_bytes: int, repeats: int) -> list[Row]:
    """Rows of group ``padding``, named by policy: ``wire_per_payload_1_2000``, one
    ``wire_per_payload_N`` per large size, and with the C core ``bulk_mb_s`` and
    ``bulk_vs_none``."""
    rows: list[Row] = []
    payload = sum(SMALL_SIZES)
    data = os.urandom(max(_MiB, bulk_bytes))
    reference = 0.0
    for text in POLICIES:
        policy = Padding.parse(text)
        wire = _wire_bytes(policy, SMALL_SIZES)
        rows.append(Row("padding", text, None, "wire_per_payload_1_2000", wire / payload, "x"))
        for n in LARGE_SIZES:
            ratio = _wire_bytes(policy, (n,)) / n
            rows.append(Row("padding", text, None, f"wire_per_payload_{n}", ratio, "x"))
        if core.offers(_AEAD):
            rate = _bulk_rate(policy, data, repeats)
            reference = reference or rate
            rows.append(Row("padding", text, None, "bulk_mb_s", rate, "MB/s"))
            rows.append(Row("padding", text, None, "bulk_vs_none", rate / reference, "x"))
    return rows
