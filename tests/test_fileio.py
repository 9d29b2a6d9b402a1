"""Output files: atomic for regular paths, direct for devices and pipes (never replaced)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from pqe2ee import age
from pqe2ee._fileio import atomic_output
from pqe2ee.hazmat import stream


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path: Path) -> None:
    dst = tmp_path / "out"
    dst.write_bytes(b"precious")
    with pytest.raises(RuntimeError), atomic_output(dst) as f:
        f.write(b"half of something")
        raise RuntimeError("writer failed")
    assert dst.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["out"]


def test_refusing_to_overwrite(tmp_path: Path) -> None:
    dst = tmp_path / "out"
    dst.write_bytes(b"x")
    with pytest.raises(FileExistsError), atomic_output(dst, overwrite=False):
        pass


def test_dev_null_stays_a_device() -> None:
    """Writing to /dev/null must not rename a regular file over the device node."""
    before = os.stat("/dev/null")
    with atomic_output("/dev/null") as f:
        f.write(b"discarded")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (before.st_ino, before.st_rdev) == (after.st_ino, after.st_rdev)


def test_stream_and_age_write_into_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    key = os.urandom(32)
    src = tmp_path / "src"
    src.write_bytes(b"through a pipe" * 1000)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    stream.encrypt_file(src, fifo, key)
    reader.join(30)
    assert stream.decrypt(key, got[0]) == src.read_bytes()
    assert stat.S_ISFIFO(fifo.stat().st_mode)

    identity = age.X25519Identity.generate()
    got.clear()
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    age.encrypt(src, fifo, [identity.recipient()])
    reader.join(30)
    assert got[0].startswith(b"age-encryption.org/v1\n")


def test_stream_decrypt_file_to_dev_null(tmp_path: Path) -> None:
    key = os.urandom(32)
    src, sealed = tmp_path / "src", tmp_path / "sealed"
    src.write_bytes(os.urandom(200_000))
    stream.encrypt_file(src, sealed, key)
    stream.decrypt_file(sealed, "/dev/null", key)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
