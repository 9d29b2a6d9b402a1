"""X-Wing against draft-connolly-cfrg-xwing-kem-10's vectors and its X.509 example keys.

The draft's three vectors cover key generation from the seed, decapsulation, and
encapsulation with fixed randomness (``eseed`` = ML-KEM's m || the X25519 ephemeral
secret).  ``cryptography`` cannot take fixed randomness, so the encapsulation vector runs
through pqe2ee's X-Wing code over the kyber-py ML-KEM oracle; the cryptography-backed
X-Wing is checked on the other two and against an independent composition.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from pqe2ee.exceptions import InvalidInput
from pqe2ee.hazmat.kem import get_kem
from pqe2ee.hazmat.kem.xwing import XWING_LABEL, XWingKEM
from tests.backends.loadable import mlkem_derand_providers, mlkem_on_backends
from tests.conftest import VECTORS, load_json
from tests.hazmat._kyberpy import kyberpy_mlkem

XW = VECTORS / "xwing"
CASES = [
    pytest.param(v, id=f"vector{i}") for i, v in enumerate(load_json(XW / "test-vectors.json"))
]


def _hex(case: dict[str, str], key: str) -> bytes:
    return bytes.fromhex(case[key])


@pytest.fixture(params=mlkem_on_backends())
def xwing(request: pytest.FixtureRequest) -> Any:
    return get_kem("X-Wing", backend=request.param)


@pytest.mark.parametrize("case", CASES)
def test_keys_from_seed(case: dict[str, str], xwing: Any) -> None:
    pk, sk = xwing.derive_keypair(_hex(case, "seed"))
    assert pk == _hex(case, "pk")
    assert sk == _hex(case, "sk")


@pytest.mark.parametrize("case", CASES)
def test_decapsulation(case: dict[str, str], xwing: Any) -> None:
    assert xwing.decapsulate(_hex(case, "sk"), _hex(case, "ct")) == _hex(case, "ss")


@pytest.mark.parametrize("provider", mlkem_derand_providers())
@pytest.mark.parametrize("case", CASES)
def test_encapsulation_with_fixed_randomness(case: dict[str, str], provider: str) -> None:
    """On the kyber-py oracle and on each backend that encapsulates with given m."""
    if provider == "kyber-py":
        kem: Any = XWingKEM(kyberpy_mlkem("ML-KEM-768"))
    else:
        kem = get_kem("X-Wing", backend=provider)
    ss, ct = kem.encapsulate_derand_for_testing_only(_hex(case, "pk"), _hex(case, "eseed"))
    assert ct == _hex(case, "ct")
    assert ss == _hex(case, "ss")


@pytest.mark.parametrize("case", CASES)
def test_independent_composition(case: dict[str, str]) -> None:
    """Rebuild the vector from cryptography's ML-KEM and X25519 and the draft's formulas."""
    expanded = hashlib.shake_256(_hex(case, "seed")).digest(96)
    sk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    sk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    pk_x = sk_x.public_key().public_bytes_raw()
    assert _hex(case, "pk") == sk_m.public_key().public_bytes_raw() + pk_x
    ct = _hex(case, "ct")
    ss_m = sk_m.decapsulate(ct[:1088])
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct[1088:]))
    ss = hashlib.sha3_256(ss_m + ss_x + ct[1088:] + pk_x + bytes.fromhex("5c2e2f2f5e5c")).digest()
    assert ss == _hex(case, "ss")
    assert bytes.fromhex("5c2e2f2f5e5c") == XWING_LABEL


def _pem_body(path: str) -> bytes:
    lines = (XW / path).read_text().splitlines()
    return base64.b64decode("".join(line for line in lines if not line.startswith("-----")))


def test_x509_example_keys() -> None:
    """The draft's PKCS#8 / SPKI example: seed 00..1f, and the SPKI ends with its pk."""
    priv, pub = _pem_body("xwing.priv"), _pem_body("xwing.pub")
    seed = bytes(range(32))
    assert priv.endswith(seed)
    pk, _ = get_kem("X-Wing").derive_keypair(seed)
    assert pub.endswith(pk)


def test_round_trip_across_implementations() -> None:
    """Encapsulate on one ML-KEM implementation, decapsulate on the other, both ways."""
    prod, oracle = get_kem("X-Wing"), XWingKEM(kyberpy_mlkem("ML-KEM-768"))
    for enc, dec in ((prod, oracle), (oracle, prod)):
        pk, sk = dec.generate_keypair()
        ss, ct = enc.encapsulate(pk)
        assert dec.decapsulate(sk, ct) == ss


def test_all_zero_x25519_half_is_refused(xwing: Any) -> None:
    pk, sk = xwing.generate_keypair()
    _, ct = xwing.encapsulate(pk)
    bad_ct = ct[:1088] + bytes(32)  # the identity point: X25519 output is all zeros
    with pytest.raises(InvalidInput, match="X-Wing: X25519 peer value is a low-order point"):
        xwing.decapsulate(sk, bad_ct)
    with pytest.raises(InvalidInput, match="X-Wing"):
        xwing.encapsulate(pk[:1184] + bytes(32))


def test_tampered_ciphertext_changes_secret(xwing: Any) -> None:
    """Implicit rejection: a flipped bit in either half gives a different secret, no error."""
    pk, sk = xwing.generate_keypair()
    ss, ct = xwing.encapsulate(pk)
    for pos in (0, 1087, 1088 + 5):
        flipped = bytearray(ct)
        flipped[pos] ^= 1
        assert xwing.decapsulate(sk, bytes(flipped)) != ss
