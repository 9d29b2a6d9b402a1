"""The STREAM payload format: constants, nonces, chunk geometry and argument checks.

The format is age's payload (age spec, "Payload"; C2SP STREAM, after Hoang, Reyhanitabar,
Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
CRYPTO 2015): the plaintext is cut into chunks of ``chunk_size`` bytes, and chunk *i* is
sealed with the nonce ``i`` as 11 bytes big-endian, then one flag byte that is 0x01 on the
last chunk and 0x00 on every other, and no associated data.  Binding the index to each chunk
stops reordering, dropping and duplication; binding the flag to the last one stops
truncation and extension.  Every chunk but the last is full; the last is non-empty unless
the whole plaintext is empty, which is sealed as one empty final chunk.
"""

from __future__ import annotations

import operator
import os

from pqe2ee._binding import stream as _core_stream
from pqe2ee.exceptions import InvalidTag

__all__ = [
    "CIPHERS",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CIPHER",
    "KEY_SIZE",
    "MAX_CHUNKS",
    "MAX_CHUNK_SIZE",
    "TAG_SIZE",
    "check_chunk_size",
    "check_cipher",
    "check_index",
    "check_key",
    "check_threads",
    "ciphertext_chunks",
    "ciphertext_size",
    "nonce",
    "plaintext_chunks",
    "plaintext_size",
    "view",
]


#: The AEADs a stream can be sealed with: ChaCha20-Poly1305 (RFC 8439) and AES-256-GCM.
CIPHERS = ("chacha20-poly1305", "aes-256-gcm")
#: The cipher used when none is named (age's).
DEFAULT_CIPHER = "chacha20-poly1305"
#: age's chunk size (C2SP age spec, "Payload"); pqe2ee.age relies on it being the default.
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 1 << 30
#: Key and tag bytes of both AEADs, and the chunk counter's bytes (csrc/stream.h).
KEY_SIZE: int = _core_stream.KEY_SIZE
#: Bytes of the authentication tag each chunk carries (16, both AEADs).
TAG_SIZE: int = _core_stream.TAG_SIZE
COUNTER_SIZE: int = _core_stream.COUNTER_SIZE
#: Chunk indices are 88-bit: index 2**88 - 1 is the last usable one, and is never wrapped.
MAX_CHUNKS = 1 << (8 * COUNTER_SIZE)


def view(data: object, what: str) -> memoryview:
    """A flat byte view of a bytes-like object, without copying; TypeError otherwise."""
    if isinstance(data, str):
        raise TypeError(f"{what} must be bytes-like, not str (encode it first)")
    try:
        mv = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be bytes-like, not {type(data).__name__}") from None
    if not mv.c_contiguous:
        raise ValueError(f"{what} must be a contiguous buffer")
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def check_key(key: object) -> memoryview:
    """Return a view of a 32-byte key; TypeError/ValueError (never echoing it) otherwise."""
    mv = view(key, "key")
    if len(mv) != KEY_SIZE:
        raise ValueError(f"key must be {KEY_SIZE} bytes, got {len(mv)}")
    return mv


def check_cipher(cipher: object) -> str:
    if not isinstance(cipher, str):
        raise TypeError(f"cipher must be a str, not {type(cipher).__name__}")
    if cipher not in CIPHERS:
        raise ValueError(f"unknown cipher {cipher!r}; use one of {', '.join(CIPHERS)}")
    return cipher


def check_chunk_size(chunk_size: object) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise TypeError(f"chunk_size must be an int, not {type(chunk_size).__name__}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(
            f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes, got {chunk_size} "
            f"(age uses {DEFAULT_CHUNK_SIZE})"
        )
    return chunk_size


def check_threads(threads: object) -> int:
    """Resolve ``threads`` (None = one per usable core) to a positive int."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int or None, not {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return threads


def check_index(index: object) -> int:
    if isinstance(index, bool):
        raise TypeError("index must be an int, not bool")
    try:
        index = operator.index(index)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"index must be an int, not {type(index).__name__}") from None
    if not 0 <= index < MAX_CHUNKS:
        raise ValueError(f"chunk index must be in [0, 2**88), got {index}")
    return index


def nonce(index: int, final: bool) -> bytes:
    """The 12-byte nonce of chunk ``index``: 11-byte big-endian counter || flag."""
    if not 0 <= index < MAX_CHUNKS:
        raise ValueError("the 88-bit STREAM chunk counter would wrap")
    return index.to_bytes(COUNTER_SIZE, "big") + (b"\x01" if final else b"\x00")


def plaintext_chunks(length: int, chunk_size: int) -> int:
    """How many chunks a plaintext of ``length`` bytes makes (at least one)."""
    return max(1, -(-length // chunk_size))


def ciphertext_size(plaintext_length: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The sealed size of a plaintext of ``plaintext_length`` bytes."""
    return plaintext_length + TAG_SIZE * plaintext_chunks(plaintext_length, chunk_size)


def ciphertext_chunks(length: int, chunk_size: int) -> int:
    """How many chunks a sealed stream of ``length`` bytes holds.

    :raises InvalidTag: no valid stream has this length: it is empty (the final chunk is
        missing), its last chunk is shorter than a tag, or its last chunk is empty while
        not the only one.  A canonical stream never looks like this, so it was cut or
        extended.
    """
    sealed = chunk_size + TAG_SIZE
    n = max(1, -(-length // sealed))
    last = length - (n - 1) * sealed
    if last < TAG_SIZE or (last == TAG_SIZE and n > 1):
        raise InvalidTag("STREAM ciphertext is truncated or has a malformed last chunk")
    return n


def plaintext_size(ciphertext_length: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The plaintext size of a sealed stream of ``ciphertext_length`` bytes.

    :raises InvalidTag: the length is impossible for a STREAM ciphertext.
    """
    return ciphertext_length - TAG_SIZE * ciphertext_chunks(ciphertext_length, chunk_size)
