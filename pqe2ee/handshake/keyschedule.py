"""The key schedule (docs/protocol.md §4-5): transcript hash, HKDF with labels, secrets.

Shaped like TLS 1.3 §7.1 with the label prefix ``"pqe2ee2 "``: the ephemeral KEM secret
enters one HKDF-Extract, each authenticating KEM secret of a ``kem`` identity (§6.2) one
more (:meth:`KeySchedule.mix`, as Noise's MixKey and KEMTLS's AHS), every traffic secret is
Derive-Secret over the transcript hash at that point, and application secrets come only
after the server's Finished.  Because every
derivation includes the transcript (both public keys, both ciphertexts, the whole offer),
the TLS-style concatenation of two KEM secrets is safe here (§8.1).
"""

from __future__ import annotations

import hashlib
import hmac

from pqe2ee.exceptions import InvalidInput
from pqe2ee.hazmat.kdf import hkdf_expand_label, hkdf_extract

__all__ = [
    "KeySchedule",
    "Transcript",
    "derive_secret",
    "expand_label",
    "finished_mac",
    "traffic_key_iv",
    "update_secret",
]

HASH_LEN = 32
_LABEL_PREFIX = b"pqe2ee2 "
_TRANSCRIPT_LABEL = b"pqe2ee handshake v2\x00"
_EMPTY_HASH = hashlib.sha256(b"").digest()
_MAX_EXPAND = 255 * HASH_LEN


def expand_label(secret: bytes, label: str, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) with this protocol's prefix ``"pqe2ee1 "``."""
    return hkdf_expand_label(secret, _LABEL_PREFIX + label.encode(), context, length)


def derive_secret(secret: bytes, label: str, transcript_hash: bytes) -> bytes:
    """Derive-Secret: a 32-byte secret bound to a transcript hash."""
    return expand_label(secret, label, transcript_hash, HASH_LEN)


def traffic_key_iv(secret: bytes) -> tuple[bytes, bytes]:
    """The AEAD key (32) and IV (12) of a traffic secret."""
    return expand_label(secret, "key", b"", 32), expand_label(secret, "iv", b"", 12)


def update_secret(secret: bytes) -> bytes:
    """The next traffic secret after a key update."""
    return expand_label(secret, "traffic upd", b"", HASH_LEN)


def finished_mac(secret: bytes, transcript_hash: bytes) -> bytes:
    """Finished verify_data: HMAC under the secret's finished key."""
    key = expand_label(secret, "finished", b"", HASH_LEN)
    return hmac.new(key, transcript_hash, hashlib.sha256).digest()


class Transcript:
    """The running hash of every handshake message, seeded with the channel binding."""

    def __init__(self, channel_binding: bytes = b"") -> None:
        if len(channel_binding) > 0xFFFF:
            raise ValueError("channel binding must be at most 65535 bytes")
        self._h = hashlib.sha256(
            _TRANSCRIPT_LABEL + len(channel_binding).to_bytes(2, "big") + channel_binding
        )

    def add(self, message: bytes) -> None:
        """Append one whole handshake message (type, length and body)."""
        self._h.update(message)

    def digest(self) -> bytes:
        """The hash of everything so far (the transcript goes on)."""
        return self._h.copy().digest()

    def digest_with(self, more: bytes) -> bytes:
        """The hash of everything so far followed by ``more``, which is not added."""
        h = self._h.copy()
        h.update(more)
        return h.digest()


def _early_salt(psk: bytes) -> bytes:
    """Derive-Secret(Early Secret, "derived", ""), Early Secret = Extract(0^32, psk)."""
    return derive_secret(hkdf_extract(bytes(HASH_LEN), psk), "derived", _EMPTY_HASH)


_NO_PSK_SALT = _early_salt(bytes(HASH_LEN))


class KeySchedule:
    """The secrets of one handshake, computed in order (§5).

    The chain secret starts as the handshake secret (the ephemeral KEM's), and each
    :meth:`mix` folds one more KEM secret into it; traffic secrets are derived from its
    current value, so a key derived after a mix is known only to whoever could derive
    every secret mixed so far.
    """

    def __init__(self, psk: bytes | None = None) -> None:
        # The salt of the handshake secret's Extract; without a PSK it is a constant.
        self._salt = _NO_PSK_SALT if psk is None else _early_salt(psk)
        self._chain: bytes | None = None
        #: ratchet_root_0 of docs/protocol.md §9.3, set with the application secrets
        self.ratchet_root: bytes | None = None

    def early_identity_secret(self, static_secret: bytes, th_prefix: bytes) -> bytes:
        """The secret sealing a client's ``kem`` identity inside its ClientHello (§6.3),
        from the secret it encapsulated to the server's known ``kem`` identity: only the
        holder of that identity's secret key can open it."""
        return derive_secret(hkdf_extract(self._salt, static_secret), "c early id", th_prefix)

    def _traffic(self, transcript_hash: bytes) -> tuple[bytes, bytes]:
        assert self._chain is not None
        return (
            derive_secret(self._chain, "c hs traffic", transcript_hash),
            derive_secret(self._chain, "s hs traffic", transcript_hash),
        )

    def handshake_secrets(
        self, kem_secret: bytes, th_server_hello: bytes, *, static_secret: bytes | None = None
    ) -> tuple[bytes, bytes]:
        """``(client, server)`` handshake traffic secrets from the ephemeral KEM secret,
        after mixing in ``static_secret`` (a ``kem`` server's, encapsulated in the
        ClientHello) when there is one."""
        self._chain = hkdf_extract(self._salt, kem_secret)
        if static_secret is not None:
            self._mix(static_secret)
        return self._traffic(th_server_hello)

    def _mix(self, kem_secret: bytes) -> None:
        if self._chain is None:
            raise RuntimeError("handshake secrets first")
        self._chain = hkdf_extract(derive_secret(self._chain, "derived", _EMPTY_HASH), kem_secret)

    def mix(self, kem_secret: bytes, transcript_hash: bytes) -> tuple[bytes, bytes]:
        """Fold an authenticating KEM secret into the chain; the new ``(client, server)``
        handshake traffic secrets at ``transcript_hash`` (the KemCiphertext's)."""
        self._mix(kem_secret)
        return self._traffic(transcript_hash)

    def application_secrets(self, th_server_finished: bytes) -> tuple[bytes, bytes, bytes]:
        """``(client, server, exporter)`` secrets, after the server's Finished."""
        if self._chain is None:
            raise RuntimeError("handshake secrets first")
        master = hkdf_extract(derive_secret(self._chain, "derived", _EMPTY_HASH), bytes(32))
        self.ratchet_root = derive_secret(master, "pq ratchet", th_server_finished)
        return (
            derive_secret(master, "c ap traffic", th_server_finished),
            derive_secret(master, "s ap traffic", th_server_finished),
            derive_secret(master, "exp master", th_server_finished),
        )


def export(exporter_secret: bytes, label: str, context: bytes, length: int) -> bytes:
    """Keying material for callers (RFC 8446 §7.5 shape).

    :raises InvalidInput: a label over 247 bytes (with the prefix, HkdfLabel's limit of
        255) or a length outside 1..8160 (HKDF-Expand's limit for SHA-256).
    """
    room = 255 - len(_LABEL_PREFIX)
    if len(label.encode()) > room:
        raise InvalidInput(f"exporter label is {len(label.encode())} bytes, at most {room}")
    if not 0 < length <= _MAX_EXPAND:
        raise InvalidInput(f"exporter length is {length}, it must be 1..{_MAX_EXPAND}")
    inner = derive_secret(exporter_secret, label, _EMPTY_HASH)
    return expand_label(inner, "exporter", hashlib.sha256(context).digest(), length)
