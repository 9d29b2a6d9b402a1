"""The one interface every KEM in pqe2ee has, and the length checks that guard it.

A KEM here is an object describing one algorithm (sizes, name, which backend serves
it).  Keys are objects too, so that a parsed key is parsed once (parsing an ML-KEM
encapsulation key costs about as much as an encapsulation); the bytes-in, bytes-out
API of the issue (``generate_keypair``, ``derive_keypair``, ``encapsulate``,
``decapsulate``) is a thin layer on top.

Private keys are always in *seed form*: the bytes that ``derive_keypair`` takes.  For
ML-KEM that is the 64-byte ``d || z`` of FIPS 203 §7.1, for X25519 and ECDH the private
scalar, for composites the components' seeds in public-key order, for X-Wing its
32-byte seed.  So ``private_key_size == seed_size`` for every KEM.

Every length is checked before any backend sees the bytes; a wrong length raises
:class:`~pqe2ee.exceptions.InvalidInput` naming the KEM, the field and the expected
size.  Secrets never appear in a ``repr``.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, TypeVar

from pqe2ee.exceptions import InvalidInput, UnsupportedAlgorithm

__all__ = ["KEM", "KEMPrivateKey", "KEMPublicKey", "check_length", "component_errors"]

PubT = TypeVar("PubT")
PrivT = TypeVar("PrivT")


def check_length(kem_name: str, what: str, data: object, expected: int) -> bytes:
    """Return ``data`` as bytes if it is a bytes-like object of ``expected`` length.

    :raises TypeError: ``data`` is not bytes-like (misuse, not bad data).
    :raises InvalidInput: the length is wrong; the message names the KEM and the size.
    """
    if isinstance(data, bytes):
        raw = data
    elif isinstance(data, (bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise TypeError(f"{kem_name} {what} must be bytes, not {type(data).__name__}")
    if len(raw) != expected:
        raise InvalidInput(f"{kem_name} {what} must be {expected} bytes, got {len(raw)}")
    return raw


@contextmanager
def component_errors(kem_name: str) -> Iterator[None]:
    """Prefix a component's :class:`InvalidInput` with the composite KEM's name."""
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(f"{kem_name}: {exc}") from None


class KEMPublicKey:
    """A parsed, validated public (encapsulation) key of one KEM."""

    __slots__ = ("_handle", "_kem", "_raw")

    def __init__(self, kem: KEM[Any, Any], raw: bytes, handle: object = None) -> None:
        # ``handle`` is None for the public half of a private key: those bytes came from
        # a valid seed, so parsing (costly for ML-KEM: docs/performance.md) waits until first use.
        self._kem = kem
        self._raw = raw
        self._handle = handle

    def _parsed(self) -> Any:
        if self._handle is None:
            self._handle = self._kem._load_public(self._raw)
        return self._handle

    @property
    def kem(self) -> KEM[Any, Any]:
        """The KEM this key belongs to."""
        return self._kem

    def public_bytes_raw(self) -> bytes:
        """The key in the KEM's wire encoding (``kem.public_key_size`` bytes)."""
        return self._raw

    def encapsulate(self) -> tuple[bytes, bytes]:
        """Make a fresh shared secret for the holder of the private key.

        :returns: ``(shared_secret, ciphertext)``; send the ciphertext, keep the secret.
        """
        return self._kem._encapsulate(self._parsed())

    def fingerprint(self) -> str:
        """SHA-256 of the raw key, hex: safe to log, names the key."""
        return hashlib.sha256(self._raw).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KEMPublicKey):
            return NotImplemented
        return self._kem.name == other._kem.name and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash((self._kem.name, self._raw))

    def __repr__(self) -> str:
        return f"<KEMPublicKey {self._kem.name} sha256:{self.fingerprint()[:16]}>"


class KEMPrivateKey:
    """A private (decapsulation) key of one KEM, with its public key.

    The seed stays inside; only :meth:`private_bytes_raw` hands it out, for storage.
    """

    __slots__ = ("_handle", "_kem", "_public", "_seed")

    def __init__(self, kem: KEM[Any, Any], seed: bytes, handle: object, public: KEMPublicKey):
        self._kem = kem
        self._seed = seed
        self._handle = handle
        self._public = public

    @property
    def kem(self) -> KEM[Any, Any]:
        """The KEM this key belongs to."""
        return self._kem

    def public_key(self) -> KEMPublicKey:
        """The matching public key."""
        return self._public

    def private_bytes_raw(self) -> bytes:
        """The private key in seed form (``kem.private_key_size`` bytes).  Keep it secret."""
        return self._seed

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """Recover the shared secret from a ciphertext made for this key.

        ML-KEM rejects implicitly (FIPS 203 §6.3): a tampered ciphertext of the right
        length gives an unrelated secret, not an error; authentication happens later.

        :raises InvalidInput: wrong ciphertext length, or an invalid or all-zero
            Diffie-Hellman component.
        """
        ct = check_length(self._kem.name, "ciphertext", ciphertext, self._kem.ciphertext_size)
        return self._kem._decapsulate(self._handle, ct)

    def __repr__(self) -> str:
        return f"<KEMPrivateKey {self._kem.name} (secret hidden)>"


class KEM(abc.ABC, Generic[PubT, PrivT]):
    """One key-encapsulation mechanism.  Subclasses fill in the ``_`` methods.

    ``PubT`` and ``PrivT`` are the backend's parsed-key types, opaque to callers.
    """

    name: str
    public_key_size: int
    private_key_size: int
    ciphertext_size: int
    shared_secret_size: int
    seed_size: int
    #: ``"classical"``, ``"pq"`` or ``"hybrid"``: what the key exchange rests on.
    mode: ClassVar[str]
    #: Where the byte layout is defined.
    spec: ClassVar[str]
    #: Bytes of randomness one encapsulation consumes (for known-answer tests).
    encaps_randomness_size: int

    @property
    @abc.abstractmethod
    def backend(self) -> str:
        """Name of the backend that does the post-quantum (or only) part."""

    # --- what a subclass provides ------------------------------------------------
    @abc.abstractmethod
    def _random_seed(self) -> bytes:
        """A fresh, uniformly chosen valid seed."""

    @abc.abstractmethod
    def _load_private(self, seed: bytes) -> tuple[PrivT, bytes]:
        """Expand a seed of the right length: ``(handle, public key bytes)``."""

    @abc.abstractmethod
    def _load_public(self, raw: bytes) -> PubT:
        """Parse and validate public key bytes of the right length."""

    @abc.abstractmethod
    def _encapsulate(self, pub: PubT) -> tuple[bytes, bytes]:
        """``(shared_secret, ciphertext)`` for a parsed public key."""

    @abc.abstractmethod
    def _decapsulate(self, priv: PrivT, ct: bytes) -> bytes:
        """The shared secret for a ciphertext of the right length."""

    def _encapsulate_derand(self, pub: PubT, randomness: bytes) -> tuple[bytes, bytes]:
        raise UnsupportedAlgorithm(
            f"{self.name} on backend {self.backend} cannot encapsulate with fixed randomness"
        )

    # --- the object API ----------------------------------------------------------
    def _generate(self) -> tuple[bytes, PrivT, bytes]:
        """``(seed, handle, public key bytes)`` of a fresh key; override when a backend
        can make a key more cheaply than by expanding a random seed."""
        seed = self._random_seed()
        handle, pub_raw = self._load_private(seed)
        return seed, handle, pub_raw

    def generate(self) -> KEMPrivateKey:
        """A new random private key."""
        seed, handle, pub_raw = self._generate()
        return KEMPrivateKey(self, seed, handle, KEMPublicKey(self, pub_raw))

    def from_seed_bytes(self, seed: bytes) -> KEMPrivateKey:
        """The private key for a seed (deterministic; see the module doc for the form).

        :raises InvalidInput: wrong length, or a scalar out of range for ECDH.
        """
        raw = check_length(self.name, "seed", seed, self.seed_size)
        handle, pub_raw = self._load_private(raw)
        return KEMPrivateKey(self, raw, handle, KEMPublicKey(self, pub_raw))

    def from_public_bytes(self, public_key: bytes) -> KEMPublicKey:
        """Parse and validate a public key.

        :raises InvalidInput: wrong length, an ML-KEM key failing the FIPS 203 §7.2
            modulus check, or a point not on the curve.
        """
        raw = check_length(self.name, "public key", public_key, self.public_key_size)
        return KEMPublicKey(self, raw, self._load_public(raw))

    # --- the bytes API -----------------------------------------------------------
    def generate_keypair(self) -> tuple[bytes, bytes]:
        """``(public_key, private_key)`` as bytes, freshly random."""
        key = self.generate()
        return key.public_key().public_bytes_raw(), key.private_bytes_raw()

    def derive_keypair(self, seed: bytes) -> tuple[bytes, bytes]:
        """``(public_key, private_key)`` derived from ``seed`` (``seed_size`` bytes)."""
        key = self.from_seed_bytes(seed)
        return key.public_key().public_bytes_raw(), key.private_bytes_raw()

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        """``(shared_secret, ciphertext)`` for a public key given as bytes."""
        return self.from_public_bytes(public_key).encapsulate()

    def decapsulate(self, private_key: bytes, ciphertext: bytes) -> bytes:
        """The shared secret for ``ciphertext`` under a private key given as bytes."""
        return self.from_seed_bytes(private_key).decapsulate(ciphertext)

    def encapsulate_derand_for_testing_only(
        self, public_key: bytes, randomness: bytes
    ) -> tuple[bytes, bytes]:
        """Encapsulate with caller-chosen randomness, to replay known-answer vectors.

        Never use this outside tests: reusing randomness reveals the shared secret.

        :raises UnsupportedAlgorithm: the backend cannot take fixed randomness.
        """
        pub = self.from_public_bytes(public_key)
        return self._encapsulate_derand(pub._parsed(), bytes(randomness))

    def __repr__(self) -> str:
        return f"<KEM {self.name} ({self.mode}, backend {self.backend})>"
