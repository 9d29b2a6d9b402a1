"""Which chunks one call seals or opens: a run of consecutive chunks of a STREAM.

A run is *which* chunks (where they start, how many, whether the last is the stream's
final one, how large they are); the cipher, the key and the threads are *how*, and stay
with the engine.  The run is checked once, when it is made, so every layer below (the
thread split, the reference path, the C binding) can trust it: in particular no chunk
of a run has an index outside the 88-bit counter (age spec, "Payload"; C2SP STREAM).
"""

from __future__ import annotations

import dataclasses

from pqe2ee.hazmat.stream._format import MAX_CHUNKS, check_chunk_size, nonce

__all__ = ["ChunkRun"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChunkRun:
    """Chunks ``first_index`` to ``first_index + n_chunks - 1`` of a STREAM.

    Every chunk but the last holds ``chunk_size`` plaintext bytes; the last holds the
    rest.  The last one carries the final flag when ``last_is_final`` (only the stream's
    final chunk may: that flag is what detects truncation).

    :raises ValueError: a negative index, no chunks, a chunk size out of range, or a run
        that would need a counter of 2**88 or more (never wrapped to 0).
    :raises TypeError: a chunk size that is not an int.
    """

    first_index: int
    n_chunks: int
    last_is_final: bool
    chunk_size: int

    def __post_init__(self) -> None:
        """Refuse a run no layer below could process (each used to check its part)."""
        if self.first_index < 0:
            raise ValueError(f"chunk index must be in [0, 2**88), got {self.first_index}")
        if self.n_chunks < 1:
            raise ValueError("a STREAM run needs at least one chunk")
        if self.first_index + self.n_chunks > MAX_CHUNKS:
            raise ValueError("the 88-bit STREAM chunk counter would wrap")
        check_chunk_size(self.chunk_size)

    def part(self, start: int, count: int) -> ChunkRun:
        """The sub-run of ``count`` chunks from the run's chunk ``start`` on.

        It carries the final flag only if it ends where this run ends and this run does.
        """
        return ChunkRun(
            first_index=self.first_index + start,
            n_chunks=count,
            last_is_final=self.last_is_final and start + count == self.n_chunks,
            chunk_size=self.chunk_size,
        )

    def nonce(self, i: int) -> bytes:
        """The 12-byte nonce of the run's chunk ``i`` (counted from the run's start)."""
        return nonce(self.first_index + i, self.last_is_final and i == self.n_chunks - 1)
