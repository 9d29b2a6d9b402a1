"""The post-quantum hybrid recipient type: ``age1pq1…`` / ``AGE-SECRET-KEY-PQ-1…``.

Stanza ``-> mlkem768x25519 <enc>``; body = the file key sealed with HPKE base mode,
suite X-Wing (MLKEM768-X25519, 0x647a) + HKDF-SHA256 + ChaCha20-Poly1305, info
``"age-encryption.org/mlkem768x25519"``, empty aad (C2SP age spec, age v1.3).
The recipient is the 1216-byte X-Wing public key, the identity its 32-byte seed.

Security property: the file key stays secret unless *both* ML-KEM-768 and X25519 are
broken.  A file is only as strong as its weakest recipient, so :func:`pqe2ee.age.encrypt`
refuses to mix these recipients with classical ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from pqe2ee.age import bech32
from pqe2ee.age.format import Stanza, b64decode, b64encode
from pqe2ee.age.recipient import Identity, Recipient, unwrap_matching
from pqe2ee.exceptions import AgeHeaderError, InvalidInput, InvalidTag
from pqe2ee.hazmat.hpke import Suite, XWingHPKEKEM, aead_by_id, kdf_by_id
from pqe2ee.hazmat.kem import KEMPrivateKey, KEMPublicKey

__all__ = ["HybridIdentity", "HybridRecipient"]

STANZA_TYPE = "mlkem768x25519"
_INFO = b"age-encryption.org/mlkem768x25519"
RECIPIENT_HRP = "age1pq"
IDENTITY_HRP = "age-secret-key-pq-"


def _suite() -> Suite:
    return Suite(XWingHPKEKEM(), kdf_by_id(0x0001), aead_by_id(0x0003))


class HybridRecipient(Recipient):
    """An ``age1pq1…`` public key (X-Wing)."""

    stanza_type = STANZA_TYPE
    postquantum = True

    def __init__(self, public_key: bytes) -> None:
        self._suite = _suite()
        self._key: KEMPublicKey = self._suite.kem.kem.from_public_bytes(public_key)

    @classmethod
    def from_string(cls, s: str) -> HybridRecipient:
        """:raises ValueError: not a valid ``age1pq1…`` recipient."""
        what = "an age post-quantum recipient (age1pq1…)"
        return cls(bech32.decode_key(s, RECIPIENT_HRP, 1216, upper=False, what=what))

    def __str__(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self._key.public_bytes_raw())

    def wrap(self, file_key: bytes) -> list[Stanza]:
        """One ``mlkem768x25519`` stanza: the file key sealed with HPKE to this key."""
        enc, body = self._suite.seal(self._key, _INFO, b"", file_key)
        return [Stanza(STANZA_TYPE, [b64encode(enc)], body)]


class HybridIdentity(Identity):
    """An ``AGE-SECRET-KEY-PQ-1…`` private key (the 32-byte X-Wing seed)."""

    def __init__(self, seed: bytes) -> None:
        self._suite = _suite()
        self._key: KEMPrivateKey = self._suite.kem.kem.from_seed_bytes(seed)

    @classmethod
    def generate(cls) -> HybridIdentity:
        """A new random identity."""
        return cls(_suite().kem.generate_key_pair().private_bytes_raw())

    @classmethod
    def from_string(cls, s: str) -> HybridIdentity:
        """:raises ValueError: not a valid ``AGE-SECRET-KEY-PQ-1…`` identity."""
        what = "an age post-quantum identity (AGE-SECRET-KEY-PQ-1…)"
        return cls(bech32.decode_key(s, IDENTITY_HRP, 32, upper=True, what=what))

    def __str__(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._key.private_bytes_raw(), upper=True)

    def __repr__(self) -> str:
        return "<HybridIdentity (secret hidden)>"

    def recipient(self) -> HybridRecipient:
        """The matching public recipient."""
        return HybridRecipient(self._key.public_key().public_bytes_raw())

    def _one(self, s: Stanza) -> bytes | None:
        enc = b64decode(s.args[0], "age mlkem768x25519 enc")
        if len(enc) != self._suite.kem.Nenc:
            raise AgeHeaderError(f"age mlkem768x25519 enc must be {self._suite.kem.Nenc} bytes")
        try:
            return self._suite.open(enc, self._key, _INFO, b"", s.body)
        except InvalidInput:
            raise AgeHeaderError("age mlkem768x25519 enc has a low-order X25519 part") from None
        except InvalidTag:
            return None

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first ``mlkem768x25519`` stanza that opens, else None.

        :raises AgeHeaderError: such a stanza is malformed (argument count, enc or body size,
            a low-order X25519 part).
        """
        return unwrap_matching(stanzas, STANZA_TYPE, 1, self._one)
