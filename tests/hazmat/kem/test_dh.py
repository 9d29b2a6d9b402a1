"""X25519 and ECDH used as KEMs: Wycheproof X25519 and the TLS encodings of P-256/P-384.

Wycheproof ``x25519_test.json`` (C2SP/wycheproof, Apache-2.0): every valid and
"acceptable" case must give the listed shared secret, except the all-zero results
(flag ZeroSharedSecret), which pqe2ee refuses as TLS 1.3 and age do.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pqe2ee.exceptions import InvalidInput
from pqe2ee.hazmat.kem import get_kem
from tests.conftest import VECTORS, wycheproof_cases

X25519_CASES = [
    pytest.param(case, id=tid)
    for tid, case in wycheproof_cases(VECTORS / "wycheproof" / "x25519_test.json")
]


@pytest.mark.parametrize("case", X25519_CASES)
def test_wycheproof_x25519(case: dict[str, Any]) -> None:
    kem = get_kem("X25519")
    private, public = bytes.fromhex(case["private"]), bytes.fromhex(case["public"])
    assert case["result"] in ("valid", "acceptable")  # the file has no "invalid" case
    if "ZeroSharedSecret" in case["flags"]:
        assert case["shared"] == "00" * 32
        with pytest.raises(InvalidInput, match="low-order point"):
            kem.decapsulate(private, public)
        with pytest.raises(InvalidInput, match="low-order point"):
            kem.encapsulate(public)
    else:
        assert kem.decapsulate(private, public).hex() == case["shared"]


def test_x25519_encapsulation_matches_exchange() -> None:
    kem = get_kem("X25519")
    key = kem.generate()
    ss, ct = key.public_key().encapsulate()
    assert key.decapsulate(ct) == ss
    # the ciphertext is the ephemeral public key: the exchange from the other side agrees
    eph_seed = bytes(range(1, 33))
    ss2, ct2 = kem.encapsulate_derand_for_testing_only(
        key.public_key().public_bytes_raw(), eph_seed
    )
    assert ct2 == kem.derive_keypair(eph_seed)[0]
    assert key.decapsulate(ct2) == ss2


@pytest.mark.parametrize(("name", "curve"), [("P-256", ec.SECP256R1()), ("P-384", ec.SECP384R1())])
def test_ecdh_against_cryptography(name: str, curve: ec.EllipticCurve) -> None:
    kem = get_kem(name)
    size = (curve.key_size + 7) // 8
    priv = ec.generate_private_key(curve)
    seed = priv.private_numbers().private_value.to_bytes(size, "big")
    pk, sk = kem.derive_keypair(seed)
    assert sk == seed
    assert pk == priv.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    ss, ct = kem.encapsulate(pk)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, ct)
    assert priv.exchange(ec.ECDH(), peer) == ss
    assert kem.decapsulate(sk, ct) == ss


@pytest.mark.parametrize("name", ["P-256", "P-384"])
def test_ecdh_bad_points_and_scalars(name: str) -> None:
    kem = get_kem(name)
    size = kem.seed_size
    pk, sk = kem.generate_keypair()
    off_curve = bytearray(pk)
    off_curve[-1] ^= 1
    with pytest.raises(InvalidInput, match=f"{name} point is not on the curve"):
        kem.encapsulate(bytes(off_curve))
    with pytest.raises(InvalidInput, match=f"{name} point is not on the curve"):
        kem.decapsulate(sk, bytes(off_curve))
    compressed = b"\x02" + pk[1 : 1 + size] + pk[1 + size :]
    with pytest.raises(InvalidInput, match="uncompressed"):
        kem.encapsulate(compressed)
    with pytest.raises(InvalidInput, match="uncompressed"):
        kem.encapsulate(bytes(len(pk)))  # encoding of the point at infinity is refused
    order = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}[name]
    n = {
        "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        "P-384": int(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
            "581A0DB248B0A77AECEC196ACCC52973",
            16,
        ),
    }[name]
    assert order.key_size == size * 8
    for bad in (0, n, n + 1, 2 ** (8 * size) - 1):
        with pytest.raises(InvalidInput, match=f"{name} private scalar"):
            kem.derive_keypair(bad.to_bytes(size, "big"))
    kem.derive_keypair((n - 1).to_bytes(size, "big"))  # the largest valid scalar
