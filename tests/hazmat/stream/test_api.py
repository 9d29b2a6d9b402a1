"""The STREAM API: argument checks, state rules, random access, counter limits, secrets."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat import stream
from pqe2ee.hazmat.stream import _engine, _reference
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import MAX_CHUNKS

KEY = random.Random(20).randbytes(32)
PT = random.Random(21).randbytes(1000)


def test_known_layout() -> None:
    # An empty plaintext is one empty final chunk: just a tag, under nonce 0...0 || 01.
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    ct = stream.encrypt(KEY, b"")
    assert ct == ChaCha20Poly1305(KEY).encrypt(bytes(11) + b"\x01", b"", None)
    assert stream.decrypt(KEY, ct) == b""
    assert stream.ciphertext_size(0) == 16
    assert stream.ciphertext_size(65536) == 65536 + 16
    assert stream.ciphertext_size(65537) == 65537 + 32
    assert stream.plaintext_size(65536 + 16 + 17) == 65537


@pytest.mark.parametrize("fn", [stream.encrypt, stream.decrypt])
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"key": KEY[:31]}, ValueError, "key must be 32 bytes, got 31"),
        ({"key": KEY + b"x"}, ValueError, "key must be 32 bytes, got 33"),
        ({"key": b""}, ValueError, "key must be 32 bytes, got 0"),
        ({"key": "k" * 32}, TypeError, "key must be bytes-like, not str"),
        ({"key": 42}, TypeError, "key must be bytes-like, not int"),
        ({"cipher": "aes-128-gcm"}, ValueError, "unknown cipher 'aes-128-gcm'"),
        ({"cipher": None}, TypeError, "cipher must be a str"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be between 1 and"),
        ({"chunk_size": -5}, ValueError, "chunk_size must be between 1 and"),
        ({"chunk_size": 2**31}, ValueError, "chunk_size must be between 1 and"),
        ({"chunk_size": 1.5}, TypeError, "chunk_size must be an int"),
        ({"chunk_size": True}, TypeError, "chunk_size must be an int"),
        ({"threads": 0}, ValueError, "threads must be at least 1"),
        ({"threads": "2"}, TypeError, "threads must be an int or None"),
    ],
)
def test_misuse_is_reported(fn: Any, kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"key": KEY, **kwargs}
    key = args.pop("key")
    data = bytes(stream.encrypt(KEY, PT)) if fn is stream.decrypt else PT
    with pytest.raises(error, match=match):
        fn(key, data, **args)


def test_data_must_be_bytes_like() -> None:
    with pytest.raises(TypeError, match="plaintext must be bytes-like, not str"):
        stream.encrypt(KEY, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ciphertext must be bytes-like, not list"):
        stream.decrypt(KEY, [1, 2])  # type: ignore[arg-type]
    enc = stream.Encryptor(KEY)
    with pytest.raises(TypeError, match="data must be bytes-like"):
        enc.update("text")  # type: ignore[arg-type]


def test_any_buffer_is_accepted() -> None:
    import array

    words = array.array("I", range(300))  # 4-byte items: read as raw bytes
    ct = stream.encrypt(KEY, words, chunk_size=100)  # type: ignore[arg-type]
    assert stream.decrypt(KEY, memoryview(ct), chunk_size=100) == words.tobytes()
    assert stream.decrypt(bytearray(KEY), ct, chunk_size=100) == words.tobytes()


@pytest.mark.parametrize("cls", [stream.Encryptor, stream.Decryptor])
def test_constructor_checks(cls: Any) -> None:
    with pytest.raises(ValueError, match="key must be 32 bytes"):
        cls(KEY[:16])
    with pytest.raises(ValueError, match="unknown cipher"):
        cls(KEY, cipher="rot13")
    with pytest.raises(ValueError, match="chunk_size"):
        cls(KEY, chunk_size=0)


def test_state_rules() -> None:
    enc = stream.Encryptor(KEY, chunk_size=100)
    ct = enc.update(PT) + enc.finalize()
    for call in (lambda: enc.update(b"x"), enc.finalize):
        with pytest.raises(ValueError, match="Encryptor is finalized; create a new one"):
            call()
    dec = stream.Decryptor(KEY, chunk_size=100)
    assert dec.update(ct) + dec.finalize() == PT
    with pytest.raises(ValueError, match="Decryptor is finalized"):
        dec.update(b"")
    with pytest.raises(ValueError, match="Decryptor is finalized"):
        dec.finalize()


def test_empty_streams() -> None:
    enc = stream.Encryptor(KEY)
    assert enc.update(b"") == b""
    assert enc.finalize() == stream.encrypt(KEY, b"")
    dec = stream.Decryptor(KEY)
    with pytest.raises(InvalidTag):
        dec.finalize()  # no final chunk at all


def test_secrets_stay_out_of_repr_and_errors() -> None:
    enc = stream.Encryptor(KEY, cipher="aes-256-gcm", chunk_size=100)
    text = repr(enc) + str(enc)
    assert text.startswith("<Encryptor cipher=aes-256-gcm chunk_size=100")
    for leak in (KEY.hex(), repr(KEY)[2:-1], KEY[:8].hex()):
        assert leak not in text
    with pytest.raises(ValueError, match="key must be 32 bytes") as err:
        stream.encrypt(KEY[:31], PT)
    assert KEY[:8].hex() not in str(err.value)
    assert repr(KEY[:31])[2:12] not in str(err.value)


def test_key_copy_is_wiped_when_done() -> None:
    dec = stream.Decryptor(KEY)
    dec.update(stream.encrypt(KEY, b"abc"))
    dec.finalize()
    assert dec._key == bytes(32)
    failed = stream.Decryptor(KEY)
    with pytest.raises(InvalidTag):
        failed.update(bytes(100) * 2000)
    assert failed._key == bytes(32)


@pytest.mark.parametrize("cipher", stream.CIPHERS)
def test_decrypt_chunk_random_access(cipher: str) -> None:
    cs = 100
    sealed = cs + 16
    for size in (250, 300):  # a short and a full last chunk
        pt = PT[:size]
        ct = bytes(stream.encrypt(KEY, pt, cipher=cipher, chunk_size=cs))
        chunks = [ct[i : i + sealed] for i in range(0, len(ct), sealed)]
        for i, chunk in enumerate(chunks):
            want = pt[i * cs : (i + 1) * cs]
            assert stream.decrypt_chunk(KEY, chunk, i, cipher=cipher, chunk_size=cs) == want
            last = i == len(chunks) - 1
            assert (
                stream.decrypt_chunk(KEY, chunk, i, cipher=cipher, chunk_size=cs, final=last)
                == want
            )
            with pytest.raises(InvalidTag):
                stream.decrypt_chunk(KEY, chunk, i, cipher=cipher, chunk_size=cs, final=not last)
            with pytest.raises(InvalidTag):
                stream.decrypt_chunk(KEY, chunk, i + 1, cipher=cipher, chunk_size=cs)


def test_decrypt_chunk_checks() -> None:
    chunk = bytes(stream.encrypt(KEY, b"x"))
    with pytest.raises(ValueError, match=r"chunk index must be in \[0, 2\*\*88\)"):
        stream.decrypt_chunk(KEY, chunk, -1)
    with pytest.raises(ValueError, match=r"chunk index must be in \[0, 2\*\*88\)"):
        stream.decrypt_chunk(KEY, chunk, MAX_CHUNKS)
    with pytest.raises(TypeError, match="index must be an int"):
        stream.decrypt_chunk(KEY, chunk, 1.0)  # type: ignore[arg-type]
    for bad in (b"", bytes(15), bytes(65536 + 17)):
        with pytest.raises(InvalidTag):
            stream.decrypt_chunk(KEY, bad, 0)


@pytest.mark.parametrize("cipher", stream.CIPHERS)
def test_counter_reaches_its_last_value_but_never_wraps(cipher: str) -> None:
    cs = 16
    last = MAX_CHUNKS - 1
    # The last two usable indices seal, and match the reference's nonces.
    out = bytearray(2 * (cs + 16))
    run = {"n_chunks": 2, "last_is_final": True, "chunk_size": cs}
    _engine.run_chunks(
        cipher, memoryview(KEY), memoryview(PT[: 2 * cs]), memoryview(out),
        ChunkRun(first_index=last - 1, **run), seal=True, threads=1,
    )  # fmt: skip
    ref = bytearray(len(out))
    _reference.seal_run(cipher, KEY, memoryview(PT[: 2 * cs]), memoryview(ref),
                        chunks=ChunkRun(first_index=last - 1, **run))  # fmt: skip
    assert out == ref
    assert (
        stream.decrypt_chunk(KEY, out[cs + 16 :], last, cipher=cipher, chunk_size=cs)
        == PT[cs : 2 * cs]
    )
    # One more would need counter 2**88: refused, not wrapped to 0.
    with pytest.raises(ValueError, match="88-bit STREAM chunk counter would wrap"):
        _engine.run_chunks(
            cipher, memoryview(KEY), memoryview(PT[: 2 * cs]), memoryview(bytearray(len(out))),
            ChunkRun(first_index=last, **run), seal=True, threads=1,
        )  # fmt: skip


def test_encryptor_refuses_to_pass_the_last_counter() -> None:
    enc = stream.Encryptor(KEY, chunk_size=16)
    enc._index = MAX_CHUNKS - 1  # test-only: jump to the end of the counter space
    assert len(enc.update(bytes(16))) == 0  # held back: might be the final chunk
    with pytest.raises(ValueError, match="would wrap"):
        enc.update(bytes(1))  # now chunk 2**88 - 1 is not final, and another must follow
    with pytest.raises(ValueError, match="Encryptor is failed"):
        enc.finalize()
    # Ending the stream exactly at the last index is fine.
    enc = stream.Encryptor(KEY, chunk_size=16)
    enc._index = MAX_CHUNKS - 1
    last = enc.update(bytes(16)) + enc.finalize()
    assert stream.decrypt_chunk(KEY, last, MAX_CHUNKS - 1, chunk_size=16, final=True) == bytes(16)


def test_misuse_is_reported_before_the_data_is_judged() -> None:
    # An impossible ciphertext length must not hide a wrong key size.
    with pytest.raises(ValueError, match="key must be 32 bytes"):
        stream.decrypt(KEY[:5], b"")
    with pytest.raises(ValueError, match="unknown cipher"):
        stream.decrypt(KEY, b"", cipher="x")


@pytest.mark.parametrize("cipher", stream.CIPHERS)
def test_into_variants(cipher: str) -> None:
    out = bytearray(stream.ciphertext_size(len(PT), 100))
    assert stream.encrypt_into(KEY, PT, out, cipher=cipher, chunk_size=100) == len(out)
    assert out == stream.encrypt(KEY, PT, cipher=cipher, chunk_size=100)
    back = bytearray(len(PT))
    assert stream.decrypt_into(KEY, out, memoryview(back), cipher=cipher, chunk_size=100) == 1000
    assert back == PT
    out[-1] ^= 1
    with pytest.raises(InvalidTag):
        stream.decrypt_into(KEY, out, back, cipher=cipher, chunk_size=100)
    assert back == bytes(len(back))  # no plaintext of a failed stream stays behind


def test_into_checks_the_buffer() -> None:
    size = stream.ciphertext_size(len(PT))
    with pytest.raises(ValueError, match=f"out must be exactly {size} bytes, got {size - 1}"):
        stream.encrypt_into(KEY, PT, bytearray(size - 1))
    with pytest.raises(TypeError, match="out must be a writable buffer"):
        stream.encrypt_into(KEY, PT, bytes(size))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out must be exactly 1000 bytes"):
        stream.decrypt_into(KEY, stream.encrypt(KEY, PT), bytearray(999))
