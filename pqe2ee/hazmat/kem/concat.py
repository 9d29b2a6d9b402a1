"""Hybrids by concatenation, as TLS 1.3 defines them (draft-ietf-tls-ecdhe-mlkem).

The public key, ciphertext, shared secret and private key (seed form) are each the
components' values concatenated in one fixed order, which the group fixes:

- ``X25519MLKEM768`` (0x11EC): ML-KEM-768 first, then X25519.
- ``SecP256r1MLKEM768`` (0x11EB): P-256 first, then ML-KEM-768.
- ``SecP384r1MLKEM1024`` (0x11ED): P-384 first, then ML-KEM-1024.

Security property: the 64/80-byte concatenated secret stays secret while either
component holds, *provided* it is then fed into a KDF together with the transcript (as
TLS 1.3's key schedule does); on its own it is not a combined KEM secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pqe2ee.hazmat.kem._base import KEM, KEMPrivateKey, KEMPublicKey, component_errors

__all__ = ["ConcatHybridKEM"]


def _split(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    return out


class ConcatHybridKEM(KEM[tuple[KEMPublicKey, ...], tuple[KEMPrivateKey, ...]]):
    """A TLS-style hybrid: every field is the components' fields in order."""

    mode: ClassVar[str] = "hybrid"
    spec: ClassVar[str] = "draft-ietf-tls-ecdhe-mlkem §3"

    def __init__(self, name: str, components: Sequence[KEM[Any, Any]]) -> None:
        self.name = name
        self._parts = tuple(components)
        self.public_key_size = sum(c.public_key_size for c in self._parts)
        self.ciphertext_size = sum(c.ciphertext_size for c in self._parts)
        self.shared_secret_size = sum(c.shared_secret_size for c in self._parts)
        self.seed_size = self.private_key_size = sum(c.seed_size for c in self._parts)
        self.encaps_randomness_size = sum(c.encaps_randomness_size for c in self._parts)

    @property
    def components(self) -> tuple[KEM[Any, Any], ...]:
        """The component KEMs, in wire order."""
        return self._parts

    @property
    def backend(self) -> str:
        """The backend of the ML-KEM component."""
        pq = [c.backend for c in self._parts if c.mode == "pq"]
        return pq[0] if pq else "cryptography"

    def _random_seed(self) -> bytes:
        return b"".join(c._random_seed() for c in self._parts)

    def _generate(self) -> tuple[bytes, tuple[KEMPrivateKey, ...], bytes]:
        keys = tuple(c.generate() for c in self._parts)
        seed = b"".join(k.private_bytes_raw() for k in keys)
        return seed, keys, b"".join(k.public_key().public_bytes_raw() for k in keys)

    def _load_private(self, seed: bytes) -> tuple[tuple[KEMPrivateKey, ...], bytes]:
        parts = _split(seed, [c.seed_size for c in self._parts])
        with component_errors(self.name):
            keys = tuple(c.from_seed_bytes(s) for c, s in zip(self._parts, parts, strict=True))
        return keys, b"".join(k.public_key().public_bytes_raw() for k in keys)

    def _load_public(self, raw: bytes) -> tuple[KEMPublicKey, ...]:
        parts = _split(raw, [c.public_key_size for c in self._parts])
        with component_errors(self.name):
            return tuple(c.from_public_bytes(p) for c, p in zip(self._parts, parts, strict=True))

    def _encapsulate(self, pub: tuple[KEMPublicKey, ...]) -> tuple[bytes, bytes]:
        return self._encapsulate_derand(pub, None)

    def _encapsulate_derand(
        self, pub: tuple[KEMPublicKey, ...], randomness: bytes | None
    ) -> tuple[bytes, bytes]:
        sizes = [c.encaps_randomness_size for c in self._parts]
        if randomness is not None and len(randomness) != sum(sizes):
            raise ValueError(f"{self.name} encapsulation randomness must be {sum(sizes)} bytes")
        with component_errors(self.name):
            if randomness is None:
                results = [k.encapsulate() for k in pub]
            else:
                results = [
                    k.kem._encapsulate_derand(k._parsed(), r)
                    for k, r in zip(pub, _split(randomness, sizes), strict=True)
                ]
        return b"".join(r[0] for r in results), b"".join(r[1] for r in results)

    def _decapsulate(self, priv: tuple[KEMPrivateKey, ...], ct: bytes) -> bytes:
        parts = _split(ct, [c.ciphertext_size for c in self._parts])
        with component_errors(self.name):
            return b"".join(k.decapsulate(c) for k, c in zip(priv, parts, strict=True))
