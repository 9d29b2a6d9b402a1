"""The TLS 1.3 key schedule up to the server's handshake traffic keys (RFC 8446 §7.1, §7.3).

From the key exchange's shared secret and the transcript hash (ClientHello..ServerHello)
this derives ``server_handshake_traffic_secret`` and its key and IV, then opens the
server's encrypted handshake records (§5.2).  The hash is the cipher suite's (SHA-256 or
SHA-384).  HKDF, HMAC and the AEADs are ``cryptography``'s.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag as _CryptoInvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from pqe2ee.exceptions import InvalidTag, RemoteProtocolError

__all__ = ["HandshakeDecrypter", "hash_for", "server_handshake_secret"]

_HASHES: dict[str, type[hashes.SHA256] | type[hashes.SHA384]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}


def hash_for(name: str) -> hashes.HashAlgorithm:
    """The hash object for ``"sha256"`` / ``"sha384"``."""
    return _HASHES[name]()


def digest(name: str, data: bytes) -> bytes:
    """``Hash(data)`` with the suite's hash."""
    h = hashes.Hash(hash_for(name))
    h.update(data)
    return h.finalize()


def hkdf_extract(name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): HMAC(salt, IKM)."""
    mac = hmac.HMAC(salt, hash_for(name))
    mac.update(ikm)
    return mac.finalize()


def hkdf_expand_label(name: str, secret: bytes, label: str, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1)."""
    full = b"tls13 " + label.encode()
    info = struct.pack("!H", length) + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(hash_for(name), length, info).derive(secret)


def server_handshake_secret(name: str, shared_secret: bytes, transcript_hash: bytes) -> bytes:
    """``server_handshake_traffic_secret`` for a full handshake without PSK (§7.1)."""
    size = hash_for(name).digest_size
    early = hkdf_extract(name, bytes(size), bytes(size))
    derived = hkdf_expand_label(name, early, "derived", digest(name, b""), size)
    handshake = hkdf_extract(name, derived, shared_secret)
    return hkdf_expand_label(name, handshake, "s hs traffic", transcript_hash, size)


class HandshakeDecrypter:
    """Opens the server's protected handshake records, in order (§5.2, §5.3)."""

    def __init__(self, suite: int, hash_name: str, key_size: int, secret: bytes) -> None:
        key = hkdf_expand_label(hash_name, secret, "key", b"", key_size)
        self._iv = hkdf_expand_label(hash_name, secret, "iv", b"", 12)
        self._aead: AESGCM | ChaCha20Poly1305 = (
            ChaCha20Poly1305(key) if suite == 0x1303 else AESGCM(key)
        )
        self._seq = 0

    def open(self, header: bytes, ciphertext: bytes) -> tuple[int, bytes]:
        """Decrypt one record: ``(inner content type, content)``.

        :raises InvalidTag: the record does not authenticate under the derived key, that
            is, the key exchange or the transcript did not match the server's.
        :raises RemoteProtocolError: the record holds only padding.
        """
        nonce = bytes(a ^ b for a, b in zip(self._iv, self._seq.to_bytes(12, "big"), strict=True))
        self._seq += 1
        try:
            plain = self._aead.decrypt(nonce, ciphertext, header)
        except _CryptoInvalidTag:
            raise InvalidTag(
                "the server's encrypted handshake record did not decrypt with the derived key"
            ) from None
        inner = plain.rstrip(b"\x00")
        if not inner:
            raise RemoteProtocolError("the server's encrypted record has no content type")
        return inner[-1], inner[:-1]
