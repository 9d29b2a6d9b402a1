"""The X25519 recipient type: ``age1…`` recipients, ``AGE-SECRET-KEY-1…`` identities.

Stanza ``-> X25519 <ephemeral share>``; body = ChaCha20-Poly1305 (zero nonce) of the
file key under ``HKDF-SHA256(ikm = X25519(eph, recipient), salt = share || recipient,
info = "age-encryption.org/v1/X25519")`` (C2SP age spec, "The X25519 recipient type").

Security property: only the holder of the identity can recover the file key, against
classical attackers; a quantum computer recovers it from the share.  A share giving an
all-zero output (a low-order point) is refused as a header error.
"""

from __future__ import annotations

from collections.abc import Sequence

from pqe2ee.age import bech32
from pqe2ee.age.format import Stanza, b64decode, b64encode
from pqe2ee.age.recipient import Identity, Recipient, aead_unwrap, aead_wrap, unwrap_matching
from pqe2ee.exceptions import AgeHeaderError, InvalidInput
from pqe2ee.hazmat.kdf import hkdf
from pqe2ee.hazmat.kem import KEMPrivateKey, KEMPublicKey, get_kem

__all__ = ["X25519Identity", "X25519Recipient"]

_LABEL = b"age-encryption.org/v1/X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"


def _wrap_key(shared: bytes, share: bytes, recipient: bytes) -> bytes:
    return hkdf(shared, salt=share + recipient, info=_LABEL, length=32)


class X25519Recipient(Recipient):
    """An ``age1…`` public key."""

    stanza_type = "X25519"

    def __init__(self, public_key: bytes) -> None:
        self._key: KEMPublicKey = get_kem("X25519").from_public_bytes(public_key)

    @classmethod
    def from_string(cls, s: str) -> X25519Recipient:
        """:raises ValueError: not a valid ``age1…`` recipient."""
        what = "an age X25519 recipient (age1…)"
        return cls(bech32.decode_key(s, RECIPIENT_HRP, 32, upper=False, what=what))

    def __str__(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self._key.public_bytes_raw())

    def wrap(self, file_key: bytes) -> list[Stanza]:
        """One ``X25519`` stanza: a fresh ephemeral share and the wrapped file key."""
        shared, share = self._key.encapsulate()
        key = _wrap_key(shared, share, self._key.public_bytes_raw())
        return [Stanza(self.stanza_type, [b64encode(share)], aead_wrap(key, file_key))]


class X25519Identity(Identity):
    """An ``AGE-SECRET-KEY-1…`` private key."""

    def __init__(self, secret: bytes) -> None:
        self._key: KEMPrivateKey = get_kem("X25519").from_seed_bytes(secret)

    @classmethod
    def generate(cls) -> X25519Identity:
        """A new random identity."""
        return cls(get_kem("X25519").generate().private_bytes_raw())

    @classmethod
    def from_string(cls, s: str) -> X25519Identity:
        """:raises ValueError: not a valid ``AGE-SECRET-KEY-1…`` identity."""
        what = "an age X25519 identity (AGE-SECRET-KEY-1…)"
        return cls(bech32.decode_key(s, IDENTITY_HRP, 32, upper=True, what=what))

    def __str__(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._key.private_bytes_raw(), upper=True)

    def __repr__(self) -> str:
        return f"<X25519Identity {self.recipient()}>"

    def recipient(self) -> X25519Recipient:
        """The matching public recipient."""
        return X25519Recipient(self._key.public_key().public_bytes_raw())

    def _one(self, s: Stanza) -> bytes | None:
        share = b64decode(s.args[0], "age X25519 share")
        if len(share) != 32:
            raise AgeHeaderError("age X25519 share must be 32 bytes")
        try:
            shared = self._key.decapsulate(share)
        except InvalidInput:
            raise AgeHeaderError("age X25519 share is a low-order point") from None
        pub = self._key.public_key().public_bytes_raw()
        return aead_unwrap(_wrap_key(shared, share, pub), s.body)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first ``X25519`` stanza that opens, else None.

        :raises AgeHeaderError: such a stanza is malformed or its share is a low-order point.
        """
        return unwrap_matching(stanzas, "X25519", 1, self._one)
