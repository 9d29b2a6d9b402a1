"""Diffie-Hellman used as a KEM: X25519 (RFC 7748) and ECDH over P-256 / P-384.

Encapsulation makes an ephemeral key pair; the ciphertext is its public value and the
shared secret is the raw DH output (for ECDH the x-coordinate, as TLS 1.3 uses it,
RFC 8446 §7.4.2).  These are the classical halves of the hybrids and the
``classical`` baseline of the benchmarks.

Security property: IND-CCA only in the gap-DH sense and only against classical
attackers; a quantum computer breaks it.  An X25519 peer value that is low-order (an
all-zero output, RFC 7748 §6.1) and an ECDH point that is not on the curve are refused
with :class:`~pqe2ee.exceptions.InvalidInput`, as TLS 1.3 and SSH require.
"""

from __future__ import annotations

import os
from typing import ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from pqe2ee.exceptions import InvalidInput
from pqe2ee.hazmat.kem._base import KEM

__all__ = ["ECDHKEM", "X25519KEM"]


class X25519KEM(KEM[x25519.X25519PublicKey, x25519.X25519PrivateKey]):
    """X25519 as a KEM: pk 32, ct 32 (ephemeral public key), ss 32 (raw output)."""

    name = "X25519"
    public_key_size = private_key_size = seed_size = 32
    ciphertext_size = shared_secret_size = 32
    encaps_randomness_size = 32
    mode: ClassVar[str] = "classical"
    spec: ClassVar[str] = "RFC 7748 §6.1 (DH as KEM)"

    @property
    def backend(self) -> str:
        """Always ``cryptography``: the only Diffie-Hellman provider."""
        return "cryptography"

    def _random_seed(self) -> bytes:
        return os.urandom(32)

    def _load_private(self, seed: bytes) -> tuple[x25519.X25519PrivateKey, bytes]:
        key = x25519.X25519PrivateKey.from_private_bytes(seed)
        return key, key.public_key().public_bytes_raw()

    def _load_public(self, raw: bytes) -> x25519.X25519PublicKey:
        return x25519.X25519PublicKey.from_public_bytes(raw)

    def _exchange(self, priv: x25519.X25519PrivateKey, pub: x25519.X25519PublicKey) -> bytes:
        try:
            return priv.exchange(pub)
        except ValueError:
            raise InvalidInput(
                "X25519 peer value is a low-order point (all-zero shared secret)"
            ) from None

    def _encapsulate(self, pub: x25519.X25519PublicKey) -> tuple[bytes, bytes]:
        return self._encapsulate_derand(pub, os.urandom(32))

    def _encapsulate_derand(
        self, pub: x25519.X25519PublicKey, randomness: bytes
    ) -> tuple[bytes, bytes]:
        eph = x25519.X25519PrivateKey.from_private_bytes(randomness)
        return self._exchange(eph, pub), eph.public_key().public_bytes_raw()

    def _decapsulate(self, priv: x25519.X25519PrivateKey, ct: bytes) -> bytes:
        return self._exchange(priv, x25519.X25519PublicKey.from_public_bytes(ct))


class ECDHKEM(KEM[ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey]):
    """ECDH over a NIST curve as a KEM, in TLS 1.3's encoding.

    pk and ct: the uncompressed X9.62 point ``04 || x || y``; ss: the x-coordinate;
    private key / seed: the big-endian scalar, which must lie in [1, n-1].
    """

    mode: ClassVar[str] = "classical"
    spec: ClassVar[str] = "RFC 8446 §4.2.8.2, §7.4.2; SEC 1 §2.3.3"

    def __init__(self, name: str, curve: ec.EllipticCurve) -> None:
        self.name = name
        self._curve = curve
        size = (curve.key_size + 7) // 8
        self.seed_size = self.private_key_size = self.shared_secret_size = size
        self.encaps_randomness_size = size
        self.public_key_size = self.ciphertext_size = 1 + 2 * size

    @property
    def backend(self) -> str:
        """Always ``cryptography``: the only Diffie-Hellman provider."""
        return "cryptography"

    def _random_seed(self) -> bytes:
        return self._generate()[0]

    def _generate(self) -> tuple[bytes, ec.EllipticCurvePrivateKey, bytes]:
        key = ec.generate_private_key(self._curve)
        seed = key.private_numbers().private_value.to_bytes(self.seed_size, "big")
        return seed, key, self._encode(key.public_key())

    def _load_private(self, seed: bytes) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        try:
            key = ec.derive_private_key(int.from_bytes(seed, "big"), self._curve)
        except ValueError:
            raise InvalidInput(
                f"{self.name} private scalar is zero or not below the group order"
            ) from None
        return key, self._encode(key.public_key())

    def _encode(self, pub: ec.EllipticCurvePublicKey) -> bytes:
        return pub.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def _load_public(self, raw: bytes) -> ec.EllipticCurvePublicKey:
        if raw[0] != 0x04:
            raise InvalidInput(f"{self.name} point must be uncompressed (first byte 0x04)")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(self._curve, raw)
        except ValueError:
            raise InvalidInput(f"{self.name} point is not on the curve") from None

    def _encapsulate(self, pub: ec.EllipticCurvePublicKey) -> tuple[bytes, bytes]:
        eph = ec.generate_private_key(self._curve)
        return eph.exchange(ec.ECDH(), pub), self._encode(eph.public_key())

    def _encapsulate_derand(
        self, pub: ec.EllipticCurvePublicKey, randomness: bytes
    ) -> tuple[bytes, bytes]:
        eph, eph_raw = self._load_private(randomness)
        return eph.exchange(ec.ECDH(), pub), eph_raw

    def _decapsulate(self, priv: ec.EllipticCurvePrivateKey, ct: bytes) -> bytes:
        return priv.exchange(ec.ECDH(), self._load_public(ct))
