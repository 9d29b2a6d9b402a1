"""pytest-benchmark micro-benchmarks of STREAM (`make bench`); big runs: benchmarks/stream_speed.py.

Inputs are 8 MiB so that one round is milliseconds; outputs go to reused buffers.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from pqe2ee.hazmat import core, stream

KEY = bytes(range(32))
SIZE = 8 << 20
PLAINTEXT = os.urandom(SIZE)
CIPHERS = stream.CIPHERS


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("chunk", [4096, 65536])
@pytest.mark.parametrize("threads", [1, None], ids=["1-thread", "all-cores"])
def test_stream_encrypt_into(benchmark: Any, cipher: str, chunk: int, threads: int | None) -> None:
    benchmark.group = f"seal 8 MiB {cipher} {chunk // 1024} KiB"
    out = bytearray(stream.ciphertext_size(SIZE, chunk))
    benchmark(stream.encrypt_into, KEY, PLAINTEXT, out, cipher=cipher, chunk_size=chunk,
              threads=threads)  # fmt: skip


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("chunk", [4096, 65536])
def test_python_loop_encrypt_into(benchmark: Any, cipher: str, chunk: int) -> None:
    """The baseline: one cryptography encrypt_into call per chunk, from Python."""
    benchmark.group = f"seal 8 MiB {cipher} {chunk // 1024} KiB"
    aead = (ChaCha20Poly1305 if cipher == "chacha20-poly1305" else AESGCM)(KEY)
    src, out = memoryview(PLAINTEXT), memoryview(bytearray(stream.ciphertext_size(SIZE, chunk)))
    n, sealed = SIZE // chunk, chunk + 16

    def loop() -> None:
        for i in range(n):
            nonce = i.to_bytes(11, "big") + (b"\x01" if i == n - 1 else b"\x00")
            aead.encrypt_into(nonce, src[i * chunk : (i + 1) * chunk], None,
                              out[i * sealed : (i + 1) * sealed])  # fmt: skip

    benchmark(loop)


@pytest.mark.parametrize("cipher", CIPHERS)
def test_raw_one_shot_1mib(benchmark: Any, cipher: str) -> None:
    """The same libcrypto as the core, one AEAD call per 1 MiB, 8 calls."""
    benchmark.group = f"seal 8 MiB {cipher} 64 KiB"
    src = PLAINTEXT[: 1 << 20]

    def run() -> None:
        for _ in range(8):
            core.seal_one(cipher, KEY, bytes(12), b"", src)

    benchmark(run)


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize("threads", [1, None], ids=["1-thread", "all-cores"])
def test_stream_decrypt_into(benchmark: Any, cipher: str, threads: int | None) -> None:
    benchmark.group = f"open 8 MiB {cipher}"
    sealed = stream.encrypt(KEY, PLAINTEXT, cipher=cipher)
    out = bytearray(SIZE)
    benchmark(stream.decrypt_into, KEY, sealed, out, cipher=cipher, threads=threads)


@pytest.mark.parametrize("piece", [1024, 65536])
def test_encryptor_update(benchmark: Any, piece: int) -> None:
    """Per-call overhead of the incremental API fed in small pieces."""
    benchmark.group = "Encryptor 1 MiB in pieces"
    data = memoryview(PLAINTEXT[: 1 << 20])

    def run() -> None:
        enc = stream.Encryptor(KEY)
        for i in range(0, len(data), piece):
            enc.update(data[i : i + piece])
        enc.finalize()

    benchmark(run)


def test_decrypt_chunk(benchmark: Any) -> None:
    benchmark.group = "random access"
    chunk = bytes(stream.encrypt(KEY, PLAINTEXT[:100_000]))[: 65536 + 16]
    benchmark(stream.decrypt_chunk, KEY, chunk, 0, final=False)
