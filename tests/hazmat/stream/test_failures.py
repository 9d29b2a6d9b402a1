"""Every way a STREAM can be damaged fails with InvalidTag, and releases no bad plaintext.

Each damaged stream is checked against the one-shot path, the incremental Decryptor fed
one sealed chunk at a time (which must have released exactly the chunks before the damage)
and the reference implementation, for both ciphers.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from pqe2ee.exceptions import InternalError, InvalidTag
from pqe2ee.hazmat import core, stream
from pqe2ee.hazmat.stream import _engine, _reference
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import nonce

CS = 64
SEALED = CS + 16
KEY = random.Random(10).randbytes(32)
# Five chunks with a short last one, and four with a full last one.
PLAINTEXTS = {
    "short-last": random.Random(11).randbytes(4 * CS + 30),
    "full-last": random.Random(12).randbytes(4 * CS),
}


@pytest.fixture(params=stream.CIPHERS)
def cipher(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=list(PLAINTEXTS))
def pt(request: pytest.FixtureRequest) -> bytes:
    return PLAINTEXTS[request.param]


def _chunks(ct: bytes) -> list[bytes]:
    return [ct[i : i + SEALED] for i in range(0, len(ct), SEALED)]


def _feed(dec: stream.Decryptor, data: bytes, released: bytearray) -> None:
    """Feed ``data`` one sealed chunk at a time, collecting the plaintext, then finalize."""
    for piece in _chunks(data):
        released += dec.update(piece)
    released += dec.finalize()


def _released_before_failure(cipher: str, bad: bytes) -> bytes:
    """Feed ``bad`` to a Decryptor; assert it fails; return what it released before."""
    dec = stream.Decryptor(KEY, cipher=cipher, chunk_size=CS)
    released = bytearray()
    with pytest.raises(InvalidTag):
        _feed(dec, bad, released)
    # A failed Decryptor refuses to go on.
    with pytest.raises(ValueError, match="failed"):
        dec.update(b"x")
    return bytes(released)


def _assert_rejected(cipher: str, pt: bytes, bad: bytes, first_bad_chunk: int) -> None:
    with pytest.raises(InvalidTag):
        stream.decrypt(KEY, bad, cipher=cipher, chunk_size=CS)
    with pytest.raises(InvalidTag):
        _reference.decrypt(KEY, bad, cipher, CS)
    released = _released_before_failure(cipher, bad)
    # Exactly the authenticated chunks before the damage, never more.
    assert released == pt[: first_bad_chunk * CS]


def _seal(cipher: str, pt: bytes) -> bytes:
    return bytes(stream.encrypt(KEY, pt, cipher=cipher, chunk_size=CS))


def test_intact_stream_decrypts(cipher: str, pt: bytes) -> None:
    # The control for every test below: the undamaged stream is fine.
    ct = _seal(cipher, pt)
    assert stream.decrypt(KEY, ct, cipher=cipher, chunk_size=CS) == pt
    dec = stream.Decryptor(KEY, cipher=cipher, chunk_size=CS)
    assert b"".join(dec.update(c) for c in _chunks(ct)) + dec.finalize() == pt


def test_every_flipped_bit(cipher: str, pt: bytes) -> None:
    ct = _seal(cipher, pt)
    for pos in range(len(ct)):
        bad = bytearray(ct)
        bad[pos] ^= 1 << (pos % 8)
        with pytest.raises(InvalidTag):
            stream.decrypt(KEY, bad, cipher=cipher, chunk_size=CS)
    for pos in (0, SEALED + 3, len(ct) - 1):
        bad = bytearray(ct)
        bad[pos] ^= 0x80
        _assert_rejected(cipher, pt, bytes(bad), pos // SEALED)


def test_dropped_chunk(cipher: str, pt: bytes) -> None:
    chunks = _chunks(_seal(cipher, pt))
    n = len(chunks)
    for i in range(n):
        # Without the last chunk, the one before it is opened as final, and fails.
        _assert_rejected(cipher, pt, b"".join(chunks[:i] + chunks[i + 1 :]), min(i, n - 2))


def test_duplicated_chunk(cipher: str, pt: bytes) -> None:
    chunks = _chunks(_seal(cipher, pt))
    n = len(chunks)
    for i in range(n):
        # A repeated final chunk makes the first copy non-final, so it fails itself.
        _assert_rejected(cipher, pt, b"".join(chunks[: i + 1] + chunks[i:]), min(i + 1, n - 1))


def test_reordered_chunks(cipher: str, pt: bytes) -> None:
    chunks = _chunks(_seal(cipher, pt))
    for i in range(len(chunks) - 1):
        swapped = [*chunks[:i], chunks[i + 1], chunks[i], *chunks[i + 2 :]]
        _assert_rejected(cipher, pt, b"".join(swapped), i)


def test_every_truncation(cipher: str, pt: bytes) -> None:
    ct = _seal(cipher, pt)
    for length in range(len(ct)):
        with pytest.raises(InvalidTag):
            stream.decrypt(KEY, ct[:length], cipher=cipher, chunk_size=CS)
    # Cut at a chunk boundary: every remaining chunk is intact, the final one is missing,
    # so the one before it is opened as final and fails.
    n = len(_chunks(ct))
    _assert_rejected(cipher, pt, ct[: (n - 1) * SEALED], n - 2)
    _assert_rejected(cipher, pt, b"", 0)


@pytest.mark.parametrize(
    "extra",
    [
        lambda ct: b"\x00",
        lambda ct: bytes(16),
        lambda ct: bytes(SEALED),
        lambda ct: ct[-SEALED:],
        lambda ct: ct[:SEALED],
    ],
    ids=["1-byte", "tag-size", "chunk-size", "final-again", "first-again"],
)
def test_data_after_final_chunk(cipher: str, pt: bytes, extra: Callable[[bytes], bytes]) -> None:
    ct = _seal(cipher, pt)
    n = len(_chunks(ct))
    # A short final chunk merges with what follows into a chunk that fails; a full final
    # chunk followed by anything is opened as non-final, and fails.
    _assert_rejected(cipher, pt, ct + extra(ct), n - 1)


def test_wrong_key(cipher: str, pt: bytes) -> None:
    ct = _seal(cipher, pt)
    other = bytes(b ^ 1 for b in KEY)
    with pytest.raises(InvalidTag):
        stream.decrypt(other, ct, cipher=cipher, chunk_size=CS)
    dec = stream.Decryptor(other, cipher=cipher, chunk_size=CS)
    with pytest.raises(InvalidTag):
        _feed(dec, ct, bytearray())


def test_wrong_cipher(cipher: str, pt: bytes) -> None:
    ct = _seal(cipher, pt)
    (other,) = set(stream.CIPHERS) - {cipher}
    with pytest.raises(InvalidTag):
        stream.decrypt(KEY, ct, cipher=other, chunk_size=CS)


def _hand_sealed(cipher: str, pieces: list[tuple[bytes, bool]]) -> bytes:
    """A stream built chunk by chunk with the single-chunk AEAD: any flags, any sizes."""
    return b"".join(
        bytes(core.seal_one(cipher, KEY, nonce(i, final), b"", piece))
        for i, (piece, final) in enumerate(pieces)
    )


def test_hand_sealed_stream_is_accepted(cipher: str) -> None:
    # The control for the non-canonical streams below.
    a, b = bytes(range(CS)), b"tail"
    assert stream.decrypt(KEY, _hand_sealed(cipher, [(a, False), (b, True)]), cipher=cipher,
                          chunk_size=CS) == a + b  # fmt: skip


@pytest.mark.parametrize(
    ("pieces", "first_bad"),
    [
        ([(bytes(CS), False), (b"", True)], 1),  # empty final chunk after a full one
        ([(bytes(CS), True), (b"x", True)], 0),  # two final chunks
        ([(bytes(CS), True), (bytes(CS), True)], 0),  # two full final chunks
        ([(bytes(CS), False), (b"x", False)], 1),  # no final flag anywhere
        ([(bytes(CS), False)], 0),  # a single full non-final chunk
        ([(b"x", False), (b"y", True)], 0),  # a short chunk that is not the last
    ],
    ids=["empty-final", "two-final", "two-full-final", "no-final", "lone-non-final", "short-mid"],
)
def test_non_canonical_streams(
    cipher: str, pieces: list[tuple[bytes, bool]], first_bad: int
) -> None:
    bad = _hand_sealed(cipher, pieces)
    with pytest.raises(InvalidTag):
        stream.decrypt(KEY, bad, cipher=cipher, chunk_size=CS)
    with pytest.raises(InvalidTag):
        _reference.decrypt(KEY, bad, cipher, CS)
    assert len(_released_before_failure(cipher, bad)) <= first_bad * CS


def test_failed_update_releases_nothing_of_its_call(cipher: str, pt: bytes) -> None:
    ct = bytearray(_seal(cipher, pt))
    ct[2 * SEALED + 1] ^= 1
    dec = stream.Decryptor(KEY, cipher=cipher, chunk_size=CS)
    assert dec.update(ct[:SEALED]) == b""  # held back: it might be the final chunk
    with pytest.raises(InvalidTag):
        dec.update(ct[SEALED:])  # chunks 0 and 1 are fine, 2 is not: nothing comes out


def test_failed_open_wipes_the_output(cipher: str) -> None:
    pt = bytes(range(256)) * 4
    ct = bytearray(_seal(cipher, pt))
    ct[-1] ^= 1
    out = bytearray(b"\xaa" * len(pt))
    with pytest.raises(InvalidTag):
        _engine.run_chunks(
            cipher, memoryview(KEY), memoryview(ct), memoryview(out),
            ChunkRun(first_index=0, n_chunks=len(_chunks(bytes(ct))), last_is_final=True,
                     chunk_size=CS), seal=False, threads=2,
        )  # fmt: skip
    assert out == bytes(len(out))


def test_an_internal_error_wipes_the_output_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def half_done(*args: object, **run: object) -> None:
        dst = args[-1]
        assert isinstance(dst, memoryview)
        dst[:] = b"\xaa" * len(dst)  # plaintext already written ...
        raise InternalError("simulated: OpenSSL failed")  # ... then the core gives up

    ct = _seal("chacha20-poly1305", PLAINTEXTS["short-last"])
    monkeypatch.setattr(_engine, "_c_open", half_done)
    out = bytearray(len(PLAINTEXTS["short-last"]))
    with pytest.raises(InternalError):
        stream.decrypt_into(KEY, ct, out, chunk_size=CS)
    assert out == bytes(len(out))
