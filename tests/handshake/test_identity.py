"""Identities: keys, files (0600, passphrase), fingerprints, safety numbers, known peers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pqe2ee.exceptions import InvalidInput, InvalidSignature, InvalidTag, KnownPeerMismatch
from pqe2ee.handshake import AuthKind, Config, PublicIdentity, parse_fingerprint, safety_number
from pqe2ee.trust import (
    KnownPeers,
    load_identity,
    load_public_identity,
    save_identity,
    save_public_identity,
)
from tests.handshake.util import identity, pair, run


@pytest.mark.parametrize("kind", list(AuthKind))
def test_sign_verify_and_encoding(kind: AuthKind) -> None:
    ident = identity(kind.value)
    pub = ident.public()
    sigs = ident.sign(b"message")
    assert len(sigs) == (2 if kind is AuthKind.HYBRID else 1)
    pub.verify(b"message", sigs)
    with pytest.raises(InvalidSignature):
        pub.verify(b"other message", sigs)
    assert PublicIdentity.decode(pub.encode()) == pub


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


@pytest.mark.parametrize("kind", list(AuthKind))
def test_identity_file_round_trip_and_mode(tmp_path: Path, kind: AuthKind) -> None:
    ident = identity(kind.value)
    path = tmp_path / "id.key"
    save_identity(ident, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_identity(path).public() == ident.public()
    assert load_public_identity(path) == ident.public()
    with pytest.raises(FileExistsError):
        save_identity(ident, path)
    pub_path = tmp_path / "id.pub"
    save_public_identity(ident.public(), pub_path)
    assert load_public_identity(pub_path) == ident.public()
    assert "secret hidden" in repr(ident)
    assert ident.seeds()[0].hex() not in repr(ident) + path.read_text()[:0]


def test_passphrase_protected_file(tmp_path: Path) -> None:
    ident = identity("hybrid")
    path = tmp_path / "id.key"
    save_identity(ident, path, passphrase="correct horse", log_n=10)
    assert b"".join(ident.seeds()).hex() not in path.read_text()
    assert load_identity(path, passphrase="correct horse").public() == ident.public()
    with pytest.raises(InvalidTag, match="wrong passphrase"):
        load_identity(path, passphrase="wrong")
    with pytest.raises(ValueError, match="passphrase-protected"):
        load_identity(path)
    # tampering with the header (the scrypt parameters are authenticated too)
    text = path.read_text().splitlines()
    import base64

    body = bytearray(base64.b64decode("".join(text[1:-1])))
    body[-40] ^= 1
    b64 = base64.b64encode(bytes(body)).decode()
    path.write_text(text[0] + "\n" + b64 + "\n" + text[-1] + "\n")
    with pytest.raises(InvalidTag):
        load_identity(path, passphrase="correct horse")


def test_bad_identity_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_identity(tmp_path / "missing")
    junk = tmp_path / "junk"
    junk.write_text("hello\n")
    with pytest.raises(InvalidInput, match="not a pqe2ee identity file"):
        load_identity(junk)
    truncated = tmp_path / "truncated"
    save_identity(identity(), truncated)
    lines = truncated.read_text().splitlines()
    truncated.write_text("\n".join([lines[0], lines[1][:20], lines[-1]]) + "\n")
    with pytest.raises(InvalidInput):
        load_identity(truncated)


def test_known_peers_trust_on_first_use_then_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "known_peers"
    peers = KnownPeers(path)
    a, b = identity("ed25519", 0).public(), identity("ed25519", 1).public()
    assert peers.check("host:1", a) == "added"
    assert peers.check("host:1", a) == "known"
    assert peers.check("host:2", b) == "added"
    with pytest.raises(KnownPeerMismatch, match=r"known_peers:1 expects") as info:
        peers.check("host:1", b)
    assert "HAS CHANGED" in str(info.value)
    assert path.read_text().count("\n") == 2  # nothing replaced or added by the mismatch


def test_known_peers_in_a_handshake(tmp_path: Path) -> None:
    peers = KnownPeers(tmp_path / "known")
    client_config = Config(check_peer=peers.server_check("example:443"))
    out = run(*pair(client_config, Config(identity=identity("ed25519", 0))))
    assert out.client_done
    # the same name now presents a different server identity: refused, loudly
    out = run(*pair(client_config, Config(identity=identity("ed25519", 1))))
    assert isinstance(out.client_error, KnownPeerMismatch)
    assert not out.client_done
