"""What a backend provides: ML-KEM and ML-DSA operations over parsed-key handles.

Classical Diffie-Hellman (X25519, P-256, P-384) and Ed25519 always run on
``cryptography``; a backend only has to supply ML-KEM (FIPS 203) and ML-DSA (FIPS 204).
Handles are opaque: whatever the backend needs to avoid re-parsing a key on every use.
"""

from __future__ import annotations

from typing import Any, Protocol


class MLKEMOps(Protocol):
    """One ML-KEM parameter set on one backend (FIPS 203)."""

    #: "ML-KEM-768" etc.
    name: str
    #: True when ``load_public`` itself enforces the FIPS 203 §7.2 modulus check.
    checks_modulus: bool

    def load_private(self, seed: bytes) -> tuple[Any, bytes]:
        """ML-KEM.KeyGen_internal(d, z) for ``seed = d || z``: ``(handle, ek)``."""
        ...

    def load_public(self, ek: bytes) -> Any:
        """Parse ``ek``; raise ``ValueError`` if the backend finds it invalid."""
        ...

    def encapsulate(self, pub: Any) -> tuple[bytes, bytes]:
        """ML-KEM.Encaps: ``(shared_secret, ciphertext)``."""
        ...

    def decapsulate(self, priv: Any, ct: bytes) -> bytes:
        """ML-KEM.Decaps (implicit rejection)."""
        ...


class MLDSAOps(Protocol):
    """One ML-DSA parameter set on one backend (FIPS 204, pure ML-DSA, empty context).

    Private keys are the 32-byte seed xi of FIPS 204 Algorithm 1: every backend must
    derive the same key pair from it (ML-DSA.KeyGen_internal(xi), Algorithm 6), so an
    identity stored as a seed has one public key whichever backend loads it.  Signing
    is the hedged variant of Algorithm 2 (fresh 32-byte rnd per signature), so two
    backends' signatures over one message differ but each verifies on the other.
    """

    #: "ML-DSA-65" etc.
    name: str

    def load_private(self, seed: bytes) -> tuple[Any, bytes]:
        """ML-DSA.KeyGen_internal(xi) for the 32-byte ``seed``: ``(handle, pk)``."""
        ...

    def load_public(self, pk: bytes) -> Any:
        """Parse ``pk``; raise ``ValueError`` if the backend finds it invalid."""
        ...

    def sign(self, priv: Any, message: bytes) -> bytes:
        """ML-DSA.Sign(sk, message, ctx="") (FIPS 204 Algorithm 2, hedged)."""
        ...

    def verify(self, pub: Any, signature: bytes, message: bytes) -> bool:
        """ML-DSA.Verify(pk, message, signature, ctx="") (Algorithm 3): True iff valid.

        A signature of the wrong length is invalid (False), never an exception.
        """
        ...


class Backend(Protocol):
    """A provider of ML-KEM and ML-DSA parameter sets."""

    name: str

    def version(self) -> str:
        """Version of the library behind it, for reports."""
        ...

    def mlkem(self, name: str) -> MLKEMOps | None:
        """The parameter set, or None if this backend lacks it."""
        ...

    def mldsa(self, name: str) -> MLDSAOps | None:
        """The parameter set, or None if this backend lacks it."""
        ...
