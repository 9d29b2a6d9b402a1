"""The default backend: pyca/cryptography (>= 48), whose wheels bundle an OpenSSL with ML-KEM.

OpenSSL's ML-KEM decodes the encapsulation key with the FIPS 203 §7.2 modulus check
(``from_public_bytes`` refuses a key with a coefficient >= q), keeps private keys in
seed form, and rejects implicitly on decapsulation.  It has no ML-KEM-512 and no way to
encapsulate with fixed randomness.

Its ML-DSA (FIPS 204) loads private keys from the 32-byte seed xi and signs hedged
(fresh randomness per signature, no way to pass rnd), with the empty context.
"""

from __future__ import annotations

from typing import Any

import cryptography
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem


class _SeededKeys:
    """Loading one parameter set's keys: private ones from their seed (ML-KEM's
    ``d || z``, ML-DSA's xi), public ones from their bytes."""

    def __init__(self, name: str, priv_cls: Any, pub_cls: Any) -> None:
        self.name = name
        self._priv_cls = priv_cls
        self._pub_cls = pub_cls

    def load_private(self, seed: bytes) -> tuple[Any, bytes]:
        key = self._priv_cls.from_seed_bytes(seed)
        return key, key.public_key().public_bytes_raw()

    def load_public(self, raw: bytes) -> Any:
        return self._pub_cls.from_public_bytes(raw)


class _MLKEM(_SeededKeys):
    checks_modulus = True

    def encapsulate(self, pub: Any) -> tuple[bytes, bytes]:
        ss, ct = pub.encapsulate()
        return ss, ct

    def decapsulate(self, priv: Any, ct: bytes) -> bytes:
        ss: bytes = priv.decapsulate(ct)
        return ss


class _MLDSA(_SeededKeys):
    def sign(self, priv: Any, message: bytes) -> bytes:
        sig: bytes = priv.sign(message)
        return sig

    def verify(self, pub: Any, signature: bytes, message: bytes) -> bool:
        try:
            pub.verify(signature, message)
        except InvalidSignature:
            return False
        return True


_SIG_SETS = {
    "ML-DSA-44": (mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey),
    "ML-DSA-65": (mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey),
    "ML-DSA-87": (mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey),
}

_SETS = {
    "ML-KEM-768": (mlkem.MLKEM768PrivateKey, mlkem.MLKEM768PublicKey),
    "ML-KEM-1024": (mlkem.MLKEM1024PrivateKey, mlkem.MLKEM1024PublicKey),
}


class CryptographyBackend:
    """ML-KEM and ML-DSA through ``cryptography``'s bundled OpenSSL."""

    name = "cryptography"

    def __init__(self) -> None:
        self._ops = {name: _MLKEM(name, *classes) for name, classes in _SETS.items()}
        self._sig_ops = {name: _MLDSA(name, *classes) for name, classes in _SIG_SETS.items()}

    def version(self) -> str:
        from cryptography.hazmat.backends.openssl import backend

        return f"cryptography {cryptography.__version__} ({backend.openssl_version_text()})"

    def mlkem(self, name: str) -> _MLKEM | None:
        return self._ops.get(name)

    def mldsa(self, name: str) -> _MLDSA | None:
        return self._sig_ops.get(name)
