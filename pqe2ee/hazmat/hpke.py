"""HPKE (RFC 9180) base mode over pqe2ee's KEMs, with the post-quantum KEM ids.

Suites are assembled from three parts, each named by its IANA id:

- KEM: DHKEM(X25519, HKDF-SHA256) ``0x0020`` (RFC 9180 §4.1, §7.1); from
  draft-ietf-hpke-pq, ML-KEM-768 ``0x0041``, ML-KEM-1024 ``0x0042`` and X-Wing,
  registered as MLKEM768-X25519 ``0x647a``.  X-Wing's HPKE ``DeriveKeyPair``
  is ``SHAKE256.LabeledDerive(ikm, "DeriveKeyPair", "", 32)``, *not* the X-Wing draft's
  own seed expansion; the 32 bytes it returns are the X-Wing seed (the private key).
- KDF: HKDF-SHA256/384/512 (``0x0001``-``0x0003``, two-stage, RFC 9180 §4) and the
  one-stage SHAKE128/SHAKE256 (``0x0010``/``0x0011``, draft-ietf-hpke-hpke /
  draft-ietf-hpke-pq).
- AEAD: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 (``0x0001``-``0x0003``) and
  export-only (``0xFFFF``).

Only base mode (``mode_base = 0x00``) is offered: no PSK, no sender authentication.

Security property: a sealed message is IND-CCA2 secret and authentic to whoever
holds the recipient's private key, provided the KEM is IND-CCA2 (for X-Wing: if
either ML-KEM-768 or X25519 holds).  Base mode does *not* authenticate the sender.
Every open failure raises :class:`~pqe2ee.exceptions.InvalidTag`.

Every primitive comes from ``cryptography`` or ``hashlib``, through
:mod:`pqe2ee.hazmat.kdf` (the labelled KDFs) and :mod:`pqe2ee.hazmat.aead` (the AEAD
registry, whose ``by_id`` is :func:`aead_by_id`); this module only composes them in
RFC 9180's order.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes

from pqe2ee.hazmat.aead import AEAD
from pqe2ee.hazmat.aead import by_id as aead_by_id
from pqe2ee.hazmat.kdf import hpke_labeled_derive, hpke_labeled_expand, hpke_labeled_extract
from pqe2ee.hazmat.kem import KEM, KEMPrivateKey, KEMPublicKey, get_kem
from pqe2ee.hazmat.kem._base import check_length

__all__ = [
    "AEAD",
    "DHKEMX25519",
    "HPKEKEM",
    "KDF",
    "PQHPKEKEM",
    "Context",
    "Suite",
    "XWingHPKEKEM",
    "aead_by_id",
    "kdf_by_id",
    "kem_by_id",
]

MODE_BASE = 0x00


def _i2osp(n: int, width: int) -> bytes:
    return n.to_bytes(width, "big")


def _lp(data: bytes) -> bytes:
    """``lengthPrefixed``: a two-byte big-endian length, then the bytes."""
    return _i2osp(len(data), 2) + data


# --- KDFs -----------------------------------------------------------------------------


class KDF(abc.ABC):
    """A key-derivation function of RFC 9180 §4 (two-stage) or one-stage (SHAKE)."""

    kdf_id: int
    #: Output size of the KDF, which is also the exporter secret's size.
    Nh: int
    one_stage: ClassVar[bool]

    def labeled_extract(self, suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        """``LabeledExtract`` (RFC 9180 §4); only for two-stage KDFs."""
        raise NotImplementedError

    def labeled_expand(
        self, suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int
    ) -> bytes:
        """``LabeledExpand`` (RFC 9180 §4); only for two-stage KDFs."""
        raise NotImplementedError

    def labeled_derive(
        self, suite_id: bytes, ikm: bytes, label: bytes, context: bytes, length: int
    ) -> bytes:
        """``LabeledDerive`` of the one-stage KDFs; only for those."""
        raise NotImplementedError


class HKDFKDF(KDF):
    """HKDF (RFC 5869) with SHA-256, SHA-384 or SHA-512."""

    one_stage: ClassVar[bool] = False

    def __init__(self, kdf_id: int, algorithm: hashes.HashAlgorithm) -> None:
        self.kdf_id = kdf_id
        self._algorithm = algorithm
        self.Nh = algorithm.digest_size

    def labeled_extract(self, suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return hpke_labeled_extract(self._algorithm, suite_id, salt, label, ikm)

    def labeled_expand(
        self, suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int
    ) -> bytes:
        return hpke_labeled_expand(self._algorithm, suite_id, prk, label, info, length)


class SHAKEKDF(KDF):
    """A one-stage KDF: SHAKE128 (``0x0010``) or SHAKE256 (``0x0011``) as ``Derive``."""

    one_stage: ClassVar[bool] = True

    def __init__(self, kdf_id: int, name: str, nh: int) -> None:
        self.kdf_id = kdf_id
        self._name = name
        self.Nh = nh

    def labeled_derive(
        self, suite_id: bytes, ikm: bytes, label: bytes, context: bytes, length: int
    ) -> bytes:
        return hpke_labeled_derive(self._name, suite_id, ikm, label, context, length)


_KDFS: dict[int, KDF] = {
    0x0001: HKDFKDF(0x0001, hashes.SHA256()),
    0x0002: HKDFKDF(0x0002, hashes.SHA384()),
    0x0003: HKDFKDF(0x0003, hashes.SHA512()),
    0x0010: SHAKEKDF(0x0010, "shake_128", 32),
    0x0011: SHAKEKDF(0x0011, "shake_256", 64),
}


def kdf_by_id(kdf_id: int) -> KDF:
    """The KDF with this IANA id.

    :raises ValueError: not one pqe2ee implements (TurboSHAKE ``0x0012``/``0x0013`` is not
        in ``hashlib`` or ``cryptography``).
    """
    try:
        return _KDFS[kdf_id]
    except KeyError:
        raise ValueError(f"HPKE KDF 0x{kdf_id:04x} is not supported") from None


# --- KEMs -----------------------------------------------------------------------------


class HPKEKEM(abc.ABC):
    """An HPKE KEM (RFC 9180 §4.1) over one of pqe2ee's KEM objects."""

    kem_id: int
    kem: KEM[Any, Any]

    @property
    def suite_id(self) -> bytes:
        """``"KEM" || I2OSP(kem_id, 2)``, the KEM's own suite id (RFC 9180 §4.1)."""
        return b"KEM" + _i2osp(self.kem_id, 2)

    @property
    def Nenc(self) -> int:
        """Size of an encapsulated key ``enc`` in bytes (RFC 9180 §7.1's ``Nenc``)."""
        return self.kem.ciphertext_size

    @abc.abstractmethod
    def derive_key_pair(self, ikm: bytes) -> KEMPrivateKey:
        """``DeriveKeyPair(ikm)``: deterministic, for known-answer tests and derived keys."""

    def generate_key_pair(self) -> KEMPrivateKey:
        """``GenerateKeyPair()``: a fresh private key."""
        return self.kem.generate()

    @abc.abstractmethod
    def encap(self, pk: KEMPublicKey) -> tuple[bytes, bytes]:
        """``Encap(pkR)``: ``(shared_secret, enc)``."""

    @abc.abstractmethod
    def encap_derand_for_testing_only(self, pk: KEMPublicKey, ikm_e: bytes) -> tuple[bytes, bytes]:
        """``Encap`` with the ephemeral randomness fixed by ``ikmE`` (test vectors only)."""

    @abc.abstractmethod
    def decap(self, enc: bytes, sk: KEMPrivateKey) -> bytes:
        """``Decap(enc, skR)``: the shared secret.

        :raises InvalidInput: ``enc`` has the wrong length or an invalid (all-zero DH) part.
        """


class DHKEMX25519(HPKEKEM):
    """DHKEM(X25519, HKDF-SHA256), KEM id ``0x0020`` (RFC 9180 §4.1)."""

    kem_id = 0x0020

    def __init__(self) -> None:
        self.kem = get_kem("X25519")
        self._kdf = _KDFS[0x0001]

    def _extract_and_expand(self, dh: bytes, kem_context: bytes) -> bytes:
        prk = self._kdf.labeled_extract(self.suite_id, b"", b"eae_prk", dh)
        return self._kdf.labeled_expand(self.suite_id, prk, b"shared_secret", kem_context, 32)

    def derive_key_pair(self, ikm: bytes) -> KEMPrivateKey:
        """``DeriveKeyPair`` of DHKEM (RFC 9180 §7.1.3): LabeledExtract then LabeledExpand
        to a 32-byte X25519 scalar."""
        prk = self._kdf.labeled_extract(self.suite_id, b"", b"dkp_prk", ikm)
        sk = self._kdf.labeled_expand(self.suite_id, prk, b"sk", b"", 32)
        return self.kem.from_seed_bytes(sk)

    def encap(self, pk: KEMPublicKey) -> tuple[bytes, bytes]:
        """``Encap(pkR)`` of DHKEM (RFC 9180 §4.1): ``(shared_secret, enc)``, the DH output
        bound to ``enc || pkR`` by ExtractAndExpand."""
        dh, enc = pk.encapsulate()
        return self._extract_and_expand(dh, enc + pk.public_bytes_raw()), enc

    def encap_derand_for_testing_only(self, pk: KEMPublicKey, ikm_e: bytes) -> tuple[bytes, bytes]:
        """``Encap`` with the ephemeral key ``DeriveKeyPair(ikmE)`` (test vectors only)."""
        sk_e = self.derive_key_pair(ikm_e).private_bytes_raw()
        pk_r = pk.public_bytes_raw()
        dh, enc = self.kem.encapsulate_derand_for_testing_only(pk_r, sk_e)
        return self._extract_and_expand(dh, enc + pk_r), enc

    def decap(self, enc: bytes, sk: KEMPrivateKey) -> bytes:
        """``Decap(enc, skR)`` of DHKEM (RFC 9180 §4.1).

        :raises InvalidInput: ``enc`` is a low-order point (an all-zero DH output).
        """
        dh = sk.decapsulate(enc)
        return self._extract_and_expand(dh, enc + sk.public_key().public_bytes_raw())


class PQHPKEKEM(HPKEKEM):
    """A post-quantum or X-Wing KEM under its draft-ietf-hpke-pq id.

    ``Encap``/``Decap`` are the KEM's own and its shared secret is used as is;
    ``DeriveKeyPair(ikm)`` is ``SHAKE256.LabeledDerive(ikm, "DeriveKeyPair", "", Nsk)``
    and the result is the KEM's seed-form private key.

    :param kem_id: ``0x0041`` ML-KEM-768, ``0x0042`` ML-KEM-1024, ``0x647a`` X-Wing.
    :param kem: the KEM object to run on; tests pass one over a backend that accepts
        fixed encapsulation randomness.
    """

    def __init__(self, kem_id: int, kem: KEM[Any, Any] | None = None) -> None:
        if kem_id not in _PQ_KEMS:
            raise ValueError(f"HPKE KEM 0x{kem_id:04x} is not supported")
        self.kem_id = kem_id
        self.kem = kem if kem is not None else get_kem(_PQ_KEMS[kem_id])
        if self.kem.name != _PQ_KEMS[kem_id]:
            raise ValueError(f"HPKE KEM 0x{kem_id:04x} is {_PQ_KEMS[kem_id]}, not {self.kem.name}")
        self._derive = _KDFS[0x0011]

    def derive_key_pair(self, ikm: bytes) -> KEMPrivateKey:
        """``DeriveKeyPair``: ``SHAKE256.LabeledDerive(ikm, "DeriveKeyPair", "", Nsk)``, the
        KEM's seed-form private key (draft-ietf-hpke-pq)."""
        seed = self._derive.labeled_derive(
            self.suite_id, ikm, b"DeriveKeyPair", b"", self.kem.seed_size
        )
        return self.kem.from_seed_bytes(seed)

    def encap(self, pk: KEMPublicKey) -> tuple[bytes, bytes]:
        """``Encap(pkR)``: the KEM's own encapsulation, ``(shared_secret, enc)``."""
        return pk.encapsulate()

    def encap_derand_for_testing_only(self, pk: KEMPublicKey, ikm_e: bytes) -> tuple[bytes, bytes]:
        """``Encap`` with ``ikmE`` as the KEM's encapsulation randomness, as the vectors of
        draft-ietf-hpke-pq use it (X-Wing: ML-KEM's m || the X25519 secret); tests only."""
        return self.kem.encapsulate_derand_for_testing_only(pk.public_bytes_raw(), ikm_e)

    def decap(self, enc: bytes, sk: KEMPrivateKey) -> bytes:
        """``Decap(enc, skR)``: the KEM's own decapsulation (ML-KEM rejects implicitly).

        :raises InvalidInput: X-Wing only: ``enc`` has a low-order X25519 part.
        """
        return sk.decapsulate(enc)


_PQ_KEMS = {0x0041: "ML-KEM-768", 0x0042: "ML-KEM-1024", 0x647A: "X-Wing"}


def XWingHPKEKEM(kem: KEM[Any, Any] | None = None) -> PQHPKEKEM:
    """MLKEM768-X25519 (X-Wing), KEM id ``0x647a`` (draft-ietf-hpke-pq)."""
    return PQHPKEKEM(0x647A, kem)


def kem_by_id(kem_id: int) -> HPKEKEM:
    """The HPKE KEM with this id: ``0x0020``, ``0x0041``, ``0x0042`` or ``0x647a``.

    :raises ValueError: an id pqe2ee does not implement.
    """
    if kem_id == 0x0020:
        return DHKEMX25519()
    return PQHPKEKEM(kem_id)


# --- the key schedule and contexts ----------------------------------------------------


class Context:
    """An HPKE encryption context (RFC 9180 §5.2): one direction, sequence-numbered."""

    def __init__(self, suite: Suite, key: bytes, base_nonce: bytes, exporter_secret: bytes):
        self._suite = suite
        self._key = key
        self._base_nonce = base_nonce
        self.exporter_secret = exporter_secret
        self._seq = 0

    def _nonce(self) -> bytes:
        nn = self._suite.aead.Nn
        if self._seq >= 1 << (8 * nn):
            raise ValueError("HPKE context: message limit reached")
        seq = _i2osp(self._seq, nn)
        return bytes(a ^ b for a, b in zip(self._base_nonce, seq, strict=True))

    def seal(self, aad: bytes, pt: bytes) -> bytes:
        """Encrypt the next message."""
        ct = self._suite.aead.seal(self._key, self._nonce(), aad, pt)
        self._seq += 1
        return ct

    def open(self, aad: bytes, ct: bytes) -> bytes:
        """Decrypt the next message; a failure leaves the sequence number unchanged.

        :raises InvalidTag: the ciphertext or ``aad`` does not authenticate.
        """
        pt = self._suite.aead.open(self._key, self._nonce(), aad, ct)
        self._seq += 1
        return pt

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """A secret of ``length`` bytes bound to this context (RFC 9180 §5.3)."""
        kdf, sid = self._suite.kdf, self._suite.suite_id
        if kdf.one_stage:
            return kdf.labeled_derive(sid, self.exporter_secret, b"sec", exporter_context, length)
        if length > 255 * kdf.Nh:
            raise ValueError(f"HPKE export length must be at most {255 * kdf.Nh}")
        return kdf.labeled_expand(sid, self.exporter_secret, b"sec", exporter_context, length)


class Suite:
    """One HPKE cipher suite: KEM, KDF and AEAD, base mode.

    >>> suite = Suite(XWingHPKEKEM(), kdf_by_id(1), aead_by_id(3))
    >>> sk = suite.kem.generate_key_pair()
    >>> enc, ct = suite.seal(sk.public_key(), b"info", b"aad", b"hello")
    >>> suite.open(enc, sk, b"info", b"aad", ct)
    b'hello'
    """

    def __init__(self, kem: HPKEKEM, kdf: KDF, aead: AEAD) -> None:
        self.kem = kem
        self.kdf = kdf
        self.aead = aead
        self.suite_id = (
            b"HPKE" + _i2osp(kem.kem_id, 2) + _i2osp(kdf.kdf_id, 2) + _i2osp(aead.aead_id, 2)
        )

    def key_schedule(self, shared_secret: bytes, info: bytes) -> Context:
        """``KeySchedule`` in base mode (RFC 9180 §5.1, and its one-stage form)."""
        kdf, sid, a = self.kdf, self.suite_id, self.aead
        mode = _i2osp(MODE_BASE, 1)
        if kdf.one_stage:
            secrets = _lp(b"") + _lp(shared_secret)  # psk, then the shared secret
            context = mode + _lp(b"") + _lp(info)  # psk_id, then info
            secret = kdf.labeled_derive(sid, secrets, b"secret", context, a.Nk + a.Nn + kdf.Nh)
            key, rest = secret[: a.Nk], secret[a.Nk :]
            return Context(self, key, rest[: a.Nn], rest[a.Nn :])
        psk_id_hash = kdf.labeled_extract(sid, b"", b"psk_id_hash", b"")
        info_hash = kdf.labeled_extract(sid, b"", b"info_hash", info)
        ksc = mode + psk_id_hash + info_hash
        secret = kdf.labeled_extract(sid, shared_secret, b"secret", b"")
        key = kdf.labeled_expand(sid, secret, b"key", ksc, a.Nk) if a.Nk else b""
        nonce = kdf.labeled_expand(sid, secret, b"base_nonce", ksc, a.Nn) if a.Nn else b""
        exporter = kdf.labeled_expand(sid, secret, b"exp", ksc, kdf.Nh)
        return Context(self, key, nonce, exporter)

    def setup_base_s(self, pk: KEMPublicKey, info: bytes) -> tuple[bytes, Context]:
        """``SetupBaseS(pkR, info)``: ``(enc, context)`` for the sender."""
        shared_secret, enc = self.kem.encap(pk)
        return enc, self.key_schedule(shared_secret, info)

    def setup_base_r(self, enc: bytes, sk: KEMPrivateKey, info: bytes) -> Context:
        """``SetupBaseR(enc, skR, info)``: the recipient's context.

        :raises InvalidInput: ``enc`` has the wrong length or an invalid DH part.
        """
        enc = check_length(f"HPKE {self.kem.kem.name}", "enc", enc, self.kem.Nenc)
        return self.key_schedule(self.kem.decap(enc, sk), info)

    def seal(self, pk: KEMPublicKey, info: bytes, aad: bytes, pt: bytes) -> tuple[bytes, bytes]:
        """Single-shot ``Seal`` (RFC 9180 §6.1): ``(enc, ct)``."""
        enc, ctx = self.setup_base_s(pk, info)
        return enc, ctx.seal(aad, pt)

    def open(self, enc: bytes, sk: KEMPrivateKey, info: bytes, aad: bytes, ct: bytes) -> bytes:
        """Single-shot ``Open`` (RFC 9180 §6.1).

        :raises InvalidTag: the ciphertext, ``info`` or ``aad`` does not authenticate.
        :raises InvalidInput: ``enc`` is malformed.
        """
        return self.setup_base_r(enc, sk, info).open(aad, ct)
