"""File to file STREAM: same bytes as in memory, atomic output, nothing left on failure."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat import stream
from pqe2ee.hazmat.stream import _files

KEY = random.Random(30).randbytes(32)
CS = 1000


@pytest.fixture(autouse=True)
def _small_batches() -> Any:
    # Batches of a few chunks, so that small files cross many batch boundaries.
    with mock.patch.object(_files, "_BATCH_PER_THREAD", 3 * CS + 7):
        yield


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("size", [0, 1, CS, 3 * CS, 3 * CS + 1, 20 * CS, 20 * CS + 999])
@pytest.mark.parametrize("cipher", stream.CIPHERS)
@pytest.mark.parametrize("threads", [1, 2])
def test_round_trip_matches_memory(tmp_path: Path, size: int, cipher: str, threads: int) -> None:
    pt = random.Random(size).randbytes(size)
    src = _write(tmp_path / "plain", pt)
    kw: dict[str, Any] = {"cipher": cipher, "chunk_size": CS, "threads": threads}
    stream.encrypt_file(src, tmp_path / "sealed", KEY, **kw)
    assert (tmp_path / "sealed").read_bytes() == stream.encrypt(KEY, pt, **kw)
    stream.decrypt_file(str(tmp_path / "sealed"), tmp_path / "back", KEY, **kw)
    assert (tmp_path / "back").read_bytes() == pt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back", "plain", "sealed"]


def test_file_objects(tmp_path: Path) -> None:
    pt = random.Random(1).randbytes(10 * CS + 5)
    sealed = io.BytesIO()
    stream.encrypt_file(io.BytesIO(pt), sealed, KEY, chunk_size=CS)
    assert sealed.getvalue() == stream.encrypt(KEY, pt, chunk_size=CS)
    back = io.BytesIO()
    stream.decrypt_file(io.BytesIO(sealed.getvalue()), back, KEY, chunk_size=CS)
    assert back.getvalue() == pt


class _CountingReader(io.BytesIO):
    largest = 0

    def readinto(self, buf: Any) -> int:
        self.largest = max(self.largest, len(buf))
        return super().readinto(buf)


def test_reads_in_bounded_batches() -> None:
    # Constant memory: the file is never read in one piece, whatever its size.
    pt = random.Random(2).randbytes(40 * CS)
    src = _CountingReader(pt)
    stream.encrypt_file(src, io.BytesIO(), KEY, chunk_size=CS, threads=2)
    assert 0 < src.largest <= 2 * (3 * CS + 7)
    sealed = stream.encrypt(KEY, pt, chunk_size=CS)
    src = _CountingReader(bytes(sealed))
    stream.decrypt_file(src, io.BytesIO(), KEY, chunk_size=CS, threads=2)
    assert 0 < src.largest <= 2 * (3 * CS + 7) // CS * (CS + 16)


def _damaged(kind: str, ct: bytes) -> bytes:
    sealed = CS + 16
    if kind == "flipped":
        return ct[:5000] + bytes([ct[5000] ^ 4]) + ct[5001:]
    if kind == "truncated":
        return ct[: len(ct) // sealed * sealed]
    if kind == "extended":
        return ct + b"\x00"
    if kind == "last-byte":
        return ct[:-1] + bytes([ct[-1] ^ 1])
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["flipped", "truncated", "extended", "last-byte"])
def test_failed_decryption_leaves_nothing(tmp_path: Path, kind: str) -> None:
    pt = random.Random(3).randbytes(12 * CS + 300)
    bad = _write(tmp_path / "bad", _damaged(kind, bytes(stream.encrypt(KEY, pt, chunk_size=CS))))
    with pytest.raises(InvalidTag):
        stream.decrypt_file(bad, tmp_path / "out", KEY, chunk_size=CS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


@pytest.mark.parametrize("kind", ["flipped", "truncated"])
def test_failed_decryption_keeps_an_existing_destination(tmp_path: Path, kind: str) -> None:
    pt = random.Random(4).randbytes(12 * CS + 300)
    bad = _write(tmp_path / "bad", _damaged(kind, bytes(stream.encrypt(KEY, pt, chunk_size=CS))))
    dst = _write(tmp_path / "precious", b"keep me")
    os.utime(dst, (1_000_000_000, 1_000_000_000))
    with pytest.raises(InvalidTag):
        stream.decrypt_file(bad, dst, KEY, chunk_size=CS)
    assert dst.read_bytes() == b"keep me"
    assert dst.stat().st_mtime == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "precious"]


def test_success_replaces_the_destination_with_private_mode(tmp_path: Path) -> None:
    pt = b"new contents" * 500
    sealed = _write(tmp_path / "sealed", bytes(stream.encrypt(KEY, pt, chunk_size=CS)))
    dst = _write(tmp_path / "dst", b"old")
    stream.decrypt_file(sealed, dst, KEY, chunk_size=CS)
    assert dst.read_bytes() == pt
    assert dst.stat().st_mode & 0o777 == 0o600


def test_wrong_key_file(tmp_path: Path) -> None:
    sealed = _write(tmp_path / "sealed", bytes(stream.encrypt(KEY, b"x" * 5000, chunk_size=CS)))
    with pytest.raises(InvalidTag):
        stream.decrypt_file(sealed, tmp_path / "out", bytes(32), chunk_size=CS)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fn", [stream.encrypt_file, stream.decrypt_file])
def test_missing_source(tmp_path: Path, fn: Any) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        fn(tmp_path / "nope", tmp_path / "out", KEY)
    assert list(tmp_path.iterdir()) == []


def test_missing_destination_folder(tmp_path: Path) -> None:
    src = _write(tmp_path / "plain", b"abc")
    with pytest.raises(FileNotFoundError):
        stream.encrypt_file(src, tmp_path / "no" / "such" / "dir" / "out", KEY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_misuse_before_any_file_is_touched(tmp_path: Path) -> None:
    src = _write(tmp_path / "plain", b"abc")
    with pytest.raises(ValueError, match="key must be 32 bytes"):
        stream.encrypt_file(src, tmp_path / "out", KEY[:5])
    with pytest.raises(ValueError, match="unknown cipher"):
        stream.decrypt_file(src, tmp_path / "out", KEY, cipher="des")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]
