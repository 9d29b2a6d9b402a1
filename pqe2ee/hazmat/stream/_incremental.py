"""Incremental STREAM: :class:`Encryptor` and :class:`Decryptor` take input in any split.

Neither side can tell that a chunk is the last until it has seen more input or
``finalize()``: the encryptor must seal a plaintext whose length is a multiple of the
chunk size with a *full* final chunk, and the decryptor must open the last chunk with the
final flag.  So each holds back its last (possibly full) chunk, and everything before it
is processed in bulk, on several threads, as soon as it arrives.

Security property (age spec, "Payload"; C2SP STREAM): :meth:`Decryptor.update` only ever
returns plaintext of chunks that authenticated under their own index and flag, and
:meth:`Decryptor.finalize` succeeds only if the stream ended with a final chunk exactly
where the ciphertext ended.  Plaintext returned by ``update`` before ``finalize`` is
*not yet known to be complete*: a truncated stream is only detected by ``finalize``.
"""

from __future__ import annotations

import enum

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat.core import cleanse
from pqe2ee.hazmat.stream import _engine
from pqe2ee.hazmat.stream._chunk_run import ChunkRun
from pqe2ee.hazmat.stream._format import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CIPHER,
    MAX_CHUNKS,
    TAG_SIZE,
    check_chunk_size,
    check_cipher,
    check_key,
    check_threads,
    view,
)

__all__ = ["Decryptor", "Encryptor"]


class _State(enum.Enum):
    OPEN = "open"
    FINALIZED = "finalized"
    FAILED = "failed"


class _StreamContext:
    """What both directions share: arguments, the chunk counter and the held-back input."""

    _seal: bool  # the direction: sealing (Encryptor) or opening (Decryptor)
    _in_extra: int  # how much larger an input chunk is than chunk_size
    _out_extra: int  # the same for an output chunk

    def __init__(
        self,
        key: bytes | bytearray | memoryview,
        *,
        cipher: str = DEFAULT_CIPHER,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        threads: int | None = None,
    ) -> None:
        self._cipher = check_cipher(cipher)
        self._chunk_size = check_chunk_size(chunk_size)
        self._threads = check_threads(threads)
        # A private copy, so that it can be wiped when this context is done.
        self._key = bytearray(check_key(key))
        self._pending = bytearray()
        self._index = 0
        self._state = _State.OPEN
        self._in_chunk = self._chunk_size + self._in_extra
        self._out_chunk = self._chunk_size + self._out_extra

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} cipher={self._cipher} chunk_size={self._chunk_size} "
            f"chunks={self._index} state={self._state.value}>"
        )

    def _check_open(self) -> None:
        if self._state is not _State.OPEN:
            raise ValueError(f"this {type(self).__name__} is {self._state.value}; create a new one")

    def _close(self, state: _State) -> None:
        cleanse(self._key)
        self._wipe_pending()
        self._state = state

    def _close_failed(self) -> None:
        """Close after a failure (for helpers that process chunks for this context)."""
        self._close(_State.FAILED)

    def _wipe_pending(self) -> None:
        cleanse(self._pending)
        self._pending.clear()

    def _ready(self, more: int) -> int:
        """How many chunks can be processed now, given ``more`` new input bytes."""
        total = len(self._pending) + more
        return (total - 1) // self._in_chunk if total else 0

    def _run(self, src: memoryview, dst: memoryview, *, n_chunks: int, final: bool) -> None:
        """Seal or open ``n_chunks`` chunks at the current index, then advance past them."""
        chunks = ChunkRun(
            first_index=self._index,
            n_chunks=n_chunks,
            last_is_final=final,
            chunk_size=self._chunk_size,
        )
        with memoryview(self._key) as key:
            _engine.run_chunks(
                self._cipher, key, src, dst, chunks, seal=self._seal, threads=self._threads
            )
        self._index += n_chunks

    def _update_into(self, data: memoryview, out: memoryview) -> int:
        """Process every chunk known not to be the last; returns the bytes written to out.

        On any failure the whole of ``out`` is wiped and the context is closed.
        """
        self._check_open()
        try:
            return self._process(data, out)
        except BaseException:
            cleanse(out)
            self._close(_State.FAILED)
            raise

    def _process(self, data: memoryview, out: memoryview) -> int:
        n = self._ready(len(data))
        if self._index + n >= MAX_CHUNKS:
            # The held-back input would need chunk index 2**88 after these n.
            raise ValueError("the 88-bit STREAM chunk counter would wrap")
        if n == 0:
            self._pending += data
            return 0
        written = pos = 0
        if self._pending:
            # Complete the held-back chunk first; the bulk then comes straight from data.
            pos = self._in_chunk - len(self._pending)
            self._pending += data[:pos]
            with memoryview(self._pending) as pv:
                self._run(pv, out[: self._out_chunk], n_chunks=1, final=False)
            self._wipe_pending()
            n -= 1
            written = self._out_chunk
        if n:
            end = pos + n * self._in_chunk
            dst = out[written : written + n * self._out_chunk]
            self._run(data[pos:end], dst, n_chunks=n, final=False)
            written += n * self._out_chunk
            pos = end
        self._pending += data[pos:]
        return written

    def _final_size(self) -> int:
        return len(self._pending) - self._in_extra + self._out_extra

    def _finalize_into(self, out: memoryview) -> int:
        """Process the held-back input as the final chunk and close; returns bytes written."""
        self._check_open()
        size = self._final_size()
        try:
            self._check_final()
            with memoryview(self._pending) as pv:
                self._run(pv, out[:size], n_chunks=1, final=True)
        except BaseException:
            cleanse(out)
            self._close(_State.FAILED)
            raise
        self._close(_State.FINALIZED)
        return size

    def update(self, data: bytes | bytearray | memoryview) -> bytearray:
        """Feed more input; returns the output of every chunk completed by it (maybe none).

        :raises InvalidTag: (decryption) a chunk failed; no plaintext of this call is
            returned and the context is unusable afterwards.
        :raises ValueError: the context was finalized or failed before.
        """
        self._check_open()
        mv = view(data, "data")
        out = bytearray(self._ready(len(mv)) * self._out_chunk)
        self._update_into(mv, memoryview(out))
        return out

    def finalize(self) -> bytearray:
        """Process the last chunk and end the stream; the context is unusable afterwards.

        :raises InvalidTag: (decryption) the stream is truncated, extended or tampered with.
        :raises ValueError: the context was finalized or failed before.
        """
        self._check_open()
        out = bytearray(max(0, self._final_size()))
        self._finalize_into(memoryview(out))
        return out

    def _check_final(self) -> None:
        """Raise before finalizing a stream whose held-back input cannot be a last chunk."""


class Encryptor(_StreamContext):
    """Seal a STREAM incrementally: ``out = enc.update(a) + enc.update(b) + enc.finalize()``.

    The output equals :func:`pqe2ee.hazmat.stream.encrypt` of the concatenated input, for
    any split.  Each key must seal at most one stream: the nonces restart at zero.

    :param key: 32 bytes, used for this one stream only (it is copied, and the copy is
        wiped by :meth:`finalize`).
    :param cipher: ``"chacha20-poly1305"`` (RFC 8439) or ``"aes-256-gcm"`` (SP 800-38D).
    :param chunk_size: plaintext bytes per chunk (age: 65536).
    :param threads: threads for large inputs; None = one per core.
    """

    _seal = True
    _in_extra = 0
    _out_extra = TAG_SIZE


class Decryptor(_StreamContext):
    """Open a STREAM incrementally, in any split of the ciphertext.

    ``update`` returns plaintext only of chunks that authenticated, holding back the
    last chunk it has (it may be the final one); ``finalize`` opens that one with the
    final flag and so detects truncation.  Discard everything ``update`` returned if
    ``finalize`` raises.

    :param key: 32 bytes (copied; the copy is wiped when the stream ends or fails).
    :param cipher: as for :class:`Encryptor`.
    :param chunk_size: as for :class:`Encryptor`; must match the sender's.
    :param threads: threads for large inputs; None = one per core.
    """

    _seal = False
    _in_extra = TAG_SIZE
    _out_extra = 0

    def _check_final(self) -> None:
        size = len(self._pending)
        if size < TAG_SIZE or (size == TAG_SIZE and self._index > 0):
            raise InvalidTag("STREAM ciphertext is truncated: no final chunk")
