"""ML-KEM (FIPS 203), served by a backend (``cryptography`` by default, or liboqs).

Private keys are the 64-byte seed ``d || z`` (FIPS 203 §7.1, ML-KEM.KeyGen_internal),
the form that ``cryptography``, Go and the IETF drafts store.  Public keys are checked
with the §7.2 modulus check (every 12-bit coefficient of ``t̂`` below q = 3329) before
use; decapsulation rejects implicitly (§6.3), so a tampered ciphertext yields an
unrelated secret rather than an error.

Security property: IND-CCA2 under the Module-LWE assumption, believed to resist
quantum attackers (NIST security category 1 / 3 / 5 for 512 / 768 / 1024).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pqe2ee.backends import MLKEMOps, find_mlkem
from pqe2ee.exceptions import InvalidInput, UnsupportedAlgorithm
from pqe2ee.hazmat.kem._base import KEM

__all__ = ["MLKEM", "PARAMETER_SETS", "ek_modulus_ok"]

Q = 3329

#: name -> (k, public key size, ciphertext size), FIPS 203 §8 Table 2 and 3.
PARAMETER_SETS: dict[str, tuple[int, int, int]] = {
    "ML-KEM-512": (2, 800, 768),
    "ML-KEM-768": (3, 1184, 1088),
    "ML-KEM-1024": (4, 1568, 1568),
}


def _field_masks(k: int) -> tuple[int, int, int]:
    """Masks over 256*k packed 12-bit fields, taken two at a time (24-bit slots)."""
    slots = 128 * k
    low12 = sum(0xFFF << (24 * i) for i in range(slots))
    add = sum((4096 - Q) << (24 * i) for i in range(slots))
    carry = sum(1 << (24 * i + 12) for i in range(slots))
    return low12, add, carry


_MASKS = {k: _field_masks(k) for k, _, _ in PARAMETER_SETS.values()}


def ek_modulus_ok(ek: bytes, k: int) -> bool:
    """FIPS 203 §7.2 input check: ByteEncode12(ByteDecode12(t̂)) == t̂.

    Equivalently, every 12-bit little-endian coefficient packed in the first
    ``384 * k`` bytes is below q.  Done on one big integer, not per coefficient (a few
    microseconds instead of ~50): even and odd fields are spread into 24-bit slots,
    ``4096 - q`` is added to each, and a field was >= q exactly when its slot carries
    into bit 12.  Used for backends whose own parser does not check.
    """
    low12, add, carry = _MASKS[k]
    t = int.from_bytes(ek[: 384 * k], "little")
    even, odd = t & low12, (t >> 12) & low12
    return not ((even + add) & carry or (odd + add) & carry)


class MLKEM(KEM[Any, Any]):
    """One ML-KEM parameter set: pk = ek, sk = d || z (64), ss 32."""

    seed_size = private_key_size = 64
    shared_secret_size = 32
    encaps_randomness_size = 32  # the message m of ML-KEM.Encaps_internal
    mode: ClassVar[str] = "pq"
    spec: ClassVar[str] = "FIPS 203"

    def __init__(
        self, name: str, backend: str | None = None, *, ops: MLKEMOps | None = None
    ) -> None:
        """Bind ``name`` to a backend: the named one, the first in the chain that has it,
        or (for tests and experiments) an explicit :class:`~pqe2ee.backends.MLKEMOps`.

        :raises UnsupportedAlgorithm: no backend here offers ``name``.
        """
        if name not in PARAMETER_SETS:
            raise ValueError(f"unknown ML-KEM parameter set {name!r}")
        self.name = name
        self._k, self.public_key_size, self.ciphertext_size = PARAMETER_SETS[name]
        if ops is None:
            self._backend_name, self._ops = find_mlkem(name, backend)
        else:
            self._backend_name, self._ops = backend or "custom", ops

    @property
    def backend(self) -> str:
        """The backend this parameter set was bound to (``custom`` for explicit ops)."""
        return self._backend_name

    def _random_seed(self) -> bytes:
        return os.urandom(64)

    def _load_private(self, seed: bytes) -> tuple[Any, bytes]:
        return self._ops.load_private(seed)

    def _load_public(self, raw: bytes) -> Any:
        bad = InvalidInput(f"{self.name} encapsulation key fails the FIPS 203 §7.2 modulus check")
        if not self._ops.checks_modulus and not ek_modulus_ok(raw, self._k):
            raise bad
        try:
            return self._ops.load_public(raw)
        except ValueError:
            raise bad from None

    def _encapsulate(self, pub: Any) -> tuple[bytes, bytes]:
        return self._ops.encapsulate(pub)

    def _encapsulate_derand(self, pub: Any, randomness: bytes) -> tuple[bytes, bytes]:
        derand = getattr(self._ops, "encapsulate_derand", None)
        if derand is None:
            raise UnsupportedAlgorithm(
                f"{self.name} on backend {self.backend} cannot encapsulate with fixed randomness"
            )
        ss, ct = derand(pub, randomness)
        return bytes(ss), bytes(ct)

    def _decapsulate(self, priv: Any, ct: bytes) -> bytes:
        return self._ops.decapsulate(priv, ct)
