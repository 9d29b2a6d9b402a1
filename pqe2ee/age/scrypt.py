"""The scrypt recipient type: a passphrase.

Stanza ``-> scrypt <salt> <log2 N>``; body = ChaCha20-Poly1305 (zero nonce) of the file
key under ``scrypt(passphrase, salt = "age-encryption.org/v1/scrypt" || salt, N, r=8,
p=1)`` (C2SP age spec, "The scrypt recipient type").  An scrypt stanza must be the only
stanza in its header, so a passphrase file cannot silently also open for a key.

Security property: as strong as the passphrase, slowed by the work factor.  Decryption
refuses work factors above a limit (default 22, as age does): a hostile file could
otherwise make the reader spend minutes and gigabytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pqe2ee.age.format import Stanza, b64decode, b64encode
from pqe2ee.age.recipient import Identity, Recipient, aead_unwrap, aead_wrap, unwrap_matching
from pqe2ee.exceptions import AgeHeaderError

__all__ = ["DEFAULT_WORK_FACTOR", "MAX_WORK_FACTOR", "ScryptIdentity", "ScryptRecipient"]

STANZA_TYPE = "scrypt"
_LABEL = b"age-encryption.org/v1/scrypt"
#: age's default for new files: about a second on a laptop, 256 MiB of memory.
DEFAULT_WORK_FACTOR = 18
#: The highest work factor :class:`ScryptIdentity` accepts unless told otherwise.
MAX_WORK_FACTOR = 22
_DECIMAL = re.compile(r"[1-9][0-9]{0,1}")


def _scrypt(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
    # cryptography, not hashlib: hashlib.scrypt caps memory below 2 GiB, so it cannot do
    # work factors 21 and 22 (2 and 4 GiB), which age writes and reads.
    return Scrypt(_LABEL + salt, 32, 1 << log_n, 8, 1).derive(passphrase)


def _passphrase(p: str | bytes) -> bytes:
    raw = p.encode("utf-8") if isinstance(p, str) else bytes(p)
    if not raw:
        raise ValueError("the passphrase is empty")
    return raw


class ScryptRecipient(Recipient):
    """Encrypt to a passphrase (must be the file's only recipient)."""

    stanza_type = STANZA_TYPE

    def __init__(self, passphrase: str | bytes, work_factor: int | None = None) -> None:
        if work_factor is None:
            work_factor = DEFAULT_WORK_FACTOR
        if not 1 <= work_factor <= 30:
            raise ValueError("scrypt work factor must be between 1 and 30")
        self._passphrase = _passphrase(passphrase)
        self._work_factor = work_factor

    def wrap(self, file_key: bytes) -> list[Stanza]:
        """One ``scrypt`` stanza: a fresh 16-byte salt, the work factor, the wrapped key."""
        salt = os.urandom(16)
        key = _scrypt(self._passphrase, salt, self._work_factor)
        args = [b64encode(salt), str(self._work_factor)]
        return [Stanza(STANZA_TYPE, args, aead_wrap(key, file_key))]


class ScryptIdentity(Identity):
    """Decrypt with a passphrase.

    :param max_work_factor: refuse stanzas with a larger log2 N (a header error).
    """

    def __init__(self, passphrase: str | bytes, max_work_factor: int = MAX_WORK_FACTOR) -> None:
        self._passphrase = _passphrase(passphrase)
        self._max = max_work_factor

    def __repr__(self) -> str:
        return "<ScryptIdentity (passphrase hidden)>"

    def _one(self, s: Stanza) -> bytes | None:
        salt = b64decode(s.args[0], "age scrypt salt")
        if len(salt) != 16:
            raise AgeHeaderError("age scrypt salt must be 16 bytes")
        if not _DECIMAL.fullmatch(s.args[1]):
            raise AgeHeaderError("age scrypt work factor must be a decimal number from 1")
        log_n = int(s.args[1])
        if log_n > self._max:
            raise AgeHeaderError(
                f"age scrypt work factor {log_n} exceeds the limit {self._max} "
                "(raise max_work_factor only for files you trust)"
            )
        return aead_unwrap(_scrypt(self._passphrase, salt, log_n), s.body)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key if the passphrase opens the ``scrypt`` stanza, else None.

        :raises AgeHeaderError: the stanza is malformed or asks for a work factor above
            this identity's maximum (that it is alone is checked by :func:`pqe2ee.age.decrypt`).
        """
        return unwrap_matching(stanzas, STANZA_TYPE, 2, self._one)
