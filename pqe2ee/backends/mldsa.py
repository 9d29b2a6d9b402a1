"""ML-DSA keys whose arithmetic runs on the backend chain (FIPS 204).

These mirror the part of ``cryptography``'s ``MLDSA65PrivateKey``/``MLDSA65PublicKey``
that pqe2ee uses (``from_seed_bytes``, ``sign``, ``public_key``, ``from_public_bytes``,
``public_bytes_raw``, ``verify`` raising ``cryptography.exceptions.InvalidSignature``), so
a caller swaps one for the other and gains liboqs where ``PQE2EE_BACKEND=oqs`` asks for
it.  The backend is chosen once per key, when it is made.

Security: a private key is the 32-byte seed xi and every backend derives the same key
pair from it (ML-DSA.KeyGen_internal, FIPS 204 Algorithm 6), so an identity has one
public key and fingerprint whichever backend loads it.  Signatures are hedged
(Algorithm 2, fresh rnd) with the empty context; any backend's signature verifies on
every other (Algorithm 3).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from cryptography.exceptions import InvalidSignature

from pqe2ee.backends import MLDSAOps, find_mldsa

__all__ = ["MLDSA65PrivateKey", "MLDSA65PublicKey"]


class _PublicKey:
    param_set: ClassVar[str]
    __slots__ = ("_handle", "_ops", "_raw", "backend")

    def __init__(self, backend: str, ops: MLDSAOps, handle: Any, raw: bytes) -> None:
        self.backend, self._ops, self._handle, self._raw = backend, ops, handle, raw

    @classmethod
    def from_public_bytes(cls, data: bytes, backend: str | None = None) -> Self:
        """Parse a public key on ``backend`` (default: the chain's first that has it).

        :raises ValueError: the key is malformed.
        """
        name, ops = find_mldsa(cls.param_set, backend)
        return cls(name, ops, ops.load_public(bytes(data)), bytes(data))

    def public_bytes_raw(self) -> bytes:
        """The encoded public key pk (FIPS 204 Algorithm 22)."""
        return self._raw

    def verify(self, signature: bytes, data: bytes) -> None:
        """ML-DSA.Verify with the empty context.

        :raises cryptography.exceptions.InvalidSignature: it does not verify.
        """
        if not self._ops.verify(self._handle, bytes(signature), bytes(data)):
            raise InvalidSignature

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self.backend}>"


class _PrivateKey:
    param_set: ClassVar[str]
    public_cls: ClassVar[type[_PublicKey]]
    __slots__ = ("_handle", "_ops", "_pk", "backend")

    def __init__(self, backend: str, ops: MLDSAOps, handle: Any, pk: bytes) -> None:
        self.backend, self._ops, self._handle, self._pk = backend, ops, handle, pk

    @classmethod
    def from_seed_bytes(cls, seed: bytes, backend: str | None = None) -> Self:
        """ML-DSA.KeyGen_internal(seed) on ``backend`` (default: the chain's first)."""
        name, ops = find_mldsa(cls.param_set, backend)
        handle, pk = ops.load_private(bytes(seed))
        return cls(name, ops, handle, pk)

    def sign(self, data: bytes) -> bytes:
        """ML-DSA.Sign(sk, data, ctx="") (hedged)."""
        return self._ops.sign(self._handle, bytes(data))

    def public_key(self) -> _PublicKey:
        """The public key, verified on the same backend."""
        return self.public_cls(self.backend, self._ops, self._ops.load_public(self._pk), self._pk)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self.backend} (secret hidden)>"


class MLDSA65PublicKey(_PublicKey):
    """An ML-DSA-65 public key (1952 bytes)."""

    param_set = "ML-DSA-65"
    __slots__ = ()


class MLDSA65PrivateKey(_PrivateKey):
    """An ML-DSA-65 private key, held as the backend's parsed key (made from the seed)."""

    param_set = "ML-DSA-65"
    public_cls = MLDSA65PublicKey
    __slots__ = ()
