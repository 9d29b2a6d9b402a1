"""age decryption from file to file by position (every chunk but the last opened on all
cores straight into the temporary output): the same plaintext and the same errors as the
sequential path, and nothing written on failure."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from pqe2ee import age
from pqe2ee.age import payload
from pqe2ee.exceptions import AgePayloadError
from pqe2ee.hazmat.stream import _positional

CHUNK = 64 * 1024
SEALED = CHUNK + 16


@pytest.fixture(autouse=True)
def _small_geometry() -> Any:
    with (
        mock.patch.object(_positional, "_BATCH_BYTES", 2 * CHUNK),
        mock.patch.object(_positional, "_MIN_BYTES", 1),
    ):
        yield


@pytest.fixture(scope="module")
def x() -> age.X25519Identity:
    return age.X25519Identity.generate()


def _sealed(tmp_path: Path, pt: bytes, x: age.X25519Identity) -> tuple[Path, int]:
    """The age file of ``pt`` and where its payload (after the nonce) starts."""
    path = tmp_path / "sealed.age"
    (tmp_path / "plain").write_bytes(pt)
    age.encrypt(tmp_path / "plain", path, [x.recipient()])
    data = path.read_bytes()
    return path, data.index(b"\n", data.index(b"\n---") + 1) + 1 + 16


def _sequential_error(path: Path, x: age.X25519Identity) -> str:
    with pytest.raises(AgePayloadError) as err:
        age.decrypt(io.BytesIO(path.read_bytes()), io.BytesIO(), [x])
    return str(err.value)


@pytest.mark.parametrize("chunks", [1, 2, 9, 20])
@pytest.mark.parametrize("extra", [0, 1, CHUNK - 1])
def test_round_trip(tmp_path: Path, x: age.X25519Identity, chunks: int, extra: int) -> None:
    pt = random.Random(chunks * 7 + extra).randbytes(chunks * CHUNK + extra)
    path, _ = _sealed(tmp_path, pt, x)
    done: list[int] = []
    real = payload.run_middle

    def spy(*args: Any, **kwargs: Any) -> int:
        done.append(real(*args, **kwargs))
        return done[-1]

    with mock.patch.object(payload, "run_middle", spy):
        age.decrypt(path, tmp_path / "back", [x])
    assert done == [chunks - (extra == 0)]  # every chunk but the last, by position
    assert (tmp_path / "back").read_bytes() == pt


@pytest.mark.parametrize("bad_chunk", [0, 5, 18])
def test_tampered_chunk_same_error_as_sequential(
    tmp_path: Path, x: age.X25519Identity, bad_chunk: int
) -> None:
    path, start = _sealed(tmp_path, random.Random(1).randbytes(20 * CHUNK + 100), x)
    data = bytearray(path.read_bytes())
    data[start + bad_chunk * SEALED + 3] ^= 0x40
    path.write_bytes(data)
    (tmp_path / "back").write_bytes(b"keep me")
    with pytest.raises(AgePayloadError) as err:
        age.decrypt(path, tmp_path / "back", [x])
    assert str(err.value) == f"age payload chunk {bad_chunk} does not authenticate"
    assert str(err.value) == _sequential_error(path, x)
    assert (tmp_path / "back").read_bytes() == b"keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_data_after_a_full_final_chunk(tmp_path: Path, x: age.X25519Identity) -> None:
    path, _ = _sealed(tmp_path, random.Random(2).randbytes(6 * CHUNK), x)
    with open(path, "ab") as f:  # two more chunks' worth after the final one
        f.write(os.urandom(2 * SEALED))
    with pytest.raises(AgePayloadError, match="data after its final chunk") as err:
        age.decrypt(path, tmp_path / "back", [x])
    assert str(err.value) == _sequential_error(path, x)
    assert not (tmp_path / "back").exists()


@pytest.mark.parametrize("cut", [1, 16, SEALED, 3 * SEALED + 5])
def test_truncated_same_error_as_sequential(
    tmp_path: Path, x: age.X25519Identity, cut: int
) -> None:
    path, _ = _sealed(tmp_path, random.Random(3).randbytes(12 * CHUNK + 5), x)
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(AgePayloadError) as err:
        age.decrypt(path, tmp_path / "back", [x])
    assert str(err.value) == _sequential_error(path, x)
    assert not (tmp_path / "back").exists()
