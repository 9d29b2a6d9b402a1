"""Identity files (pqe2ee.trust.keyfile): mode 0600, the public half, passphrase
protection (scrypt, with the header authenticated too), and malformed files refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pqe2ee.exceptions import InvalidInput, InvalidTag
from pqe2ee.handshake import AuthKind
from pqe2ee.trust import load_identity, load_public_identity, save_identity, save_public_identity
from tests.handshake.util import identity


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
