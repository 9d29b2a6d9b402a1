"""The C core's own contract (csrc/stream.h), called directly past the Python checks."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from pqe2ee import _binding
from pqe2ee._binding import _load
from pqe2ee._binding import stream as core_stream
from pqe2ee.exceptions import InternalError, InvalidTag, UnsupportedAlgorithm
from pqe2ee.hazmat.stream import _reference
from pqe2ee.hazmat.stream._chunk_run import ChunkRun

lib, ffi = _binding.lib, _binding.ffi
KEY = random.Random(40).randbytes(32)
PT = random.Random(41).randbytes(250)
CHACHA = lib.PQE2EE_STREAM_CHACHA20_POLY1305
ZERO = bytes(11)


def _seal(
    pt: bytes,
    n: int,
    cs: int,
    *,
    counter: bytes = ZERO,
    key: bytes = KEY,
    cipher: int = CHACHA,
    out_len: int | None = None,
) -> tuple[int, bytearray]:
    out = bytearray(len(pt) + 16 * n if out_len is None else out_len)
    status = lib.pqe2ee_stream_seal(
        cipher, key, len(key), counter, len(counter), n, 1, cs, pt, len(pt),
        ffi.from_buffer(out), len(out),
    )  # fmt: skip
    return status, out


def test_seal_run_matches_reference() -> None:
    status, out = _seal(PT, 3, 100)
    assert status == lib.PQE2EE_STREAM_OK
    assert bytes(out) == _reference.encrypt(KEY, PT, "chacha20-poly1305", 100)


@pytest.mark.parametrize(
    ("pt_len", "n", "cs", "out_len"),
    [
        (250, 2, 100, None),  # 250 bytes do not fit in 2 chunks of 100
        (200, 3, 100, None),  # would leave an empty last chunk after full ones
        (250, 0, 100, 250),  # no chunks
        (250, 3, 0, None),  # no chunk size
        (250, 3, 100, 250 + 47),  # output buffer of the wrong size
    ],
)
def test_seal_refuses_inconsistent_geometry(
    pt_len: int, n: int, cs: int, out_len: int | None
) -> None:
    status, _ = _seal(PT[:pt_len], n, cs, out_len=out_len)
    assert status == lib.PQE2EE_STREAM_ERR_LENGTH


def test_seal_refuses_bad_key_counter_and_cipher() -> None:
    assert _seal(PT, 3, 100, key=KEY[:31])[0] == lib.PQE2EE_STREAM_ERR_LENGTH
    assert _seal(PT, 3, 100, counter=bytes(12))[0] == lib.PQE2EE_STREAM_ERR_LENGTH
    assert _seal(PT, 3, 100, cipher=99)[0] == lib.PQE2EE_STREAM_ERR_CIPHER


def test_counter_wrap_is_refused_before_any_output() -> None:
    top = b"\xff" * 11
    status, out = _seal(PT[:100], 1, 100, counter=top)
    assert status == lib.PQE2EE_STREAM_OK  # the last counter value itself is usable
    status, out = _seal(PT[:200], 2, 100, counter=top)
    assert status == lib.PQE2EE_STREAM_ERR_COUNTER
    assert out == bytes(len(out))  # refused up front: nothing was sealed
    # A carry across bytes is not an overflow.
    assert _seal(PT[:200], 2, 100, counter=b"\x00" + b"\xff" * 10)[0] == lib.PQE2EE_STREAM_OK


def test_open_reports_the_first_bad_chunk_and_wipes_it() -> None:
    _, ct = _seal(PT, 3, 100)
    ct[116 + 5] ^= 1  # chunk 1
    out = bytearray(b"\xaa" * len(PT))
    opened = ffi.new("size_t *")
    status = lib.pqe2ee_stream_open(
        CHACHA, KEY, 32, ZERO, 11, 3, 1, 100, bytes(ct), len(ct), ffi.from_buffer(out),
        len(out), opened,
    )  # fmt: skip
    assert status == lib.PQE2EE_STREAM_ERR_TAG
    assert opened[0] == 1
    assert out[:100] == PT[:100]  # chunk 0 authenticated
    assert out[100:200] == bytes(100)  # chunk 1's unauthenticated plaintext is gone
    assert out[200:] == b"\xaa" * 50  # chunk 2 was never touched
    # A bad tag leaves nothing behind in OpenSSL's error queue.
    assert lib.pqe2ee_stream_drain_errors(ffi.NULL, 0) == 0


def test_single_chunk_open_wipes_on_failure() -> None:
    sealed = bytearray(core_stream.stream_seal_one("aes-256-gcm", KEY, bytes(12), b"ad", PT))
    sealed[0] ^= 1
    out = bytearray(b"\xaa" * len(PT))
    status = lib.pqe2ee_stream_open_one(
        lib.PQE2EE_STREAM_AES_256_GCM, KEY, 32, bytes(12), 12, b"ad", 2, bytes(sealed),
        len(sealed), ffi.from_buffer(out), len(out),
    )  # fmt: skip
    assert status == lib.PQE2EE_STREAM_ERR_TAG
    assert out == bytes(len(out))


def test_status_codes_become_exceptions() -> None:
    _load.raise_for_status(lib.PQE2EE_STREAM_OK, "x")
    for status, exc in [
        (lib.PQE2EE_STREAM_ERR_TAG, InvalidTag),
        (lib.PQE2EE_STREAM_ERR_COUNTER, ValueError),
        (lib.PQE2EE_STREAM_ERR_CIPHER, UnsupportedAlgorithm),
        (lib.PQE2EE_STREAM_ERR_LENGTH, InternalError),
        (lib.PQE2EE_STREAM_ERR_OPENSSL, InternalError),
    ]:
        with pytest.raises(exc):
            _load.raise_for_status(status, "x")


def test_binding_checks_lengths_before_calling() -> None:
    src, dst = memoryview(PT), memoryview(bytearray(len(PT) + 48))
    run = {"first_index": 0, "last_is_final": True, "chunk_size": 100}
    three, two = ChunkRun(n_chunks=3, **run), ChunkRun(n_chunks=2, **run)
    with pytest.raises(ValueError, match="key must be 32 bytes"):
        core_stream.stream_seal("chacha20-poly1305", KEY[:16], src, dst, chunks=three)
    with pytest.raises(ValueError, match="do not make 2 chunks"):
        core_stream.stream_seal("chacha20-poly1305", KEY, src, dst, chunks=two)
    with pytest.raises(ValueError, match="buffer lengths do not match"):
        core_stream.stream_seal("chacha20-poly1305", KEY, src, dst[:-1], chunks=three)
    with pytest.raises(ValueError, match="unknown cipher"):
        core_stream.stream_seal_one("chacha20", KEY, bytes(12), b"", b"")
    with pytest.raises(InvalidTag):
        core_stream.stream_open_one("chacha20-poly1305", KEY, bytes(12), b"", bytes(15))


def test_sanitizer_run_loads_the_sanitizer_build() -> None:
    # `make sanitize` sets this; a run that silently loaded the normal build would
    # sanitize nothing.
    expected = os.environ.get("PQE2EE_EXPECT_CORE_DIR")
    if not expected:
        pytest.skip("declared: only checked under `make sanitize`")
    core = Path(sys.modules["pqe2ee._core"].__file__ or "")
    assert Path(expected).resolve() in core.resolve().parents
