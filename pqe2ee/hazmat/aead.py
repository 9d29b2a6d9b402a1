"""The AEADs pqe2ee uses, in one registry: name, IANA id, sizes and constructor.

=====================  ======  ===  =====  ===  =====================================
name                   id      key  nonce  tag  spec
=====================  ======  ===  =====  ===  =====================================
aes-128-gcm            0x0001  16   12     16   NIST SP 800-38D
aes-256-gcm            0x0002  32   12     16   NIST SP 800-38D
chacha20-poly1305      0x0003  32   12     16   RFC 8439 §2.8
export-only            0xFFFF  0    0      0    RFC 9180 §5.3 (no cipher: exports only)
=====================  ======  ===  =====  ===  =====================================

The id is the HPKE AEAD id (RFC 9180 §7.3), which the handshake's suites reuse as their
AEAD code point (docs/protocol.md §1); HPKE looks AEADs up by id, the handshake record
layer and STREAM by name.  Every cipher is ``cryptography``'s.

Security property: each is IND-CCA2 secret and INT-CTXT authentic as long as a
(key, nonce) pair is never used twice; every caller derives its nonces so that it is
not.  An authentication failure raises :class:`~pqe2ee.exceptions.InvalidTag` and
releases no plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag as _CryptoInvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from pqe2ee.exceptions import InvalidTag

__all__ = ["AEAD", "Cipher", "by_id", "by_name"]

#: A keyed ``cryptography`` AEAD object (``encrypt``/``decrypt``/``encrypt_into``).
Cipher = AESGCM | ChaCha20Poly1305


@dataclass(frozen=True, eq=False)
class AEAD:
    """One AEAD algorithm: its name, IANA id, sizes, and how to key it.

    :param name: the name the handshake's suites and STREAM use.
    :param aead_id: the HPKE AEAD id (RFC 9180 §7.3).
    :param key_size: key length in bytes (RFC 9180's ``Nk``).
    :param nonce_size: nonce length in bytes (``Nn``).
    :param factory: ``cryptography``'s class for this AEAD, or None for export-only.
    """

    name: str
    aead_id: int
    key_size: int
    nonce_size: int
    factory: Callable[[bytes], Cipher] | None

    @property
    def Nk(self) -> int:
        """The key size under its RFC 9180 name."""
        return self.key_size

    @property
    def Nn(self) -> int:
        """The nonce size under its RFC 9180 name."""
        return self.nonce_size

    def cipher(self, key: bytes) -> Cipher:
        """A ``cryptography`` AEAD object keyed with ``key``, for callers sealing many
        messages under one key (the record layer, STREAM's reference path).

        :raises ValueError: this is the export-only AEAD, or ``key`` is not
            :attr:`key_size` bytes (AES-GCM would otherwise take a key of another size
            as another cipher).
        """
        if self.factory is None:
            raise ValueError(f"the {self.name} AEAD (0x{self.aead_id:04X}) has no cipher")
        if len(key) != self.key_size:
            raise ValueError(f"{self.name} key must be {self.key_size} bytes, got {len(key)}")
        return self.factory(key)

    def seal(self, key: bytes, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
        """``Seal(key, nonce, aad, pt)``: the ciphertext with its tag appended.

        :raises ValueError: the export-only AEAD (0xFFFF), which cannot seal.
        """
        if self.factory is None:
            raise ValueError("the export-only HPKE AEAD (0xFFFF) cannot seal")
        return self.cipher(key).encrypt(nonce, pt, aad)

    def open(self, key: bytes, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
        """``Open(key, nonce, aad, ct)``: the plaintext, released only if it authenticates.

        :raises InvalidTag: ``ct`` or ``aad`` was changed, or the key or nonce is wrong.
        :raises ValueError: the export-only AEAD (0xFFFF), which cannot open.
        """
        if self.factory is None:
            raise ValueError("the export-only HPKE AEAD (0xFFFF) cannot open")
        try:
            return self.cipher(key).decrypt(nonce, ct, aad)
        except _CryptoInvalidTag:
            raise InvalidTag(f"{self.name}: the ciphertext does not authenticate") from None

    def __repr__(self) -> str:
        return f"<AEAD {self.name} 0x{self.aead_id:04X}>"


_REGISTRY = (
    AEAD("aes-128-gcm", 0x0001, 16, 12, AESGCM),
    AEAD("aes-256-gcm", 0x0002, 32, 12, AESGCM),
    AEAD("chacha20-poly1305", 0x0003, 32, 12, ChaCha20Poly1305),
    AEAD("export-only", 0xFFFF, 0, 0, None),
)
_BY_ID = {a.aead_id: a for a in _REGISTRY}
_BY_NAME = {a.name: a for a in _REGISTRY}


def by_id(aead_id: int) -> AEAD:
    """The AEAD with this IANA (HPKE) id.

    :raises ValueError: no AEAD here has that id.
    """
    try:
        return _BY_ID[aead_id]
    except KeyError:
        raise ValueError(f"HPKE AEAD 0x{aead_id:04x} is not supported") from None


def by_name(name: str) -> AEAD:
    """The AEAD called ``name`` (``"chacha20-poly1305"``, ``"aes-256-gcm"``, ...).

    :raises ValueError: no AEAD here has that name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown AEAD {name!r}; known: {', '.join(_BY_NAME)}") from None
