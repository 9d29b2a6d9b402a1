"""The C core and the pure-Python reference produce the same bytes, for every split.

The reference (``pqe2ee.hazmat.stream._reference``) is one ``cryptography`` AEAD call per
chunk written straight from the age spec; it is the oracle here.  Sizes cluster around
chunk boundaries (0, 1, chunk-1, chunk, chunk+1, many chunks) and chunk sizes include odd
ones; the per-thread minimum is lowered so that small inputs are split across threads too.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import warnings
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pqe2ee.hazmat import core as hazmat_core
from pqe2ee.hazmat import stream
from pqe2ee.hazmat.stream import _engine, _reference

CHUNK_SIZES = [1, 7, 16, 64, 100, 1000, 4096]
THREADS = [1, 2, 3, 8]
SETTINGS = settings(max_examples=150, deadline=None)


def _bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


@st.composite
def sizes(draw: st.DrawFn, chunk_size: int) -> int:
    chunks = draw(st.sampled_from([0, 1, 2, 3, 17]))
    delta = draw(st.sampled_from([-1, 0, 1, chunk_size // 2]))
    return max(0, chunks * chunk_size + delta)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, int, int, int, bytes]:
    cipher = draw(st.sampled_from(stream.CIPHERS))
    chunk_size = draw(st.sampled_from(CHUNK_SIZES))
    size = draw(sizes(chunk_size))
    threads = draw(st.sampled_from(THREADS))
    key = _bytes(draw(st.integers(0, 2**32)), 32)
    return cipher, chunk_size, size, threads, key


def _splits(draw: st.DrawFn, total: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, total), max_size=6)))
    return [0, *cuts, total]


@pytest.fixture(autouse=True)
def _split_small_inputs() -> object:
    with mock.patch.object(_engine, "_MIN_BYTES_PER_THREAD", 1):
        yield


@SETTINGS
@given(cases(), st.integers(0, 2**32))
def test_encrypt_matches_reference(case: tuple[str, int, int, int, bytes], seed: int) -> None:
    cipher, chunk_size, size, threads, key = case
    pt = _bytes(seed, size)
    expected = _reference.encrypt(key, pt, cipher, chunk_size)
    got = stream.encrypt(key, pt, cipher=cipher, chunk_size=chunk_size, threads=threads)
    assert bytes(got) == expected
    assert len(got) == stream.ciphertext_size(size, chunk_size)
    # Both directions across implementations.
    assert _reference.decrypt(key, bytes(got), cipher, chunk_size) == pt
    assert (
        stream.decrypt(key, expected, cipher=cipher, chunk_size=chunk_size, threads=threads) == pt
    )
    assert stream.plaintext_size(len(got), chunk_size) == size


@SETTINGS
@given(cases(), st.integers(0, 2**32), st.data())
def test_incremental_any_split(
    case: tuple[str, int, int, int, bytes], seed: int, data: st.DataObject
) -> None:
    cipher, chunk_size, size, threads, key = case
    pt = _bytes(seed, size)
    expected = _reference.encrypt(key, pt, cipher, chunk_size)

    enc = stream.Encryptor(key, cipher=cipher, chunk_size=chunk_size, threads=threads)
    cuts_pt = _splits(data.draw, size)
    out = bytearray()
    for a, b in itertools.pairwise(cuts_pt):
        out += enc.update(memoryview(pt)[a:b])
    out += enc.finalize()
    assert bytes(out) == expected

    dec = stream.Decryptor(key, cipher=cipher, chunk_size=chunk_size, threads=threads)
    cuts_ct = _splits(data.draw, len(expected))
    back = bytearray()
    for a, b in itertools.pairwise(cuts_ct):
        back += dec.update(expected[a:b])
    back += dec.finalize()
    assert bytes(back) == pt


@pytest.mark.parametrize("cipher", stream.CIPHERS)
def test_thread_counts_agree_on_a_large_input(cipher: str) -> None:
    # The real per-thread minimum: a few MiB is split across threads only above it.
    with mock.patch.object(_engine, "_MIN_BYTES_PER_THREAD", 256 * 1024):
        key, pt = _bytes(1, 32), _bytes(2, 3 * 1024 * 1024 + 5)
        one = stream.encrypt(key, pt, cipher=cipher, threads=1)
        many = [stream.encrypt(key, pt, cipher=cipher, threads=t) for t in (2, 5, None)]
        assert all(m == one for m in many)
        assert bytes(one) == _reference.encrypt(key, pt, cipher)
        assert stream.decrypt(key, one, cipher=cipher, threads=4) == pt


def test_reference_fallback_warns_once_and_gives_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, pt = _bytes(3, 32), _bytes(4, 1000)
    with_core = stream.encrypt(key, pt, chunk_size=64)
    monkeypatch.setattr(_engine, "_core_offers", lambda cipher: False)
    monkeypatch.setattr(hazmat_core, "_warned", False)
    with pytest.warns(RuntimeWarning, match="pure-Python path"):
        without = stream.encrypt(key, pt, chunk_size=64, threads=2)
    assert without == with_core
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stream.decrypt(key, without, chunk_size=64) == pt
        dec = stream.Decryptor(key, chunk_size=64)
        assert dec.update(without) + dec.finalize() == pt


def _threaded_round_trip_in_child() -> None:
    key, pt = _bytes(5, 32), _bytes(6, 2 * 1024 * 1024)
    ct = stream.encrypt(key, pt, threads=2)
    assert stream.decrypt(key, ct, threads=2) == pt


def test_threads_work_in_a_forked_child() -> None:
    # The thread pools are per process: a fork after threaded use must not inherit
    # pools whose threads do not exist in the child.
    _threaded_round_trip_in_child()
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_threaded_round_trip_in_child)
    child.start()
    child.join(60)  # a hang guard, not a speed check
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("the forked child hung in a threaded stream call")
    assert child.exitcode == 0
