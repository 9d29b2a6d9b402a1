"""STREAM between regular files by position (hazmat/stream/_positional.py): the same bytes
as in memory and as the sequential pipeline, failures that leave nothing behind, and the
cases where it must step aside (append mode, file objects, a caller's output file)."""

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
from pqe2ee.hazmat.stream import _positional
from pqe2ee.hazmat.stream._positional import SourceChangedError

KEY = random.Random(41).randbytes(32)
CS = 1000
SEALED = CS + stream.TAG_SIZE


@pytest.fixture(autouse=True)
def _small_geometry() -> Any:
    # Batches of 3 chunks and no minimum size, so small files cross many batches and
    # every thread gets several.
    with (
        mock.patch.object(_positional, "_BATCH_BYTES", 3 * CS),
        mock.patch.object(_positional, "_MIN_BYTES", 1),
    ):
        yield


@pytest.fixture
def calls() -> Any:
    """Counts the chunks run_middle processed (to prove the path was taken)."""
    seen: list[int] = []
    real = _positional.run_middle

    def spy(ctx: Any, *args: Any, **kwargs: Any) -> None:
        before = ctx._index
        real(ctx, *args, **kwargs)
        seen.append(ctx._index - before)

    with mock.patch("pqe2ee.hazmat.stream._files.run_middle", spy):
        yield seen


@pytest.mark.parametrize("size", [0, 1, CS, CS + 1, 2 * CS, 7 * CS, 31 * CS + 17, 40 * CS])
@pytest.mark.parametrize("cipher", stream.CIPHERS)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_same_bytes_as_memory(
    tmp_path: Path, calls: list[int], size: int, cipher: str, threads: int
) -> None:
    pt = random.Random(size).randbytes(size)
    (tmp_path / "plain").write_bytes(pt)
    kw: dict[str, Any] = {"cipher": cipher, "chunk_size": CS, "threads": threads}
    stream.encrypt_file(tmp_path / "plain", tmp_path / "sealed", KEY, **kw)
    assert (tmp_path / "sealed").read_bytes() == stream.encrypt(KEY, pt, **kw)
    stream.decrypt_file(tmp_path / "sealed", tmp_path / "back", KEY, **kw)
    assert (tmp_path / "back").read_bytes() == pt
    # every chunk but the last ran by position, both ways
    middle = max(0, -(-size // CS) - 1)
    assert calls == [middle, middle]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back", "plain", "sealed"]


def test_file_objects_positioned_after_other_data(tmp_path: Path, calls: list[int]) -> None:
    # As age uses it: a header before the payload on both sides, written through
    # buffered file objects; the offsets must follow the objects' positions.
    pt = random.Random(2).randbytes(25 * CS + 3)
    (tmp_path / "in").write_bytes(b"HEAD" * 100 + pt)
    with open(tmp_path / "in", "rb") as fin, open(tmp_path / "out", "wb") as fout:
        assert fin.read(400) == b"HEAD" * 100
        fout.write(b"header\n")
        stream.encrypt_file(fin, fout, KEY, chunk_size=CS, threads=2)
        fout.write(b"trailer")
    assert calls == [25]
    sealed = stream.encrypt(KEY, pt, chunk_size=CS)
    assert (tmp_path / "out").read_bytes() == b"header\n" + sealed + b"trailer"


def test_tampered_middle_chunk_leaves_nothing(tmp_path: Path) -> None:
    pt = random.Random(3).randbytes(30 * CS)
    sealed = bytearray(stream.encrypt(KEY, pt, chunk_size=CS))
    sealed[17 * SEALED + 5] ^= 1
    (tmp_path / "sealed").write_bytes(sealed)
    (tmp_path / "back").write_bytes(b"precious")
    with pytest.raises(InvalidTag, match="chunk 17 "):
        stream.decrypt_file(tmp_path / "sealed", tmp_path / "back", KEY, chunk_size=CS, threads=2)
    assert (tmp_path / "back").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back", "sealed"]


@pytest.mark.parametrize("cut", [1, SEALED, 5 * SEALED - 3])
def test_truncated_file_is_refused(tmp_path: Path, cut: int) -> None:
    pt = random.Random(4).randbytes(30 * CS + 9)
    sealed = stream.encrypt(KEY, pt, chunk_size=CS)
    (tmp_path / "sealed").write_bytes(sealed[:-cut])
    with pytest.raises(InvalidTag):
        stream.decrypt_file(tmp_path / "sealed", tmp_path / "back", KEY, chunk_size=CS, threads=2)
    assert not (tmp_path / "back").exists()


def test_caller_file_object_gets_only_a_prefix(tmp_path: Path, calls: list[int]) -> None:
    # Decrypting into the caller's own file: the sequential path (authenticated prefix).
    pt = random.Random(5).randbytes(30 * CS)
    sealed = bytearray(stream.encrypt(KEY, pt, chunk_size=CS))
    sealed[20 * SEALED] ^= 1
    (tmp_path / "sealed").write_bytes(sealed)
    with open(tmp_path / "back", "wb") as out, pytest.raises(InvalidTag):
        stream.decrypt_file(tmp_path / "sealed", out, KEY, chunk_size=CS, threads=2)
    assert calls == []
    got = (tmp_path / "back").read_bytes()
    assert pt.startswith(got) and len(got) <= 20 * CS


def test_append_mode_output_uses_the_pipeline(tmp_path: Path, calls: list[int]) -> None:
    pt = random.Random(6).randbytes(12 * CS)
    (tmp_path / "plain").write_bytes(pt)
    (tmp_path / "out").write_bytes(b"old")
    with open(tmp_path / "out", "ab") as out:
        stream.encrypt_file(tmp_path / "plain", out, KEY, chunk_size=CS, threads=2)
    assert calls == [0]
    assert (tmp_path / "out").read_bytes() == b"old" + stream.encrypt(KEY, pt, chunk_size=CS)


def test_memory_objects_use_the_pipeline(calls: list[int]) -> None:
    pt = random.Random(7).randbytes(12 * CS)
    out = io.BytesIO()
    stream.encrypt_file(io.BytesIO(pt), out, KEY, chunk_size=CS)
    assert calls == [0]
    assert out.getvalue() == stream.encrypt(KEY, pt, chunk_size=CS)


def test_source_that_shrinks_is_an_error(tmp_path: Path) -> None:
    pt = random.Random(8).randbytes(12 * CS)
    (tmp_path / "plain").write_bytes(pt)
    real_fstat = os.fstat

    def bigger(fd: int) -> os.stat_result:  # the size seen before the file shrank
        st = real_fstat(fd)
        fields = list(st)
        fields[6] += 5 * CS
        return os.stat_result(fields)

    with mock.patch.object(_positional.os, "fstat", bigger), pytest.raises(SourceChangedError):
        stream.encrypt_file(tmp_path / "plain", tmp_path / "sealed", KEY, chunk_size=CS)
    assert not (tmp_path / "sealed").exists()


def test_source_that_grows_is_read_to_its_end(tmp_path: Path) -> None:
    # Only chunks known not to be last run by position; the pipeline reads to the real
    # end, so data appended meanwhile is sealed too (as age would).
    pt = random.Random(9).randbytes(12 * CS)
    (tmp_path / "plain").write_bytes(pt[: 6 * CS])
    real = _positional.run_middle

    def then_grow(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        with open(tmp_path / "plain", "ab") as f:
            f.write(pt[6 * CS :])

    with mock.patch("pqe2ee.hazmat.stream._files.run_middle", then_grow):
        stream.encrypt_file(tmp_path / "plain", tmp_path / "sealed", KEY, chunk_size=CS)
    assert (tmp_path / "sealed").read_bytes() == stream.encrypt(KEY, pt, chunk_size=CS)


def test_without_positional_io_the_pipeline_does_everything(
    tmp_path: Path, calls: list[int]
) -> None:
    pt = random.Random(10).randbytes(12 * CS + 1)
    (tmp_path / "plain").write_bytes(pt)
    with mock.patch.object(_positional, "_POSITIONAL_IO", False):
        stream.encrypt_file(tmp_path / "plain", tmp_path / "sealed", KEY, chunk_size=CS)
        stream.decrypt_file(tmp_path / "sealed", tmp_path / "back", KEY, chunk_size=CS)
    assert calls == [0, 0]
    assert (tmp_path / "sealed").read_bytes() == stream.encrypt(KEY, pt, chunk_size=CS)
    assert (tmp_path / "back").read_bytes() == pt
