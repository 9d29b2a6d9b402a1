"""HPKE (RFC 9180 base mode) against draft-ietf-hpke-pq's vectors, RFC 9180 A.1 and
``cryptography``'s independent HPKE.

Encapsulation with fixed ``ikmE`` needs an ML-KEM that takes fixed randomness, so it
runs over the kyber-py test backend; decapsulation, the key schedule, open and export
run on the production backend.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke as chpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from pqe2ee.exceptions import InvalidInput, InvalidTag
from pqe2ee.hazmat import aead, hpke
from pqe2ee.hazmat.kem.mlkem import MLKEM
from pqe2ee.hazmat.kem.xwing import XWingKEM
from tests.conftest import VECTORS, load_json
from tests.hazmat._kyberpy import kyberpy_mlkem

PQ_ROWS = load_json(VECTORS / "hpke-pq" / "test-vectors.json")
A1 = load_json(VECTORS / "hpke-rfc9180" / "a1.json")
SUPPORTED_KEMS = {0x0020, 0x0041, 0x0042, 0x647A}
SUPPORTED_KDFS = {0x0001, 0x0002, 0x0003, 0x0010, 0x0011}


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def _row_id(v: dict[str, Any]) -> str:
    return f"kem{v['kem_id']:04x}-kdf{v['kdf_id']:04x}-aead{v['aead_id']:04x}"


def _supported(v: dict[str, Any]) -> bool:
    return v["kem_id"] in SUPPORTED_KEMS and v["kdf_id"] in SUPPORTED_KDFS


ROWS = [pytest.param(v, id=_row_id(v)) for v in PQ_ROWS if _supported(v)]
UNSUPPORTED = [pytest.param(v, id=_row_id(v)) for v in PQ_ROWS if not _supported(v)]


def _suite(v: dict[str, Any]) -> hpke.Suite:
    return hpke.Suite(
        hpke.kem_by_id(v["kem_id"]), hpke.kdf_by_id(v["kdf_id"]), hpke.aead_by_id(v["aead_id"])
    )


def _derand_kem(kem_id: int) -> hpke.HPKEKEM:
    """The same HPKE KEM over kyber-py, which accepts fixed encapsulation randomness."""
    if kem_id == 0x0020:
        return hpke.DHKEMX25519()
    if kem_id == 0x647A:
        return hpke.PQHPKEKEM(kem_id, XWingKEM(kyberpy_mlkem("ML-KEM-768")))
    name = {0x0041: "ML-KEM-768", 0x0042: "ML-KEM-1024"}[kem_id]
    kem: MLKEM = kyberpy_mlkem(name)
    return hpke.PQHPKEKEM(kem_id, kem)


def test_vector_file_is_the_one_in_sources() -> None:
    raw = (VECTORS / "hpke-pq" / "test-vectors.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == (
        "ba1f90672903e0df25610a1eef84b5f157e44d34849c0a72a2f9b164f3213888"
    )


def test_vector_file_covers_the_age_suite() -> None:
    ids = {(v["kem_id"], v["kdf_id"], v["aead_id"]) for v in PQ_ROWS}
    assert (0x647A, 0x0001, 0x0003) in ids  # age's mlkem768x25519 suite
    assert len(ROWS) == 4  # the rows this module runs; the others are declared below


@pytest.mark.parametrize("v", UNSUPPORTED)
def test_unsupported_rows_raise(v: dict[str, Any]) -> None:
    """Declared gap: TurboSHAKE KDFs, ML-KEM-512, ECDH and ECDH hybrids are not offered."""
    with pytest.raises(ValueError, match="not supported"):
        _suite(v)


@pytest.mark.parametrize("v", ROWS)
def test_derive_key_pair(v: dict[str, Any]) -> None:
    sk = _suite(v).kem.derive_key_pair(h(v["ikmR"]))
    assert sk.private_bytes_raw() == h(v["skRm"])
    assert sk.public_key().public_bytes_raw() == h(v["pkRm"])


@pytest.mark.parametrize("v", ROWS)
def test_encap_with_fixed_randomness(v: dict[str, Any]) -> None:
    kem = _derand_kem(v["kem_id"])
    ss, enc = kem.encap_derand_for_testing_only(
        kem.kem.from_public_bytes(h(v["pkRm"])), h(v["ikmE"])
    )
    assert enc == h(v["enc"])
    assert ss == h(v["shared_secret"])


@pytest.mark.parametrize("v", ROWS)
def test_decap_key_schedule_open_seal_export(v: dict[str, Any]) -> None:
    suite = _suite(v)
    sk = suite.kem.kem.from_seed_bytes(h(v["skRm"]))
    assert suite.kem.decap(h(v["enc"]), sk) == h(v["shared_secret"])
    receiver = suite.setup_base_r(h(v["enc"]), sk, h(v["info"]))
    sender = suite.key_schedule(h(v["shared_secret"]), h(v["info"]))
    assert (receiver._key, receiver._base_nonce) == (h(v["key"]), h(v["base_nonce"]))
    assert receiver.exporter_secret == h(v["exporter_secret"])
    for e in v["encryptions"]:
        assert sender.seal(h(e["aad"]), h(e["pt"])) == h(e["ct"])
        assert receiver.open(h(e["aad"]), h(e["ct"])) == h(e["pt"])
    for x in v["exports"]:
        assert receiver.export(h(x["exporter_context"]), x["L"]) == h(x["exported_value"])


def test_rfc9180_a1() -> None:
    suite = hpke.Suite(hpke.DHKEMX25519(), hpke.kdf_by_id(1), hpke.aead_by_id(1))
    sk_e = suite.kem.derive_key_pair(h(A1["ikmE"]))
    sk_r = suite.kem.derive_key_pair(h(A1["ikmR"]))
    assert sk_e.private_bytes_raw() == h(A1["skEm"])
    assert sk_e.public_key().public_bytes_raw() == h(A1["pkEm"])
    assert sk_r.private_bytes_raw() == h(A1["skRm"])
    assert sk_r.public_key().public_bytes_raw() == h(A1["pkRm"])
    ss, enc = suite.kem.encap_derand_for_testing_only(sk_r.public_key(), h(A1["ikmE"]))
    assert (ss, enc) == (h(A1["shared_secret"]), h(A1["enc"]))
    ctx = suite.setup_base_r(enc, sk_r, h(A1["info"]))
    assert (ctx._key, ctx._base_nonce) == (h(A1["key"]), h(A1["base_nonce"]))
    e = A1["encryptions"][0]
    assert ctx.open(h(e["aad"]), h(e["ct"])) == h(e["pt"])


# --- against cryptography's HPKE (OpenSSL), both directions ----------------------------

_CKEM = {0x0020: chpke.KEM.X25519, 0x647A: chpke.KEM.MLKEM768_X25519}
_CKDF = {
    0x0001: chpke.KDF.HKDF_SHA256,
    0x0002: chpke.KDF.HKDF_SHA384,
    0x0003: chpke.KDF.HKDF_SHA512,
    0x0010: chpke.KDF.SHAKE128,
    0x0011: chpke.KDF.SHAKE256,
}
_CAEAD = {
    0x0001: chpke.AEAD.AES_128_GCM,
    0x0002: chpke.AEAD.AES_256_GCM,
    0x0003: chpke.AEAD.CHACHA20_POLY1305,
}


def _crypto_private(kem_id: int, seed: bytes) -> Any:
    if kem_id == 0x0020:
        return x25519.X25519PrivateKey.from_private_bytes(seed)
    expanded = hashlib.shake_256(seed).digest(96)  # the X-Wing seed expansion
    return chpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )


@pytest.mark.parametrize("aead_id", sorted(_CAEAD))
@pytest.mark.parametrize("kdf_id", sorted(_CKDF))
@pytest.mark.parametrize("kem_id", sorted(_CKEM))
def test_against_cryptography(kem_id: int, kdf_id: int, aead_id: int) -> None:
    ours = hpke.Suite(hpke.kem_by_id(kem_id), hpke.kdf_by_id(kdf_id), hpke.aead_by_id(aead_id))
    theirs = chpke.Suite(_CKEM[kem_id], _CKDF[kdf_id], _CAEAD[aead_id])
    sk = ours.kem.generate_key_pair()
    csk = _crypto_private(kem_id, sk.private_bytes_raw())
    info, msg = b"pqe2ee cross-check", b"m" * 100
    enc, ct = ours.seal(sk.public_key(), info, b"", msg)
    assert theirs.decrypt(enc + ct, csk, info=info) == msg
    sealed = theirs.encrypt(msg, csk.public_key(), info=info)
    n = ours.kem.Nenc
    assert ours.open(sealed[:n], sk, info, b"", sealed[n:]) == msg


# --- failures --------------------------------------------------------------------------


@pytest.fixture(params=[0x0020, 0x647A], ids=["x25519", "xwing"])
def sealed(request: pytest.FixtureRequest) -> tuple[hpke.Suite, Any, bytes, bytes]:
    suite = hpke.Suite(hpke.kem_by_id(request.param), hpke.kdf_by_id(1), hpke.aead_by_id(3))
    sk = suite.kem.generate_key_pair()
    enc, ct = suite.seal(sk.public_key(), b"info", b"aad", b"secret message")
    return suite, sk, enc, ct


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]


def test_open_rejects_tampering(sealed: tuple[hpke.Suite, Any, bytes, bytes]) -> None:
    suite, sk, enc, ct = sealed
    assert suite.open(enc, sk, b"info", b"aad", ct) == b"secret message"
    for bad in (
        lambda: suite.open(enc, sk, b"info", b"aad", _flip(ct, 0)),
        lambda: suite.open(enc, sk, b"info", b"aad", _flip(ct, len(ct) - 1)),
        lambda: suite.open(enc, sk, b"inf0", b"aad", ct),
        lambda: suite.open(enc, sk, b"info", b"aaD", ct),
        lambda: suite.open(_flip(enc, 0), sk, b"info", b"aad", ct),
        lambda: suite.open(enc, suite.kem.generate_key_pair(), b"info", b"aad", ct),
    ):
        with pytest.raises(InvalidTag):
            bad()


def test_open_rejects_bad_enc_length(sealed: tuple[hpke.Suite, Any, bytes, bytes]) -> None:
    suite, sk, enc, ct = sealed
    with pytest.raises(InvalidInput, match="enc must be"):
        suite.open(enc[:-1], sk, b"info", b"aad", ct)


def test_low_order_enc_is_refused() -> None:
    suite = hpke.Suite(hpke.DHKEMX25519(), hpke.kdf_by_id(1), hpke.aead_by_id(3))
    sk = suite.kem.generate_key_pair()
    with pytest.raises(InvalidInput, match="low-order"):
        suite.open(bytes(32), sk, b"", b"", bytes(32))


def test_context_sequence_and_failed_open() -> None:
    suite = hpke.Suite(hpke.kem_by_id(0x647A), hpke.kdf_by_id(1), hpke.aead_by_id(3))
    sk = suite.kem.generate_key_pair()
    enc, sender = suite.setup_base_s(sk.public_key(), b"")
    receiver = suite.setup_base_r(enc, sk, b"")
    c0, c1 = sender.seal(b"", b"zero"), sender.seal(b"", b"one")
    assert c0 != sender.seal(b"", b"zero")  # a new nonce for each message
    with pytest.raises(InvalidTag):
        receiver.open(b"", c1)  # out of order
    assert receiver.open(b"", c0) == b"zero"  # the failure did not advance the counter
    assert receiver.open(b"", c1) == b"one"
    assert receiver.export(b"x", 16) == sender.export(b"x", 16)


def test_export_only_aead_cannot_seal() -> None:
    suite = hpke.Suite(hpke.kem_by_id(0x0020), hpke.kdf_by_id(1), hpke.aead_by_id(0xFFFF))
    sk = suite.kem.generate_key_pair()
    enc, ctx = suite.setup_base_s(sk.public_key(), b"")
    assert suite.setup_base_r(enc, sk, b"").export(b"", 32) == ctx.export(b"", 32)
    with pytest.raises(ValueError, match="export-only"):
        ctx.seal(b"", b"x")


def test_kem_object_must_match_id() -> None:
    with pytest.raises(ValueError, match="is X-Wing"):
        hpke.PQHPKEKEM(0x647A, kyberpy_mlkem("ML-KEM-768"))


def test_aead_registry_checks_the_key_size() -> None:
    # AES-GCM takes 16-, 24- and 32-byte keys alike, so the registry must hold each id
    # to its own size: AES-128-GCM keyed with 32 bytes would silently be AES-256-GCM.
    with pytest.raises(ValueError, match="aes-128-gcm key must be 16 bytes"):
        hpke.aead_by_id(0x0001).seal(bytes(32), bytes(12), b"", b"x")
    with pytest.raises(ValueError, match="aes-256-gcm key must be 32 bytes"):
        aead.by_name("aes-256-gcm").cipher(bytes(16))
