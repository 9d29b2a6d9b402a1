"""Identities: keys, signatures, fingerprints, safety numbers, the public encoding.

Identity files are tests/trust/test_keyfile.py, known peers tests/trust/test_known_peers.py."""

from __future__ import annotations

import pytest

from pqe2ee.exceptions import InvalidInput, InvalidSignature
from pqe2ee.handshake import AuthKind, PublicIdentity, parse_fingerprint, safety_number
from tests.handshake.util import identity


@pytest.mark.parametrize("kind", [k for k in AuthKind if k.signs])
def test_sign_verify_and_encoding(kind: AuthKind) -> None:
    ident = identity(kind.value)
    pub = ident.public()
    sigs = ident.sign(b"message")
    assert len(sigs) == (2 if kind is AuthKind.HYBRID else 1)
    pub.verify(b"message", sigs)
    with pytest.raises(InvalidSignature):
        pub.verify(b"other message", sigs)
    assert PublicIdentity.decode(pub.encode()) == pub


def test_kem_identity_decapsulates_and_never_signs() -> None:
    ident = identity("kem")
    pub = ident.public()
    assert len(pub.keys[0]) == 1216  # X-Wing: ML-KEM-768 || X25519
    secret, ct = pub.encapsulate()
    assert ident.decapsulate(ct) == secret
    # implicit rejection: a changed ciphertext gives another secret, never an error
    assert ident.decapsulate(bytes([ct[0] ^ 1]) + ct[1:]) != secret
    other = identity("kem", 1)
    assert other.decapsulate(ct) != secret
    with pytest.raises(TypeError):
        ident.sign(b"m")
    with pytest.raises(InvalidSignature):
        pub.verify(b"m", [b"x" * 64])
    with pytest.raises(TypeError):
        identity("ed25519").public().encapsulate()
    assert PublicIdentity.decode(pub.encode()) == pub
    # the seed is the whole private key: the same seed gives the same identity
    again = type(ident)(AuthKind.KEM, ident.seeds())
    assert again.public() == pub and again.decapsulate(ct) == secret
    assert "secret" in repr(ident) and ident.seeds()[0].hex() not in repr(ident)


def test_kem_identity_with_an_invalid_ml_kem_key_is_a_decode_error() -> None:
    from pqe2ee.exceptions import InvalidInput

    body = bytearray(identity("kem").public().encode())
    # coefficient 0 of the ML-KEM key set to 0xFFF >= q: FIPS 203 §7.2 modulus check
    body[5] = 0xFF
    body[6] |= 0x0F
    with pytest.raises(InvalidInput):
        PublicIdentity.decode(bytes(body))


def test_hybrid_needs_both_signatures() -> None:
    hybrid = identity("hybrid")
    ed_sig, ml_sig = hybrid.sign(b"m")
    pub = hybrid.public()
    with pytest.raises(InvalidSignature, match="needs 2 signature"):
        pub.verify(b"m", [ed_sig])
    with pytest.raises(InvalidSignature, match="ml-dsa-65 signature does not verify"):
        pub.verify(b"m", [ed_sig, identity("ml-dsa-65").sign(b"m")[0]])
    with pytest.raises(InvalidSignature, match="ed25519 signature does not verify"):
        pub.verify(b"m", [identity("ed25519").sign(b"m")[0], ml_sig])


def test_fingerprints_differ_by_kind_and_key() -> None:
    hybrid = identity("hybrid").public()
    # the same Ed25519 key inside a hybrid identity and alone: different fingerprints
    alone = PublicIdentity(AuthKind.ED25519, [hybrid.keys[0]])
    assert alone.fingerprint() != hybrid.fingerprint()
    assert len(hybrid.fingerprint_hex().replace(" ", "")) == 64
    assert parse_fingerprint(hybrid.fingerprint_hex()) == hybrid.fingerprint()
    assert parse_fingerprint("SHA256:" + hybrid.fingerprint().hex().upper()) == hybrid.fingerprint()
    with pytest.raises(ValueError, match="not a fingerprint"):
        parse_fingerprint("abcd")


def test_safety_number_is_symmetric_and_specific() -> None:
    a, b, c = (identity("ed25519", i).public() for i in range(3))
    number = safety_number(a, b)
    assert number == safety_number(b, a)
    assert number != safety_number(a, c)
    groups = number.split()
    assert len(groups) == 12
    assert all(len(g) == 5 and g.isdigit() for g in groups)


def test_identity_decode_rejects_malformed() -> None:
    body = identity("hybrid").public().encode()
    for bad in (
        body[:-1],
        body + b"\x00",
        b"\xfe\x01" + body[2:],
        body[:2] + b"\x01" + body[3:],
        b"",
    ):
        with pytest.raises(InvalidInput):
            PublicIdentity.decode(bad)
