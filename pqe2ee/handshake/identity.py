"""Long-term identities: signing keys, their public form, fingerprints, safety numbers.

An identity signs handshakes (docs/protocol.md §6) with Ed25519 (RFC 8032), ML-DSA-65
(FIPS 204), or both (``hybrid``: both signatures are sent and both must verify, so it
stays unforgeable while either scheme holds), or, for the ``kem`` kind (§6.2), holds a
static X-Wing key pair (draft-connolly-cfrg-xwing-kem §5): it proves itself by
decapsulating what the peer encapsulated to it, which only the holder of the secret key
can do while either ML-KEM-768 or X25519 holds.  The private key is kept as 32-byte
seeds; it never appears in a repr.

The fingerprint hashes the whole public identity, kind included, so two kinds can never
share one.  The safety number is computed from both fingerprints in sorted order so both
sides see the same digits (as in Signal).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from functools import cached_property

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from pqe2ee.backends.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey
from pqe2ee.exceptions import InvalidInput, InvalidSignature
from pqe2ee.handshake.suites import AuthKind
from pqe2ee.hazmat.kem import KEMPrivateKey, KEMPublicKey, get_kem

__all__ = [
    "Identity",
    "PublicIdentity",
    "format_fingerprint",
    "parse_fingerprint",
    "safety_number",
]

_FP_PREFIX = b"pqe2ee identity v1\x00"
_ED_PK, _MLDSA_PK = 32, 1952
_ED_SIG, _MLDSA_SIG = 64, 3309
#: The static KEM of a ``kem`` identity, its public key and ciphertext sizes.
STATIC_KEM = "X-Wing"
_XWING_PK, STATIC_KEM_CIPHERTEXT = 1216, 1120

#: The key and signature sizes of each kind, in wire order.
_LAYOUT: dict[AuthKind, tuple[tuple[int, int], ...]] = {
    AuthKind.ED25519: ((_ED_PK, _ED_SIG),),
    AuthKind.ML_DSA_65: ((_MLDSA_PK, _MLDSA_SIG),),
    AuthKind.HYBRID: ((_ED_PK, _ED_SIG), (_MLDSA_PK, _MLDSA_SIG)),
    AuthKind.KEM: ((_XWING_PK, 0),),  # no signature: it decapsulates
}


@functools.lru_cache(maxsize=256)
def _parse_static_kem_key(raw: bytes) -> KEMPublicKey:
    """A ``kem`` identity's X-Wing key, parsed (and checked, FIPS 203 §7.2) once: a
    server meets the same clients again and again, and parsing costs about a quarter of
    an encapsulation.  Public data only, keyed by its bytes; failures are not cached."""
    return get_kem(STATIC_KEM).from_public_bytes(raw)


def _schemes(kind: AuthKind) -> tuple[str, ...]:
    return {
        AuthKind.ED25519: ("ed25519",),
        AuthKind.ML_DSA_65: ("ml-dsa-65",),
        AuthKind.HYBRID: ("ed25519", "ml-dsa-65"),
        AuthKind.KEM: ("x-wing",),
    }[kind]


class PublicIdentity:
    """The public half of an identity: what a peer sees, pins and verifies against."""

    __slots__ = ("__dict__", "_keys", "kind")

    def __init__(self, kind: AuthKind, keys: Sequence[bytes]) -> None:
        layout = _LAYOUT[kind]
        if len(keys) != len(layout):
            raise InvalidInput(f"a {kind.value} identity has {len(layout)} key(s), got {len(keys)}")
        for key, (size, _) in zip(keys, layout, strict=True):
            if len(key) != size:
                raise InvalidInput(
                    f"{kind.value} identity key must be {size} bytes, got {len(key)}"
                )
        self.kind = kind
        self._keys = tuple(bytes(k) for k in keys)

    @cached_property
    def _static_kem_key(self) -> KEMPublicKey:
        try:
            return _parse_static_kem_key(self._keys[0])
        except InvalidInput as exc:
            raise InvalidInput(f"invalid kem identity key: {exc}") from None

    @cached_property
    def _verifiers(self) -> list[ed25519.Ed25519PublicKey | MLDSA65PublicKey]:
        out: list[ed25519.Ed25519PublicKey | MLDSA65PublicKey] = []
        if not self.kind.signs:
            return out
        for scheme, key in zip(_schemes(self.kind), self._keys, strict=True):
            try:
                if scheme == "ed25519":
                    out.append(ed25519.Ed25519PublicKey.from_public_bytes(key))
                else:
                    out.append(MLDSA65PublicKey.from_public_bytes(key))
            except ValueError:
                raise InvalidInput(f"invalid {scheme} public key in identity") from None
        return out

    @property
    def keys(self) -> tuple[bytes, ...]:
        """The raw public keys, in wire order (Ed25519 before ML-DSA-65)."""
        return self._keys

    def encode(self) -> bytes:
        """The Identity message body: ``kind u16 || u8 count || opaque16 keys``."""
        out = self.kind.code.to_bytes(2, "big") + bytes([len(self._keys)])
        for key in self._keys:
            out += len(key).to_bytes(2, "big") + key
        return out

    @classmethod
    def decode(cls, body: bytes) -> PublicIdentity:
        """Parse an Identity message body strictly.

        :raises InvalidInput: unknown kind, wrong key count or size, trailing bytes.
        """
        if len(body) < 3:
            raise InvalidInput("identity is truncated")
        try:
            kind = AuthKind.from_code(int.from_bytes(body[:2], "big"))
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        count, pos, keys = body[2], 3, []
        for _ in range(count):
            if pos + 2 > len(body):
                raise InvalidInput("identity is truncated")
            size = int.from_bytes(body[pos : pos + 2], "big")
            if pos + 2 + size > len(body):
                raise InvalidInput("identity is truncated")
            keys.append(body[pos + 2 : pos + 2 + size])
            pos += 2 + size
        if pos != len(body):
            raise InvalidInput("identity has trailing bytes")
        identity = cls(kind, keys)
        # parse the keys now: a bad key (e.g. failing FIPS 203 §7.2) is a decode error
        _ = identity._verifiers if kind.signs else identity._static_kem_key
        return identity

    def fingerprint(self) -> bytes:
        """SHA-256 over the canonical encoding, kind included (32 bytes)."""
        return hashlib.sha256(_FP_PREFIX + self.encode()).digest()

    def fingerprint_hex(self) -> str:
        """The fingerprint as 64 hex digits in groups of four: what users compare and pin."""
        return format_fingerprint(self.fingerprint())

    def encapsulate(self) -> tuple[bytes, bytes]:
        """Encapsulate to a ``kem`` identity: ``(shared_secret, ciphertext)``; only the
        holder of its secret key can recover the secret (§6.2).

        :raises TypeError: this identity signs instead.
        """
        if self.kind is not AuthKind.KEM:
            raise TypeError(f"a {self.kind.value} identity signs; it has no KEM key")
        return self._static_kem_key.encapsulate()

    def encapsulate_derand_for_testing_only(self, randomness: bytes) -> tuple[bytes, bytes]:
        """Known-answer tests only: :meth:`encapsulate` with fixed randomness (64 bytes).
        Fixed randomness outside a test gives the secret away."""
        if self.kind is not AuthKind.KEM:
            raise TypeError(f"a {self.kind.value} identity signs; it has no KEM key")
        return get_kem(STATIC_KEM).encapsulate_derand_for_testing_only(self._keys[0], randomness)

    def verify(self, message: bytes, signatures: Sequence[bytes]) -> None:
        """Check one signature per key over ``message``; all must verify.

        :raises InvalidSignature: any signature is missing, malformed or wrong, or this
            identity is a ``kem`` one (it never signs).
        """
        if not self.kind.signs:
            raise InvalidSignature("a kem identity does not sign")
        layout = _LAYOUT[self.kind]
        if len(signatures) != len(layout):
            raise InvalidSignature(
                f"a {self.kind.value} identity needs {len(layout)} signature(s), "
                f"got {len(signatures)}"
            )
        for verifier, sig, scheme in zip(
            self._verifiers, signatures, _schemes(self.kind), strict=True
        ):
            try:
                verifier.verify(sig, message)
            except _CryptoInvalidSignature:
                raise InvalidSignature(f"{scheme} signature does not verify") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicIdentity):
            return NotImplemented
        return hmac.compare_digest(self.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        return f"<PublicIdentity {self.kind.value} {self.fingerprint().hex()[:16]}>"


class Identity:
    """A long-term signing identity (private).  Create with :meth:`generate`."""

    __slots__ = ("_kem_key", "_public", "_seeds", "_signers", "kind")

    def __init__(self, kind: AuthKind, seeds: Sequence[bytes]) -> None:
        schemes = _schemes(kind)
        if len(seeds) != len(schemes) or any(len(s) != 32 for s in seeds):
            raise InvalidInput(f"a {kind.value} identity needs {len(schemes)} seed(s) of 32 bytes")
        self.kind = kind
        self._seeds = tuple(bytes(s) for s in seeds)
        self._signers: list[ed25519.Ed25519PrivateKey | MLDSA65PrivateKey] = []
        self._kem_key: KEMPrivateKey | None = None
        if not kind.signs:
            # expanded once (about 0.3 ms): every handshake decapsulates with it
            self._kem_key = get_kem(STATIC_KEM).from_seed_bytes(self._seeds[0])
            pk = self._kem_key.public_key().public_bytes_raw()
            self._public = PublicIdentity(kind, [pk])
            return
        keys = []
        for scheme, seed in zip(schemes, self._seeds, strict=True):
            signer: ed25519.Ed25519PrivateKey | MLDSA65PrivateKey
            if scheme == "ed25519":
                signer = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
            else:
                signer = MLDSA65PrivateKey.from_seed_bytes(seed)
            self._signers.append(signer)
            keys.append(signer.public_key().public_bytes_raw())
        self._public = PublicIdentity(kind, keys)

    @classmethod
    def generate(cls, kind: AuthKind | str = AuthKind.ED25519) -> Identity:
        """A fresh random identity of ``kind``."""
        kind = AuthKind(kind)
        return cls(kind, [os.urandom(32) for _ in _schemes(kind)])

    def public(self) -> PublicIdentity:
        """The public identity to hand to peers."""
        return self._public

    def seeds(self) -> tuple[bytes, ...]:
        """The private seeds, for storage in an identity file.  Keep them secret."""
        return self._seeds

    def sign(self, message: bytes) -> list[bytes]:
        """One signature per key, in wire order.

        :raises TypeError: a ``kem`` identity, which never signs.
        """
        if not self.kind.signs:
            raise TypeError("a kem identity does not sign; it decapsulates")
        return [signer.sign(message) for signer in self._signers]

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """The shared secret a peer encapsulated to this ``kem`` identity (§6.2).

        X-Wing's ML-KEM half rejects implicitly: a wrong ciphertext gives a secret the
        peer does not have, so the Finished MAC that follows fails, never this call.

        :raises TypeError: a signing identity.
        :raises InvalidInput: a ciphertext of the wrong length, or an X25519 half that
            gives an all-zero secret.
        """
        if self._kem_key is None:
            raise TypeError(f"a {self.kind.value} identity signs; it has no KEM key")
        return self._kem_key.decapsulate(ciphertext)

    def __repr__(self) -> str:
        return (
            f"<Identity {self.kind.value} {self._public.fingerprint().hex()[:16]} (secret hidden)>"
        )


def format_fingerprint(fingerprint: bytes) -> str:
    """A fingerprint as people read it: hex digits in groups of four, space-separated.

    :func:`parse_fingerprint` reads it back, as it reads the same digits without spaces.
    """
    h = fingerprint.hex()
    return " ".join(h[i : i + 4] for i in range(0, len(h), 4))


def parse_fingerprint(text: str) -> bytes:
    """Read a fingerprint as users write it: hex, with any spaces, colons or dashes,
    optionally prefixed ``sha256:``.

    :raises ValueError: not 64 hex digits.
    """
    cleaned = re.sub(r"[\s:\-]", "", text.strip().lower().removeprefix("sha256:"))
    if not re.fullmatch(r"[0-9a-f]{64}", cleaned):
        raise ValueError(f"not a fingerprint (want 64 hex digits): {text!r}")
    return bytes.fromhex(cleaned)


def safety_number(a: PublicIdentity, b: PublicIdentity) -> str:
    """A 60-digit number both sides compute alike, to compare out of band.

    The two fingerprints are sorted, then iterated through SHA-512 5200 times (as in
    Signal, to make finding a colliding identity costly); each 5 of the first 60 bytes
    become one of 12 groups of 5 digits.
    """
    joined = b"".join(sorted((a.fingerprint(), b.fingerprint())))
    h = b"pqe2ee safety number v1\x00" + joined
    for _ in range(5200):
        h = hashlib.sha512(h + joined).digest()
    groups = [int.from_bytes(h[i : i + 5], "big") % 100000 for i in range(0, 60, 5)]
    return " ".join(f"{g:05d}" for g in groups)
