"""STREAM through the C core: seal a fuzz-chosen plaintext under a fixed key, change
the ciphertext (or not), and open it one-shot and incrementally, at fuzz-chosen split
points, on one to three threads.

Input: a control byte (bit 0: cipher; bits 1-2: threads - 1, at most 3; bits 3 and 5
both set: a large plaintext, two or three 256 KiB per-thread runs, so that the
threads really split the work), a chunk size (u16, 0 = age's 64 KiB; raised so that
there are at most 2048 chunks), the plaintext length (u16), the number of changes,
each (position u16, XOR byte; XOR 0 = cut the ciphertext there, 1 with bit 4 of the
control byte = append a byte), then the incremental split sizes.

Properties: the incremental encryptor gives the one-shot bytes; unchanged ciphertext
opens to exactly the plaintext, both ways; a changed one raises ``InvalidTag`` from
both, and what the incremental decryptor released before it is a prefix of the
plaintext.
"""

from __future__ import annotations

from fuzz._common import PATTERN, Input, is_prefix
from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat import stream

KEY = bytes(range(32))
LARGE_UNIT = 256 << 10


def _incremental(ctx: stream.Decryptor | stream.Encryptor, data: bytes, sizes: list[int]) -> bytes:
    """Run ``data`` through ``ctx`` in pieces of ``sizes`` (then the rest)."""
    out = bytearray()
    pos = 0
    for size in sizes:
        out += ctx.update(data[pos : pos + size])
        pos += size
    out += ctx.update(data[pos:])
    out += ctx.finalize()
    return bytes(out)


def test_one_input(data: bytes) -> None:
    source = Input(data)
    control = source.u8()
    cipher = stream.CIPHERS[control & 1]
    threads = min(3, (control >> 1 & 3) + 1)
    chunk_size = source.u16() or stream.DEFAULT_CHUNK_SIZE
    length = source.u16()
    large = control & 0x28 == 0x28
    if large:
        length += LARGE_UNIT * (2 + length % 2)  # two or three threads' worth
    plaintext = PATTERN[:length]
    # at most 2048 chunks: each is an AEAD call of its own, and tiny chunks of a large
    # plaintext would make one input take a second
    chunk_size = max(chunk_size, length // 2048 + 1)

    def decryptor() -> stream.Decryptor:
        return stream.Decryptor(KEY, cipher=cipher, chunk_size=chunk_size, threads=threads)

    def decrypt(ciphertext: bytes) -> bytearray:
        return stream.decrypt(
            KEY, ciphertext, cipher=cipher, chunk_size=chunk_size, threads=threads
        )

    sealed = bytes(
        stream.encrypt(KEY, plaintext, cipher=cipher, chunk_size=chunk_size, threads=threads)
    )
    assert len(sealed) == stream.ciphertext_size(length, chunk_size)
    changed = bytearray(sealed)
    for _ in range(source.u8() % 4):
        at, xor = source.u16(), source.u8()
        if xor == 0:
            del changed[at % (len(changed) + 1) :]
        elif xor == 1 and control & 16:
            changed.append(source.u8())
        elif changed:
            changed[at % len(changed)] ^= xor
    ciphertext = bytes(changed)
    sizes = [source.u16() for _ in range(source.u8() % 8)]
    if sizes and large:
        sizes = [s * 64 for s in sizes]  # splits across the large runs

    encryptor = stream.Encryptor(KEY, cipher=cipher, chunk_size=chunk_size, threads=threads)
    assert _incremental(encryptor, plaintext, sizes) == sealed
    if ciphertext == sealed:
        assert decrypt(ciphertext) == plaintext
        assert _incremental(decryptor(), ciphertext, sizes) == plaintext
        return
    try:
        decrypt(ciphertext)
    except InvalidTag:
        pass
    else:
        raise AssertionError("a changed STREAM opened one-shot")
    context = decryptor()
    released = bytearray()
    pos = 0
    try:
        for size in [*sizes, len(ciphertext)]:
            released += context.update(ciphertext[pos : pos + size])
            pos += size
        context.finalize()
    except InvalidTag:
        assert is_prefix(released, plaintext), "released plaintext that was never sealed"
    else:
        raise AssertionError("a changed STREAM opened incrementally")
