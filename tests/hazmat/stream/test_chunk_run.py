"""ChunkRun (hazmat/stream/_chunk_run.py): a run of chunks is checked once, when it is made."""

from __future__ import annotations

import dataclasses

import pytest

from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import MAX_CHUNK_SIZE, MAX_CHUNKS, nonce

RUN = {"last_is_final": True, "chunk_size": 64}


def test_the_whole_counter_range_is_usable_and_never_passed() -> None:
    assert ChunkRun(first_index=MAX_CHUNKS - 2, n_chunks=2, **RUN).nonce(1) == nonce(
        MAX_CHUNKS - 1, True
    )
    with pytest.raises(ValueError, match="88-bit STREAM chunk counter would wrap"):
        ChunkRun(first_index=MAX_CHUNKS - 1, n_chunks=2, **RUN)
    with pytest.raises(ValueError, match=r"chunk index must be in \[0, 2\*\*88\), got -1"):
        ChunkRun(first_index=-1, n_chunks=1, **RUN)


def test_a_run_has_chunks_of_a_valid_size() -> None:
    with pytest.raises(ValueError, match="at least one chunk"):
        ChunkRun(first_index=0, n_chunks=0, **RUN)
    for size in (0, MAX_CHUNK_SIZE + 1):
        with pytest.raises(ValueError, match="chunk_size must be between 1 and"):
            ChunkRun(first_index=0, n_chunks=1, last_is_final=True, chunk_size=size)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        ChunkRun(first_index=0, n_chunks=1, last_is_final=True, chunk_size=True)


def test_only_the_last_chunk_of_a_final_run_is_final() -> None:
    run = ChunkRun(first_index=10, n_chunks=5, **RUN)
    assert [run.nonce(i)[-1] for i in range(5)] == [0, 0, 0, 0, 1]
    assert run.nonce(0) == nonce(10, False)
    head, tail = run.part(0, 3), run.part(3, 2)
    assert (head.first_index, head.n_chunks, head.last_is_final) == (10, 3, False)
    assert (tail.first_index, tail.n_chunks, tail.last_is_final) == (13, 2, True)
    middle = dataclasses.replace(run, last_is_final=False)
    assert not middle.part(3, 2).last_is_final
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.n_chunks = 6  # type: ignore[misc]
