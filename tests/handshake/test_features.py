"""PSK, channel binding, byte-at-a-time delivery, the key schedule, known answers."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import Config, Connection, FixedRandomness, Policy
from pqe2ee.handshake.connection import Alert
from pqe2ee.handshake.keyschedule import expand_label
from tests.handshake.util import identity, pair, run


def test_byte_at_a_time() -> None:
    sid, cid = identity("hybrid"), identity("ml-dsa-65")
    client, server = pair(
        Config(identity=cid), Config(identity=sid, require_client_identity=True, policy=Policy())
    )
    out = run(client, server, byte_at_a_time=True)
    assert out.error is None
    assert out.client_done and out.server_done


def test_psk_agreement_and_mismatch() -> None:
    psk = os.urandom(32)
    out = run(
        *pair(
            Config(psk=psk, psk_identity=b"k1"),
            Config(identity=identity(), psk=psk, psk_identity=b"k1"),
        )
    )
    assert out.client_done and out.server_done
    # same name, different key: the key schedule diverges and the client cannot read on
    out = run(
        *pair(
            Config(psk=os.urandom(32), psk_identity=b"k1"),
            Config(identity=identity(), psk=psk, psk_identity=b"k1"),
        )
    )
    assert out.client_error is not None
    assert not out.server_done
    # a name the server does not know
    out = run(
        *pair(
            Config(psk=psk, psk_identity=b"k2"),
            Config(identity=identity(), psk=psk, psk_identity=b"k1"),
        )
    )
    assert out.server_error is not None and out.server_error.alert == Alert.UNKNOWN_PSK
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Config(psk=b"short", psk_identity=b"x")


def test_channel_binding_must_match() -> None:
    out = run(
        *pair(
            Config(channel_binding=b"A" * 32),
            Config(identity=identity(), channel_binding=b"A" * 32),
        )
    )
    assert out.client_done and out.server_done
    out = run(
        *pair(
            Config(channel_binding=b"A" * 32),
            Config(identity=identity(), channel_binding=b"B" * 32),
        )
    )
    assert out.client_error is not None
    assert not out.client_done and not out.server_done


def test_expand_label_matches_the_spec_formula() -> None:
    """docs/protocol.md §5, built by hand: u16 length || opaque8 label || opaque8 context."""
    secret, context = os.urandom(32), os.urandom(32)
    label = b"pqe2ee2 c hs traffic"
    info = (32).to_bytes(2, "big") + bytes([len(label)]) + label + bytes([32]) + context
    expected = HKDFExpand(hashes.SHA256(), 32, info).derive(secret)
    assert expand_label(secret, "c hs traffic", context, 32) == expected


def _fixed_pair() -> tuple[Connection, Connection]:
    """Classical X25519 + Ed25519 (deterministic signatures) with fixed randomness."""
    policy = Policy.for_mode("classical", identity().kind, aead="chacha20-poly1305")
    from pqe2ee.handshake import Identity

    server_id = Identity(identity().kind, [bytes(range(32))])
    client = Connection(
        Config(policy=policy),
        "client",
        fixed_randomness_for_testing_only=FixedRandomness(b"\x11" * 32, kem_seed=b"\x22" * 32),
    )
    server = Connection(
        Config(identity=server_id, policy=policy),
        "server",
        fixed_randomness_for_testing_only=FixedRandomness(
            b"\x33" * 32, encaps_randomness=b"\x44" * 32
        ),
    )
    return client, server


#: SHA-256 of every byte both sides sent, in order, for the fixed handshake above.
#: A regression anchor (protocol version 2): it changes only if the wire format or the
#: key schedule changes,
#: which must come with a protocol version bump.
KNOWN_TRANSCRIPT_SHA256 = "5654195fba0730b21334fb9da340b8b23738dd889f36fe74094d0e5471bf6a7f"


def test_known_answer_transcript() -> None:
    client, server = _fixed_pair()
    out = run(client, server)
    assert out.client_done and out.server_done
    wire = b"".join(data for _, data in out.flights)
    # deterministic: a second run gives the same bytes
    again = b"".join(data for _, data in run(*_fixed_pair()).flights)
    assert wire == again
    digest = hashlib.sha256(wire).hexdigest()
    assert digest == KNOWN_TRANSCRIPT_SHA256, digest


def test_finished_mac_is_hmac_of_the_finished_key() -> None:
    from pqe2ee.handshake.keyschedule import finished_mac

    secret, th = os.urandom(32), os.urandom(32)
    key = expand_label(secret, "finished", b"", 32)
    assert finished_mac(secret, th) == hmac.new(key, th, hashlib.sha256).digest()


def test_alert_codes_are_distinct() -> None:
    assert len({a.value for a in Alert}) == len(Alert)
    assert issubclass(type(RemoteProtocolError("x")), Exception)


def _hkdf_label(secret: bytes, label: str, context: bytes, n: int) -> bytes:
    full = b"pqe2ee2 " + label.encode()
    info = n.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(hashes.SHA256(), n, info).derive(secret)


def test_known_answer_transcript_recomputed_from_the_spec() -> None:
    """Take the fixed handshake's wire bytes and, with only the spec (docs/protocol.md
    §4-7) and cryptography's primitives, derive the server's handshake key and open its
    first encrypted record: it must be EncryptedExtensions."""
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    out = run(*_fixed_pair())
    c2s, s2c = out.flights[0][1], out.flights[1][1]
    assert c2s[0] == 0x16 and s2c[0] == 0x16
    ch = c2s[4:]
    sh_len = int.from_bytes(s2c[1:4], "big")
    sh, rest = s2c[4 : 4 + sh_len], s2c[4 + sh_len :]
    # X25519: client ephemeral = 0x22..., server encapsulation randomness = 0x44...
    client_eph = x25519.X25519PrivateKey.from_private_bytes(b"\x22" * 32)
    server_eph = x25519.X25519PrivateKey.from_private_bytes(b"\x44" * 32)
    shared = server_eph.exchange(client_eph.public_key())
    assert sh.endswith(server_eph.public_key().public_bytes_raw())
    cb = b""
    th = hashlib.sha256(
        b"pqe2ee handshake v2\x00" + len(cb).to_bytes(2, "big") + cb + ch + sh
    ).digest()
    empty = hashlib.sha256(b"").digest()
    early = hmac.new(bytes(32), bytes(32), hashlib.sha256).digest()
    salt = _hkdf_label(early, "derived", empty, 32)
    hs = hmac.new(salt, shared, hashlib.sha256).digest()
    s_hs = _hkdf_label(hs, "s hs traffic", th, 32)
    key, iv = _hkdf_label(s_hs, "key", b"", 32), _hkdf_label(s_hs, "iv", b"", 12)
    header = rest[:4]
    length = int.from_bytes(header[1:], "big")
    plain = ChaCha20Poly1305(key).decrypt(iv, rest[4 : 4 + length], header)  # seq 0
    # the whole server flight in one record: EncryptedExtensions(flags 0), then Identity
    # (type 11), IdentityVerify, Finished, then the inner type
    assert plain.startswith(bytes([8, 0, 0, 1, 0, 11]))
    assert plain[-1] == 0x16
    assert plain[-37:-33] == bytes([20, 0, 0, 32])  # Finished: type 20, length 32
