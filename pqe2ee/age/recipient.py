"""What every age recipient type provides: :class:`Recipient` wraps a file key into
stanzas, :class:`Identity` unwraps it again.

Each type lives in its own module (``x25519``, ``scrypt``, ``mlkem768x25519``);
:func:`pqe2ee.age.keys.parse_recipient` and ``parse_identity`` read their string forms.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

from pqe2ee.age.format import FILE_KEY_SIZE, Stanza
from pqe2ee.exceptions import AgeHeaderError, InvalidTag
from pqe2ee.hazmat.aead import by_name

__all__ = ["Identity", "Recipient", "aead_unwrap", "aead_wrap", "unwrap_matching"]

_ZERO_NONCE = bytes(12)
_CHACHA20_POLY1305 = by_name("chacha20-poly1305")
#: A wrapped file key: the 16-byte key and a 16-byte Poly1305 tag.
WRAPPED_SIZE = FILE_KEY_SIZE + 16


class Recipient(abc.ABC):
    """Someone a file is encrypted to."""

    #: The stanza type this recipient writes.
    stanza_type: str
    #: True if the wrapping resists a quantum attacker (age's "postquantum" label).
    postquantum: bool = False

    @abc.abstractmethod
    def wrap(self, file_key: bytes) -> list[Stanza]:
        """Stanzas from which the matching identity recovers ``file_key``."""


class Identity(abc.ABC):
    """A key or passphrase that may open some stanzas."""

    @abc.abstractmethod
    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key if one of ``stanzas`` is for this identity, else None.

        :raises AgeHeaderError: a stanza of this identity's type is malformed.
        """


def aead_wrap(key: bytes, file_key: bytes) -> bytes:
    """ChaCha20-Poly1305 under ``key`` with the all-zero nonce (each key wraps once)."""
    return _CHACHA20_POLY1305.seal(key, _ZERO_NONCE, b"", file_key)


def aead_unwrap(key: bytes, body: bytes) -> bytes | None:
    """The file key in ``body``, or None if it does not authenticate under ``key``."""
    try:
        return _CHACHA20_POLY1305.open(key, _ZERO_NONCE, b"", body)
    except InvalidTag:
        return None


def unwrap_matching(
    stanzas: Sequence[Stanza],
    stanza_type: str,
    nargs: int,
    one: Callable[[Stanza], bytes | None],
) -> bytes | None:
    """Try ``one`` on every stanza of ``stanza_type`` after the common shape checks.

    The body length is checked before any decryption, as the spec asks.
    """
    for s in stanzas:
        if s.type != stanza_type:
            continue
        if len(s.args) != nargs:
            raise AgeHeaderError(f"age {stanza_type} stanza must have {nargs} argument(s)")
        if len(s.body) != WRAPPED_SIZE:
            raise AgeHeaderError(f"age {stanza_type} stanza body must be {WRAPPED_SIZE} bytes")
        file_key = one(s)
        if file_key is not None:
            return file_key
    return None
