"""pqe2ee.age through its API: round trips, recipients and keys, and every failure of
issue 5 item 4 (no output written, an existing output never clobbered)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from pqe2ee import age
from pqe2ee.age import bech32
from pqe2ee.age.armor import ArmorReader, ArmorWriter
from pqe2ee.age.format import Header, Stanza, b64decode, read_header
from pqe2ee.exceptions import InvalidTag

CHUNK = 64 * 1024


def seal(data: bytes, recipients: list[age.Recipient], armor: bool = False) -> bytes:
    out = io.BytesIO()
    age.encrypt(io.BytesIO(data), out, recipients, armor=armor)
    return out.getvalue()


def unseal(data: bytes, identities: list[age.Identity]) -> bytes:
    out = io.BytesIO()
    age.decrypt(io.BytesIO(data), out, identities)
    return out.getvalue()


@pytest.fixture(scope="module")
def x() -> age.X25519Identity:
    return age.X25519Identity.generate()


@pytest.fixture(scope="module")
def pq() -> age.HybridIdentity:
    return age.HybridIdentity.generate()


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17, 300 * CHUNK + 5]
)
def test_round_trip_sizes(size: int, x: age.X25519Identity) -> None:
    data = os.urandom(size)
    sealed = seal(data, [x.recipient()])
    assert unseal(sealed, [x]) == data
    # The payload is STREAM: one 16-byte tag per 64 KiB chunk, at least one chunk.
    header = read_header(io.BytesIO(sealed))
    assert len(sealed) == len(header.encode()) + 16 + size + 16 * max(1, -(-size // CHUNK))


@pytest.mark.parametrize("armor", [False, True])
def test_several_recipients_each_open(armor: bool) -> None:
    ids = [age.HybridIdentity.generate() for _ in range(3)]
    data = os.urandom(2 * CHUNK + 5)
    sealed = seal(data, [i.recipient() for i in ids], armor=armor)
    assert sealed.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n") == armor
    for i in ids:
        assert unseal(sealed, [i]) == data
    # Unrelated identities first do not matter.
    assert unseal(sealed, [age.X25519Identity.generate(), ids[2]]) == data


def test_several_x25519_recipients(x: age.X25519Identity) -> None:
    other = age.X25519Identity.generate()
    sealed = seal(b"to both", [other.recipient(), x.recipient()])
    assert unseal(sealed, [x]) == unseal(sealed, [other]) == b"to both"


def test_scrypt_round_trip() -> None:
    sealed = seal(b"secret", [age.ScryptRecipient("correct horse", work_factor=10)])
    assert unseal(sealed, [age.ScryptIdentity("correct horse")]) == b"secret"
    with pytest.raises(age.AgeNoIdentityMatch):
        unseal(sealed, [age.ScryptIdentity("wrong horse")])
    with pytest.raises(age.AgeHeaderError, match="work factor 10 exceeds the limit 9"):
        unseal(sealed, [age.ScryptIdentity("correct horse", max_work_factor=9)])


def test_recipient_rules(x: age.X25519Identity, pq: age.HybridIdentity) -> None:
    with pytest.raises(ValueError, match="cannot be mixed"):
        seal(b"", [pq.recipient(), x.recipient()])
    with pytest.raises(ValueError, match="only recipient"):
        seal(b"", [age.ScryptRecipient("pw", work_factor=1), x.recipient()])
    with pytest.raises(ValueError, match="at least one"):
        seal(b"", [])


def test_key_strings_round_trip(x: age.X25519Identity, pq: age.HybridIdentity) -> None:
    for ident, rprefix, iprefix in (
        (x, "age1", "AGE-SECRET-KEY-1"),
        (pq, "age1pq1", "AGE-SECRET-KEY-PQ-1"),
    ):
        r, i = str(ident.recipient()), str(ident)
        assert r.startswith(rprefix)
        assert i.startswith(iprefix)
        assert str(age.parse_recipient(r)) == r
        assert str(age.parse_identity(i)) == i
        assert str(age.identity_recipient(age.parse_identity(i))) == r
    assert len(str(pq.recipient())) == 1959  # Bech32 without BIP 173's 90-character limit
    assert "SECRET" not in repr(pq)
    assert str(x) not in repr(x)


@pytest.mark.parametrize(
    "bad",
    [
        "age1qqqq",
        "AGE1ZJMEYK5SQTHRMK924VD2Q26MQM28970AG2Q94HWVGF62T35FLC5S6ADDS5",  # upper-case recipient
        "age1zjmeyk5sqthrmk924vd2q26mqm28970ag2q94hwvgf62t35flc5s6adds4",  # checksum
        "ssh-ed25519 AAAA",
    ],
)
def test_bad_recipients(bad: str) -> None:
    with pytest.raises(ValueError, match=r"bech32|recipient"):
        age.parse_recipient(bad)


def test_bad_identities(x: age.X25519Identity) -> None:
    with pytest.raises(ValueError, match="expected AGE-SECRET-KEY"):
        age.parse_identity("age1zjmeyk5sqthrmk924vd2q26mqm28970ag2q94hwvgf62t35flc5s6adds5")
    with pytest.raises(ValueError, match="bech32"):
        age.parse_identity(str(x)[:-1] + ("Q" if str(x)[-1] != "Q" else "P"))
    with pytest.raises(ValueError, match="line 2"):
        age.parse_identities(f"# a comment\nnot a key\n{x}\n")
    assert len(age.parse_identities(f"# c\n\n{x}\n  {x}  \n")) == 2


def test_bech32_bip173_vectors() -> None:
    # BIP 173's valid test strings.
    for s in (
        "A12UEL5L",
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    ):
        hrp, data = bech32.decode(s)
        assert bech32.encode(hrp, data, upper=s.isupper()) == s
    for bad in ("A1G7SGD8", "a12UEL5L", "1pzry9x0s0muk", "abc1rzg"):
        with pytest.raises(ValueError, match="bech32"):
            bech32.decode(bad)


def test_header_encoding_is_parsed_back() -> None:
    stanzas = [Stanza("test", ["a", "b"], bytes(range(48))), Stanza("x", ["y"], b"")]
    header = Header.build(stanzas, bytes(16))
    raw = header.encode()
    assert b"\n\n" in raw  # a 48-byte body ends with an empty line
    parsed = read_header(io.BytesIO(raw))
    assert parsed.stanzas == stanzas
    assert parsed.encode() == raw
    parsed.verify_mac(bytes(16))


def test_strict_base64() -> None:
    assert b64decode("AAA", "x") == b"\x00\x00"
    for bad in ("AAB", "AAA=", "A", "AA A"):
        with pytest.raises(age.AgeHeaderError):
            b64decode(bad, "x")


def test_armor_writer_reader_round_trip() -> None:
    for n in (0, 1, 47, 48, 49, 480, 1000):
        out = io.BytesIO()
        w = ArmorWriter(out)
        data = os.urandom(n)
        w.write(data[:10])
        w.write(data[10:])
        w.close()
        lines = out.getvalue().split(b"\n")
        assert all(len(line) <= 64 for line in lines)
        assert io.BufferedReader(ArmorReader(io.BytesIO(out.getvalue()))).read() == data


# --- failures: one line, nothing written, nothing clobbered ----------------------------


@pytest.fixture
def sealed_file(tmp_path: Path, x: age.X25519Identity) -> tuple[Path, bytes]:
    data = os.urandom(3 * CHUNK + 100)
    path = tmp_path / "f.age"
    age.encrypt(io.BytesIO(data), path, [x.recipient()])
    return path, data


def _damage(raw: bytes, kind: str) -> bytes:
    header_end = raw.index(b"\n---") + 48
    if kind == "header":
        return raw.replace(b"-> X25519", b"-> X25519 extra", 1)
    if kind == "hmac":
        i = raw.index(b"\n---") + 10  # a base64 character of the MAC, not the last
        return raw[:i] + (b"B" if raw[i : i + 1] == b"A" else b"A") + raw[i + 1 :]
    if kind == "payload":
        i = header_end + 16 + 2 * (CHUNK + 16) + 5  # inside the third chunk
        return raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]
    if kind == "truncated":
        return raw[: header_end + 16 + 3 * (CHUNK + 16)]  # the final chunk is gone
    if kind == "extended":
        return raw + b"\x00"
    if kind == "no nonce":
        return raw[: header_end + 5]
    raise AssertionError(kind)


FAILURES = {
    "header": age.AgeHeaderError,
    "hmac": age.AgeHeaderMACError,
    "payload": age.AgePayloadError,
    "truncated": age.AgePayloadError,
    "extended": age.AgePayloadError,
    "no nonce": age.AgeHeaderError,
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_failure_leaves_output_alone(
    kind: str, tmp_path: Path, sealed_file: tuple[Path, bytes], x: age.X25519Identity
) -> None:
    path, _ = sealed_file
    bad = tmp_path / "bad.age"
    bad.write_bytes(_damage(path.read_bytes(), kind))
    out = tmp_path / "out"
    with pytest.raises(FAILURES[kind]):
        age.decrypt(bad, out, [x])
    assert not out.exists()
    out.write_bytes(b"precious")
    with pytest.raises(FAILURES[kind]):
        age.decrypt(bad, out, [x])
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.age", "f.age", "out"]


def test_wrong_identity_leaves_output_alone(
    tmp_path: Path, sealed_file: tuple[Path, bytes]
) -> None:
    out = tmp_path / "out"
    with pytest.raises(age.AgeNoIdentityMatch):
        age.decrypt(sealed_file[0], out, [age.X25519Identity.generate()])
    assert not out.exists()


def test_payload_failure_releases_only_authenticated_chunks(
    sealed_file: tuple[Path, bytes], x: age.X25519Identity
) -> None:
    path, data = sealed_file
    reader = age.AgeReader(io.BytesIO(_damage(path.read_bytes(), "payload")), [x])
    got = bytearray()

    def drain() -> None:
        for block in reader.blocks():
            got.extend(block)

    with pytest.raises(InvalidTag):
        drain()
    assert bytes(got) == data[: 2 * CHUNK]  # the two chunks before the damaged one


def test_armor_failure(tmp_path: Path, x: age.X25519Identity) -> None:
    armored = seal(b"hi", [x.recipient()], armor=True)
    with pytest.raises(age.AgeArmorError):
        unseal(armored.replace(b"-----END", b"-----FIN"), [x])
    with pytest.raises(age.AgeArmorError):
        unseal(armored + b"trailing", [x])


def test_decrypt_to_existing_path_replaces_on_success(
    tmp_path: Path, sealed_file: tuple[Path, bytes], x: age.X25519Identity
) -> None:
    out = tmp_path / "out"
    out.write_bytes(b"old")
    age.decrypt(sealed_file[0], out, [x])
    assert out.read_bytes() == sealed_file[1]
    assert oct(out.stat().st_mode & 0o777) == "0o600"


# --- the payload adapter at batch boundaries -------------------------------------------


def _released(raw: bytes, identity: age.Identity) -> tuple[bytes, bool]:
    got = bytearray()
    try:
        for block in age.AgeReader(io.BytesIO(raw), [identity]).blocks():
            got += block
    except age.AgePayloadError:
        return bytes(got), False
    return bytes(got), True


@pytest.mark.parametrize("batch_chunks", [1, 2, 3])
@pytest.mark.parametrize("extra", [0, 7])
def test_released_prefix_across_batches(
    monkeypatch: pytest.MonkeyPatch, x: age.X25519Identity, batch_chunks: int, extra: int
) -> None:
    """Whatever the batch size, age's rule: every chunk before the failure comes out."""
    from pqe2ee.age import payload

    monkeypatch.setattr(payload, "_BATCH", batch_chunks * (CHUNK + 16) + extra)
    data = os.urandom(7 * CHUNK + 10)  # 8 chunks, the last short
    raw = seal(data, [x.recipient()])
    start = len(raw) - (len(data) + 8 * 16)
    assert _released(raw, x) == (data, True)
    for bad_chunk in range(8):
        i = start + bad_chunk * (CHUNK + 16) + 3
        damaged = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]
        assert _released(damaged, x) == (data[: bad_chunk * CHUNK], False)
    # Cut after k full chunks: those k were authenticated as non-final and come out.
    for k in range(1, 8):
        assert _released(raw[: start + k * (CHUNK + 16)], x) == (data[: k * CHUNK], False)
    # Data after a short final chunk: read in whole chunks (as age does), the final chunk
    # and the data after it form one bad chunk, so it does not come out.
    assert _released(raw + b"x" * (CHUNK + 16), x) == (data[: 7 * CHUNK], False)


def test_full_final_chunk_followed_by_data(x: age.X25519Identity) -> None:
    data = os.urandom(2 * CHUNK)  # the final chunk is full size
    raw = seal(data, [x.recipient()])
    assert _released(raw, x) == (data, True)
    assert _released(raw + raw[-(CHUNK + 16) :], x) == (data, False)


def test_hybrid_stanza_opens_with_cryptography_hpke(pq: age.HybridIdentity) -> None:
    """Our mlkem768x25519 stanza, opened by an independent HPKE (OpenSSL via cryptography)."""
    import hashlib

    from cryptography.hazmat.primitives import hpke as chpke
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

    file_key = os.urandom(16)
    (stanza,) = pq.recipient().wrap(file_key)
    assert stanza.type == "mlkem768x25519"
    enc = b64decode(stanza.args[0], "enc")
    seed = bech32.decode(str(pq))[1]
    expanded = hashlib.shake_256(seed).digest(96)
    sk = chpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )
    suite = chpke.Suite(
        chpke.KEM.MLKEM768_X25519, chpke.KDF.HKDF_SHA256, chpke.AEAD.CHACHA20_POLY1305
    )
    opened = suite.decrypt(enc + stanza.body, sk, info=b"age-encryption.org/mlkem768x25519")
    assert opened == file_key
