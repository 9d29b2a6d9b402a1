"""The HKDF under the key schedule (:mod:`pqe2ee.hazmat.kdf`) against RFC 5869's own
test case and against ``cryptography``'s HKDF called directly, with its length checks."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from hypothesis import given
from hypothesis import strategies as st

from pqe2ee.hazmat.kdf import hkdf_expand
from pqe2ee.hazmat.kdf import hkdf_extract as extract


def test_rfc5869_case_1() -> None:
    # RFC 5869 Appendix A.1 (SHA-256, basic test case).
    ikm = bytes([0x0B] * 22)
    salt = bytes(range(0x0D))
    info = bytes(range(0xF0, 0xFA))
    prk = extract(salt, ikm)
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hkdf_expand(prk, info, 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


@given(
    prk=st.binary(min_size=32, max_size=80),
    info=st.binary(max_size=300),
    length=st.integers(min_value=1, max_value=255 * 32),
)
def test_expand_matches_cryptography(prk: bytes, info: bytes, length: int) -> None:
    assert hkdf_expand(prk, info, length) == HKDFExpand(hashes.SHA256(), length, info).derive(prk)


@given(salt=st.binary(max_size=100), ikm=st.binary(max_size=100))
def test_extract_matches_cryptography(salt: bytes, ikm: bytes) -> None:
    assert extract(salt, ikm) == HKDF.extract(hashes.SHA256(), salt, ikm)


@pytest.mark.parametrize("length", [0, 255 * 32 + 1])
def test_expand_refuses_bad_lengths(length: int) -> None:
    with pytest.raises(ValueError, match="length"):
        hkdf_expand(bytes(32), b"", length)


def test_expand_refuses_short_prk() -> None:
    with pytest.raises(ValueError, match="pseudorandom key"):
        hkdf_expand(bytes(31), b"", 32)
