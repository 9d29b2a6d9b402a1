"""X-Wing: the general-purpose hybrid KEM of draft-connolly-cfrg-xwing-kem-10.

Also registered for HPKE as MLKEM768-X25519 (KEM id 0x647a, draft-ietf-hpke-pq) and
used by age's ``mlkem768x25519`` recipients.  Byte layout (draft §5):

- private key: a 32-byte seed; ``SHAKE256(seed, 96)`` gives ML-KEM-768's ``d`` and
  ``z`` (bytes 0..63) and the X25519 secret (64..95);
- public key ``pk_M || pk_X`` (1184 + 32), ciphertext ``ct_M || ct_X`` (1088 + 32);
- shared secret ``SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel)``, the label
  ``\\.//^\\`` (hex 5c2e2f2f5e5c) last.

Security property: IND-CCA2 if either ML-KEM-768 is IND-CCA2 or X25519 gives
strong-DH (the X-Wing paper, eprint 2024/039); the combiner binds the X25519
ciphertext and public key, and relies on ML-KEM's ciphertext binding for the rest.
Like Go's implementation (and as age's testkit expects), an X25519 half that gives an
all-zero secret is refused rather than hashed.
"""

from __future__ import annotations

import hashlib
import os
from typing import ClassVar

from pqe2ee.hazmat.kem._base import KEM, KEMPrivateKey, KEMPublicKey, component_errors
from pqe2ee.hazmat.kem.dh import X25519KEM
from pqe2ee.hazmat.kem.mlkem import MLKEM

__all__ = ["XWING_LABEL", "XWingKEM", "combiner"]

XWING_LABEL = b"\\.//^\\"

_Pub = tuple[KEMPublicKey, KEMPublicKey]
_Priv = tuple[KEMPrivateKey, KEMPrivateKey]


def combiner(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    """The X-Wing combiner (draft §5.3): SHA3-256 over the inputs, label last."""
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


class XWingKEM(KEM[_Pub, _Priv]):
    """X-Wing over an ML-KEM-768 (any backend) and ``cryptography``'s X25519."""

    name = "X-Wing"
    public_key_size = 1216
    ciphertext_size = 1120
    shared_secret_size = 32
    seed_size = private_key_size = 32
    encaps_randomness_size = 64  # ML-KEM m (32) || X25519 ephemeral secret (32)
    mode: ClassVar[str] = "hybrid"
    spec: ClassVar[str] = "draft-connolly-cfrg-xwing-kem-10 §5"

    def __init__(self, mlkem: MLKEM | None = None) -> None:
        self._mlkem = mlkem if mlkem is not None else MLKEM("ML-KEM-768")
        if self._mlkem.name != "ML-KEM-768":
            raise ValueError("X-Wing is defined over ML-KEM-768 only")
        self._x25519 = X25519KEM()

    @property
    def backend(self) -> str:
        """The backend of the ML-KEM-768 half (X25519 is always ``cryptography``)."""
        return self._mlkem.backend

    def _random_seed(self) -> bytes:
        return os.urandom(32)

    def _load_private(self, seed: bytes) -> tuple[_Priv, bytes]:
        expanded = hashlib.shake_256(seed).digest(96)
        sk_m = self._mlkem.from_seed_bytes(expanded[:64])
        sk_x = self._x25519.from_seed_bytes(expanded[64:])
        pk = sk_m.public_key().public_bytes_raw() + sk_x.public_key().public_bytes_raw()
        return (sk_m, sk_x), pk

    def _load_public(self, raw: bytes) -> _Pub:
        with component_errors(self.name):
            return self._mlkem.from_public_bytes(raw[:1184]), self._x25519.from_public_bytes(
                raw[1184:]
            )

    def _encapsulate(self, pub: _Pub) -> tuple[bytes, bytes]:
        pk_m, pk_x = pub
        ss_m, ct_m = pk_m.encapsulate()
        with component_errors(self.name):
            return self._finish(ss_m, ct_m, pk_x, *pk_x.encapsulate())

    def _encapsulate_derand(self, pub: _Pub, randomness: bytes) -> tuple[bytes, bytes]:
        if len(randomness) != 64:
            raise ValueError("X-Wing encapsulation randomness must be 64 bytes")
        pk_m, pk_x = pub
        ss_m, ct_m = self._mlkem._encapsulate_derand(pk_m._parsed(), randomness[:32])
        with component_errors(self.name):
            ss_x, ct_x = self._x25519._encapsulate_derand(pk_x._parsed(), randomness[32:])
        return self._finish(ss_m, ct_m, pk_x, ss_x, ct_x)

    def _finish(
        self, ss_m: bytes, ct_m: bytes, pk_x: KEMPublicKey, ss_x: bytes, ct_x: bytes
    ) -> tuple[bytes, bytes]:
        return combiner(ss_m, ss_x, ct_x, pk_x.public_bytes_raw()), ct_m + ct_x

    def _decapsulate(self, priv: _Priv, ct: bytes) -> bytes:
        sk_m, sk_x = priv
        ct_m, ct_x = ct[:1088], ct[1088:]
        ss_m = sk_m.decapsulate(ct_m)
        with component_errors(self.name):
            ss_x = sk_x.decapsulate(ct_x)
        return combiner(ss_m, ss_x, ct_x, sk_x.public_key().public_bytes_raw())
