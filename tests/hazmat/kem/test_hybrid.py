"""The TLS hybrids' byte layouts, rebuilt from components made directly with cryptography.

draft-ietf-tls-ecdhe-mlkem §3: X25519MLKEM768 puts ML-KEM first; SecP256r1MLKEM768 and
SecP384r1MLKEM1024 put the ECDH share first.  Shared secrets concatenate in the same
order.  Private keys are the components' seeds in public-key order.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519

from pqe2ee.exceptions import UnsupportedAlgorithm
from pqe2ee.hazmat.kem import get_kem
from tests.backends.loadable import mlkem_on_backends
from tests.hazmat._kyberpy import kyberpy_mlkem

UNCOMPRESSED = (serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _ec_seed(curve: ec.EllipticCurve) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(curve)
    return key, key.private_numbers().private_value.to_bytes((curve.key_size + 7) // 8, "big")


@pytest.fixture(params=mlkem_on_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_x25519mlkem768_layout(backend: str) -> None:
    kem = get_kem("X25519MLKEM768", backend=backend)
    m_seed, x_seed = os.urandom(64), os.urandom(32)
    sk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(m_seed)
    sk_x = x25519.X25519PrivateKey.from_private_bytes(x_seed)
    pk, sk = kem.derive_keypair(m_seed + x_seed)
    assert sk == m_seed + x_seed
    assert pk == sk_m.public_key().public_bytes_raw() + sk_x.public_key().public_bytes_raw()

    # encapsulate with pqe2ee, decapsulate each half directly
    ss, ct = kem.encapsulate(pk)
    assert (len(pk), len(ct), len(ss)) == (1216, 1120, 64)
    ss_m = sk_m.decapsulate(ct[:1088])
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct[1088:]))
    assert ss == ss_m + ss_x

    # encapsulate directly, decapsulate with pqe2ee
    ss_m2, ct_m2 = sk_m.public_key().encapsulate()
    eph = x25519.X25519PrivateKey.generate()
    ct2 = ct_m2 + eph.public_key().public_bytes_raw()
    assert kem.decapsulate(sk, ct2) == ss_m2 + eph.exchange(sk_x.public_key())


@pytest.mark.parametrize(
    ("name", "curve", "mlkem_cls", "sizes"),
    [
        ("SecP256r1MLKEM768", ec.SECP256R1(), mlkem.MLKEM768PrivateKey, (1249, 1153, 64)),
        ("SecP384r1MLKEM1024", ec.SECP384R1(), mlkem.MLKEM1024PrivateKey, (1665, 1665, 80)),
    ],
)
def test_secp_hybrid_layout(
    name: str, curve: ec.EllipticCurve, mlkem_cls: Any, sizes: tuple[int, int, int], backend: str
) -> None:
    kem = get_kem(name, backend=backend)
    ec_key, ec_seed = _ec_seed(curve)
    m_seed = os.urandom(64)
    sk_m = mlkem_cls.from_seed_bytes(m_seed)
    point = ec_key.public_key().public_bytes(*UNCOMPRESSED)
    pk, sk = kem.derive_keypair(ec_seed + m_seed)
    assert sk == ec_seed + m_seed
    assert pk == point + sk_m.public_key().public_bytes_raw()

    ss, ct = kem.encapsulate(pk)
    assert (len(pk), len(ct), len(ss)) == sizes
    n = len(point)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, ct[:n])
    assert ss == ec_key.exchange(ec.ECDH(), peer) + sk_m.decapsulate(ct[n:])

    eph = ec.generate_private_key(curve)
    ss_m2, ct_m2 = sk_m.public_key().encapsulate()
    ct2 = eph.public_key().public_bytes(*UNCOMPRESSED) + ct_m2
    assert kem.decapsulate(sk, ct2) == eph.exchange(ec.ECDH(), ec_key.public_key()) + ss_m2


@pytest.mark.parametrize("size", ["512", "768", "1024"])
def test_mlkem_cross_implementation(size: str, backend: str) -> None:
    """Encapsulate on one ML-KEM implementation, decapsulate on kyber-py, and back."""
    try:
        prod = get_kem(f"ML-KEM-{size}", backend=backend)
    except UnsupportedAlgorithm:
        pytest.skip(f"declared skip: backend {backend} has no ML-KEM-{size}")
    oracle = kyberpy_mlkem(f"ML-KEM-{size}")
    for _ in range(3):
        seed = os.urandom(64)
        assert prod.derive_keypair(seed) == oracle.derive_keypair(seed)
        for enc, dec in ((prod, oracle), (oracle, prod)):
            ss, ct = enc.encapsulate(dec.derive_keypair(seed)[0])
            assert dec.decapsulate(seed, ct) == ss
        # implicit rejection agrees too: a random ciphertext decapsulates to the same value
        junk = os.urandom(prod.ciphertext_size)
        assert prod.decapsulate(seed, junk) == oracle.decapsulate(seed, junk)
