"""HKDF (RFC 5869) and the labelled derivations pqe2ee's protocols build on it.

One module, so that each label format is written down once:

- :func:`hkdf_extract`, :func:`hkdf_expand`, :func:`hkdf`: plain HKDF (RFC 5869 §2.2,
  §2.3), as age uses it (C2SP age spec: the X25519 wrap key, the header MAC key, the
  payload key);
- :func:`hkdf_expand_label`: TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1), which the
  pqe2ee handshake uses with its own label prefix (docs/protocol.md §4);
- :func:`hpke_labeled_extract`, :func:`hpke_labeled_expand` (RFC 9180 §4) and
  :func:`hpke_labeled_derive`, the one-stage SHAKE form (draft-ietf-hpke-pq).

HKDF and HMAC are ``cryptography``'s, SHAKE is ``hashlib``'s; this module only lays out
the bytes.  Security property: with a secret input of enough entropy, every output is
pseudorandom and independent of every output under a different label or context, so
two uses of one secret never share a key.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

__all__ = [
    "HPKE_VERSION",
    "SHA256",
    "hkdf",
    "hkdf_expand",
    "hkdf_expand_label",
    "hkdf_extract",
    "hpke_labeled_derive",
    "hpke_labeled_expand",
    "hpke_labeled_extract",
]

#: The hash every non-HPKE user of this module runs HKDF over.
SHA256 = hashes.SHA256()
#: RFC 9180 §4's version label, prefixed to every HPKE label.
HPKE_VERSION = b"HPKE-v1"


def hkdf_extract(salt: bytes, ikm: bytes, algorithm: hashes.HashAlgorithm = SHA256) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): ``HMAC-Hash(salt, ikm)``, a pseudorandom key.

    An empty salt is the RFC's string of HashLen zeros (HMAC pads either to the same key).
    """
    return HKDF.extract(algorithm, salt or bytes(algorithm.digest_size), ikm)


def hkdf_expand(
    prk: bytes, info: bytes, length: int, algorithm: hashes.HashAlgorithm = SHA256
) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3): ``length`` bytes of output keying material.

    :param prk: a pseudorandom key of at least HashLen bytes (an Extract output).
    :raises ValueError: ``length`` outside 1..255*HashLen, or ``prk`` shorter than
        HashLen (RFC 5869 §2.3 asks for both; ``cryptography`` checks neither fully).
    """
    most = 255 * algorithm.digest_size
    if not 0 < length <= most:
        raise ValueError(f"HKDF-Expand length must be 1..{most}")
    if len(prk) < algorithm.digest_size:
        raise ValueError(
            f"HKDF-Expand needs a pseudorandom key of at least {algorithm.digest_size} bytes"
        )
    return HKDFExpand(algorithm, length, info).derive(prk)


def hkdf(
    ikm: bytes,
    *,
    salt: bytes,
    info: bytes,
    length: int,
    algorithm: hashes.HashAlgorithm = SHA256,
) -> bytes:
    """HKDF (RFC 5869 §2): Extract with ``salt``, then Expand with ``info``."""
    return HKDF(algorithm, length, salt=salt, info=info).derive(ikm)


def hkdf_expand_label(
    secret: bytes,
    label: bytes,
    context: bytes,
    length: int,
    algorithm: hashes.HashAlgorithm = SHA256,
) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) over an ``HkdfLabel``::

        uint16 length || opaque label<0..255> || opaque context<0..255>

    :param label: the whole label, prefix included (TLS 1.3's ``"tls13 "``, the pqe2ee
        handshake's ``"pqe2ee1 "``).
    :raises ValueError: ``label`` or ``context`` over 255 bytes, or a bad length or
        secret for :func:`hkdf_expand`.
    """
    info = length.to_bytes(2, "big") + bytes([len(label)]) + label
    info += bytes([len(context)]) + context
    return hkdf_expand(secret, info, length, algorithm)


def hpke_labeled_extract(
    algorithm: hashes.HashAlgorithm, suite_id: bytes, salt: bytes, label: bytes, ikm: bytes
) -> bytes:
    """``LabeledExtract`` (RFC 9180 §4): Extract(salt, "HPKE-v1" || suite_id || label || ikm).

    An empty salt is Nh zeros, as RFC 9180 §4 says for ``Extract``.
    """
    return hkdf_extract(salt, HPKE_VERSION + suite_id + label + ikm, algorithm)


def hpke_labeled_expand(
    algorithm: hashes.HashAlgorithm,
    suite_id: bytes,
    prk: bytes,
    label: bytes,
    info: bytes,
    length: int,
) -> bytes:
    """``LabeledExpand`` (RFC 9180 §4)::

        Expand(prk, I2OSP(length, 2) || "HPKE-v1" || suite_id || label || info, length)

    :raises ValueError: ``length`` outside 1..255*Nh.
    """
    labeled_info = length.to_bytes(2, "big") + HPKE_VERSION + suite_id + label + info
    return hkdf_expand(prk, labeled_info, length, algorithm)


def hpke_labeled_derive(
    xof: str, suite_id: bytes, ikm: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """``LabeledDerive`` of HPKE's one-stage KDFs (draft-ietf-hpke-pq, SHAKE128/256)::

        XOF(ikm || "HPKE-v1" || suite_id || lengthPrefixed(label) || I2OSP(length, 2)
            || context, length)

    :param xof: ``"shake_128"`` or ``"shake_256"`` (``hashlib`` names).
    """
    labeled = (
        ikm
        + HPKE_VERSION
        + suite_id
        + len(label).to_bytes(2, "big")
        + label
        + length.to_bytes(2, "big")
        + context
    )
    return hashlib.new(xof, labeled).digest(length)  # type: ignore[call-arg]
