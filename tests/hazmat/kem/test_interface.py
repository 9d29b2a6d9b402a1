"""The interface every KEM shares: round trips, determinism, and bad input.

Every wrong length raises InvalidInput naming the KEM, the field and the expected
size; wrong types raise TypeError; secrets never show in a repr.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pqe2ee import InvalidInput, Pqe2eeError
from pqe2ee.hazmat.kem import REGISTRY, available_kems, get_kem, kem_names

USABLE = [row.name for row in available_kems() if row.available]
SIZES = {
    "X25519": (32, 32, 32, 32),
    "P-256": (65, 32, 65, 32),
    "P-384": (97, 48, 97, 48),
    "ML-KEM-768": (1184, 64, 1088, 32),
    "ML-KEM-1024": (1568, 64, 1568, 32),
    "X25519MLKEM768": (1216, 96, 1120, 64),
    "SecP256r1MLKEM768": (1249, 96, 1153, 64),
    "SecP384r1MLKEM1024": (1665, 112, 1665, 80),
    "X-Wing": (1216, 32, 1120, 32),
}


def test_every_required_kem_is_usable_on_the_default_backend() -> None:
    assert set(SIZES) <= set(USABLE)


@pytest.mark.parametrize("name", list(SIZES))
def test_sizes(name: str) -> None:
    kem = get_kem(name)
    pk, sk = kem.generate_keypair()
    ss, ct = kem.encapsulate(pk)
    assert (len(pk), len(sk), len(ct), len(ss)) == SIZES[name]
    assert (kem.public_key_size, kem.private_key_size, kem.ciphertext_size) == (
        len(pk),
        len(sk),
        len(ct),
    )
    assert kem.seed_size == kem.private_key_size
    assert kem.shared_secret_size == len(ss)


@pytest.mark.parametrize("name", USABLE)
def test_round_trip_and_determinism(name: str) -> None:
    kem = get_kem(name)
    pk, sk = kem.generate_keypair()
    assert kem.derive_keypair(sk) == (pk, sk)
    ss, ct = kem.encapsulate(pk)
    assert kem.decapsulate(sk, ct) == ss
    ss2, ct2 = kem.encapsulate(pk)
    assert (ss2, ct2) != (ss, ct)  # fresh randomness each time
    other_pk, other_sk = kem.generate_keypair()
    assert other_pk != pk
    assert kem.decapsulate(other_sk, ct) != ss


@pytest.mark.parametrize("name", ["ML-KEM-768", "X-Wing", "X25519MLKEM768"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_any_seed_works_and_is_deterministic(name: str, data: Any) -> None:
    kem = get_kem(name)
    seed = data.draw(st.binary(min_size=kem.seed_size, max_size=kem.seed_size))
    key1, key2 = kem.from_seed_bytes(seed), kem.from_seed_bytes(seed)
    assert key1.public_key() == key2.public_key()
    ss, ct = key1.public_key().encapsulate()
    assert key2.decapsulate(ct) == ss


@pytest.mark.parametrize("name", USABLE)
def test_wrong_lengths(name: str) -> None:
    kem = get_kem(name)
    pk, sk = kem.generate_keypair()
    _, ct = kem.encapsulate(pk)
    checks = [
        ("public key", kem.public_key_size, lambda b: kem.encapsulate(b), pk),
        ("seed", kem.seed_size, lambda b: kem.derive_keypair(b), sk),
        ("seed", kem.seed_size, lambda b: kem.decapsulate(b, ct), sk),
        ("ciphertext", kem.ciphertext_size, lambda b: kem.decapsulate(sk, b), ct),
    ]
    for what, size, call, good in checks:
        for bad in (b"", good[:-1], good + b"\x00", good * 2):
            with pytest.raises(InvalidInput) as info:
                call(bad)
            msg = str(info.value)
            assert msg == f"{name} {what} must be {size} bytes, got {len(bad)}"
            assert isinstance(info.value, ValueError)
            assert isinstance(info.value, Pqe2eeError)


@pytest.mark.parametrize("name", ["X25519", "ML-KEM-768", "X-Wing"])
def test_wrong_types(name: str) -> None:
    kem = get_kem(name)
    pk, sk = kem.generate_keypair()
    with pytest.raises(TypeError, match="must be bytes, not str"):
        kem.encapsulate(pk.hex())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes, not NoneType"):
        kem.decapsulate(sk, None)  # type: ignore[arg-type]
    # bytearray and memoryview are bytes-like and accepted
    ss, ct = kem.encapsulate(bytearray(pk))
    assert kem.decapsulate(memoryview(sk), bytearray(ct)) == ss


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("X25519MLKEM768", "X25519MLKEM768: ML-KEM-768 encapsulation key fails"),
        ("SecP256r1MLKEM768", "SecP256r1MLKEM768: ML-KEM-768 encapsulation key fails"),
        ("X-Wing", "X-Wing: ML-KEM-768 encapsulation key fails"),
        ("ML-KEM-768", "ML-KEM-768 encapsulation key fails"),
    ],
)
def test_bad_mlkem_key_inside_hybrids(name: str, prefix: str) -> None:
    kem = get_kem(name)
    pk, _ = kem.generate_keypair()
    start = 65 if name.startswith("SecP256") else 0
    bad = bytearray(pk)
    bad[start : start + 2] = b"\xff\xff"  # first coefficient 0xfff >= q
    with pytest.raises(InvalidInput, match=prefix):
        kem.encapsulate(bytes(bad))


def test_hybrid_names_the_failing_component() -> None:
    kem = get_kem("SecP256r1MLKEM768")
    pk, sk = kem.generate_keypair()
    with pytest.raises(InvalidInput, match=r"^SecP256r1MLKEM768: P-256 point is not on the curve$"):
        kem.encapsulate(b"\x04" + bytes(64) + pk[65:])
    _, ct = kem.encapsulate(pk)
    with pytest.raises(InvalidInput, match="SecP256r1MLKEM768: P-256 point is not on the curve"):
        kem.decapsulate(sk, b"\x04" + bytes(64) + ct[65:])
    x = get_kem("X25519MLKEM768")
    pk, sk = x.generate_keypair()
    _, ct = x.encapsulate(pk)
    with pytest.raises(InvalidInput, match="X25519MLKEM768: X25519 peer value is a low-order"):
        x.decapsulate(sk, ct[:1088] + bytes(32))


def test_repr_hides_secrets() -> None:
    kem = get_kem("X25519MLKEM768")
    key = kem.generate()
    seed = key.private_bytes_raw()
    for text in (repr(key), str(key), repr(key.public_key()), repr(kem)):
        assert seed.hex() not in text
        assert seed.hex()[:16] not in text
    assert "secret hidden" in repr(key)
    assert key.public_key().fingerprint()[:16] in repr(key.public_key())


def test_public_key_equality() -> None:
    kem = get_kem("X-Wing")
    seed = os.urandom(32)
    a, b = kem.from_seed_bytes(seed).public_key(), kem.from_seed_bytes(seed).public_key()
    assert a == b
    assert hash(a) == hash(b)
    assert a != kem.generate().public_key()


def test_names_and_aliases() -> None:
    assert get_kem("x-wing") is get_kem("X-Wing") is get_kem("MLKEM768-X25519")
    assert get_kem("x25519mlkem768").name == "X25519MLKEM768"
    with pytest.raises(ValueError, match="unknown KEM 'ML-KEM-999'"):
        get_kem("ML-KEM-999")
    with pytest.raises(ValueError, match="pre-standard draft"):
        get_kem("X25519Kyber768")
    assert "ML-KEM-512" in kem_names()


def test_registry_entries_build_what_they_describe() -> None:
    """Each registry row's class and name are those of the object it builds."""
    assert [e.name for e in REGISTRY] == kem_names()
    for entry in REGISTRY:
        if entry.name not in USABLE:
            continue
        kem = get_kem(entry.name)
        assert kem.name == entry.name
        assert isinstance(kem, entry.kind)
        assert kem.mode == entry.mode
