"""Record padding policies (docs/protocol.md §10): how long a record's plaintext is made.

A record's plaintext is ``content || inner_type || zeros[pad]``; a :class:`Padding`
maps the unpadded length ``L = len(content) + 1`` to the padded length
``P(L) = min(policy(L), MAX_INNER)``, so the frame an observer sees is
``4 + P(L) + 16`` bytes and tells only the bucket of ``L``:

- ``none``: ``P(L) = L`` (the exact length, version 1's behaviour; the default);
- ``padme``: Padme (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
  Communication with PURBs", PETS 2019, §4), which leaks ``O(log log L)`` bits and costs
  at most 11.7 % (``L = 129 -> 144``);
- ``block:N``: the next multiple of ``N`` (``1 <= N <= 2^16``), which leaks ``ceil(L / N)``.

Padding is a sender-only policy: every receiver strips it (the zeros after the last
nonzero byte), nothing is negotiated.  The C core computes the same function
(``pqe2ee_record_padded_length`` in ``csrc/records.c``; the tests hold the two equal),
and takes a policy as the two integers :attr:`Padding.mode` and :attr:`Padding.block`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pqe2ee._binding import records as _records

__all__ = ["BLOCK_MAX", "MAX_INNER", "NO_PADDING", "Padding", "padme"]

#: Padded plaintext bytes at most: content, inner type and padding of one record.
MAX_INNER: int = _records.MAX_INNER
#: The largest ``N`` of ``block:N``.
BLOCK_MAX: int = _records.PAD_BLOCK_MAX
_MAX_LENGTH = _records.MAX_PLAINTEXT + 1  # content of a full record, and its inner type


def padme(length: int) -> int:
    """Padme of ``length`` (PETS 2019, §4): keep the top ``S = floor(log2 E) + 1`` bits,
    where ``E = floor(log2 length)``, and round the others up; 0 and 1 stay as they are.

    :raises ValueError: a negative length.
    """
    if length < 0:
        raise ValueError("a length cannot be negative")
    if length < 2:
        return length
    e = length.bit_length() - 1  # floor(log2 L)
    s = e.bit_length()  # floor(log2 E) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


@dataclass(frozen=True)
class Padding:
    """A record padding policy: ``Padding.parse("padme")``, ``Padding.parse("block:256")``.

    :param name: ``"none"``, ``"padme"`` or ``"block"``.
    :param block: the ``N`` of ``block:N`` (1 for the others).
    :raises ValueError: an unknown name, or a block outside 1 .. :data:`BLOCK_MAX`.
    """

    name: str = "none"
    block: int = 1

    NAMES: ClassVar[tuple[str, ...]] = ("none", "padme", "block")
    #: What :meth:`parse` accepts, in words (for usage messages).
    SYNTAX: ClassVar[str] = f"none, padme or block:N with N in 1..{BLOCK_MAX}"

    def __post_init__(self) -> None:
        if self.name not in self.NAMES:
            raise ValueError(f"unknown padding policy {self.name!r}: use {self.SYNTAX}")
        if isinstance(self.block, bool) or not isinstance(self.block, int):
            raise TypeError("the padding block is an int")
        if self.name == "block" and not 1 <= self.block <= BLOCK_MAX:
            raise ValueError(f"padding block:{self.block} is out of range: use {self.SYNTAX}")
        if self.name != "block" and self.block != 1:
            raise ValueError(f"only block:N takes a size, not {self.name}")

    @classmethod
    def parse(cls, text: str) -> Padding:
        """Read a policy: ``none``, ``padme`` or ``block:N``.

        :raises ValueError: anything else (the message lists what is accepted).
        """
        if not isinstance(text, str):
            raise TypeError(f"a padding policy is a str or a Padding, not {type(text).__name__}")
        word = text.strip().lower()
        if word in ("none", "padme"):
            return cls(word)
        kind, sep, size = word.partition(":")
        if kind == "block" and sep and size.isdigit() and size.isascii():
            return cls("block", int(size))
        raise ValueError(f"unknown padding policy {text!r}: use {cls.SYNTAX}")

    @classmethod
    def of(cls, value: Padding | str) -> Padding:
        """``value`` itself when it is a :class:`Padding`, else :meth:`parse` of it."""
        return value if isinstance(value, Padding) else cls.parse(value)

    def __str__(self) -> str:
        return f"block:{self.block}" if self.name == "block" else self.name

    @property
    def enabled(self) -> bool:
        """Whether this policy ever adds a byte (``block:1`` does not)."""
        return self.name == "padme" or (self.name == "block" and self.block > 1)

    @property
    def mode(self) -> int:
        """The C core's ``PQE2EE_PAD_*`` value of this policy."""
        if self.name == "padme":
            return _records.PAD_PADME
        if self.name == "block":
            return _records.PAD_BLOCK
        return _records.PAD_NONE

    def padded_length(self, length: int) -> int:
        """``P(length)``: the padded plaintext length of a record whose content and inner
        type are ``length`` bytes (docs/protocol.md §10.2), never beyond :data:`MAX_INNER`.

        :raises ValueError: ``length`` outside 1 .. 2^16 + 1 (a record's content and type).
        """
        if not 1 <= length <= _MAX_LENGTH:
            raise ValueError(f"a record's content and inner type are 1..{_MAX_LENGTH} bytes")
        if self.name == "padme":
            padded = padme(length)
        elif self.name == "block":
            padded = -(-length // self.block) * self.block
        else:
            return length
        return min(padded, MAX_INNER)


#: The default policy: records carry no padding.
NO_PADDING = Padding()
