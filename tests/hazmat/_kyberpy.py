"""A test-only ML-KEM backend over kyber-py, an independent pure-Python FIPS 203.

It serves two purposes the production backends cannot: it encapsulates with fixed
randomness (so the known-answer encapsulation vectors run through pqe2ee's own KEM
code), and it is a second, unrelated implementation to cross-check against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

from kyber_py.ml_kem import ML_KEM_512, ML_KEM_768, ML_KEM_1024

_IMPLS = {"ML-KEM-512": ML_KEM_512, "ML-KEM-768": ML_KEM_768, "ML-KEM-1024": ML_KEM_1024}


class KyberPyOps:
    checks_modulus = False  # kyber-py checks only inside encaps

    def __init__(self, name: str) -> None:
        self.name = name
        self._impl = _IMPLS[name]

    def load_private(self, seed: bytes) -> tuple[Any, bytes]:
        ek, dk = self._impl.key_derive(seed)
        return dk, ek

    def load_public(self, ek: bytes) -> Any:
        return ek

    def encapsulate(self, pub: Any) -> tuple[bytes, bytes]:
        k, c = self._impl.encaps(pub)
        return k, c

    def encapsulate_derand(self, pub: Any, m: bytes) -> tuple[bytes, bytes]:
        k, c = self._impl._encaps_internal(pub, m)
        return k, c

    def decapsulate(self, priv: Any, ct: bytes) -> bytes:
        k: bytes = self._impl.decaps(priv, ct)
        return k

    def decapsulate_expanded(self, dk: bytes, ct: bytes) -> bytes:
        k: bytes = self._impl.decaps(dk, ct)
        return k


def kyberpy_mlkem(name: str) -> Any:
    """An :class:`~pqe2ee.hazmat.kem.mlkem.MLKEM` running on kyber-py."""
    from pqe2ee.hazmat.kem.mlkem import MLKEM

    return MLKEM(name, "kyber-py", ops=KyberPyOps(name))


@contextlib.contextmanager
def kem_identities_on_kyberpy() -> Iterator[None]:
    """While inside, ``kem`` identities encapsulate with X-Wing over kyber-py, which
    takes fixed randomness (the known-answer transcripts and the fuzz seeds need it; the
    default backend refuses it).  Decapsulation is unchanged."""
    from pqe2ee.handshake import identity
    from pqe2ee.hazmat.kem import get_kem
    from pqe2ee.hazmat.kem.xwing import XWingKEM

    oracle = XWingKEM(kyberpy_mlkem("ML-KEM-768"))

    def pick(name: str, **kwargs: Any) -> Any:
        return oracle if name == "X-Wing" else get_kem(name, **kwargs)

    with mock.patch.object(identity, "get_kem", pick):
        yield
