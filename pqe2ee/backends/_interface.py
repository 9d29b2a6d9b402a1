"""What a KEM backend provides: ML-KEM operations over parsed-key handles.

Classical Diffie-Hellman (X25519, P-256, P-384) always runs on ``cryptography``; a
backend only has to supply ML-KEM.  Handles are opaque: whatever the backend needs to
avoid re-parsing a key on every use.
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


class Backend(Protocol):
    """A provider of ML-KEM parameter sets."""

    name: str

    def version(self) -> str:
        """Version of the library behind it, for reports."""
        ...

    def mlkem(self, name: str) -> MLKEMOps | None:
        """The parameter set, or None if this backend lacks it."""
        ...
