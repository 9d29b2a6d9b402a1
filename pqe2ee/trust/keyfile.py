"""Identity files: private identities on disk (0600, optionally passphrase-protected)
and public identities to hand out.

Private file, PEM-style armour around::

    "pqe2ee-identity-v1" 0x00 || kind u16 || protection u8 || [scrypt params] || seeds

``protection`` 0 stores the seeds in the clear (the file mode is the only guard); 1
derives a key with scrypt (RFC 7914; N = 2^log_n, r, p, a 16-byte salt) and seals the
seeds with ChaCha20-Poly1305 under a 12-byte nonce, the header as associated data, so a
wrong passphrase and a tampered file both fail with :class:`InvalidTag`.  Files are
written to a temporary file in the same folder with mode 0600 and renamed into place;
an existing file is never overwritten unless asked.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pqe2ee._fileio import atomic_output
from pqe2ee.exceptions import InvalidInput, InvalidTag
from pqe2ee.handshake.identity import Identity, PublicIdentity
from pqe2ee.handshake.suites import AuthKind

__all__ = [
    "change_passphrase",
    "is_protected",
    "load_identity",
    "load_public_identity",
    "save_identity",
    "save_public_identity",
]

_MAGIC = b"pqe2ee-identity-v1\x00"
_PRIVATE_LABEL = "PQE2EE IDENTITY"
_PUBLIC_LABEL = "PQE2EE PUBLIC IDENTITY"
#: scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB; time in docs/performance.md); a file may ask
#: for at most 2^20 so that a hostile file cannot make the loader use gigabytes.
DEFAULT_LOG_N, MAX_LOG_N = 17, 20


def _armor(label: str, body: bytes) -> str:
    b64 = base64.b64encode(body).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _unarmor(text: str, label: str, path: Path) -> bytes:
    lines = [line.strip() for line in text.strip().splitlines()]
    if (
        len(lines) < 3
        or lines[0] != f"-----BEGIN {label}-----"
        or lines[-1] != f"-----END {label}-----"
    ):
        raise InvalidInput(f"{path}: not a {label.lower()} file")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError:
        raise InvalidInput(f"{path}: corrupt base64 in {label.lower()} file") from None


def _write_new(path: Path, data: str, mode: int, overwrite: bool) -> None:
    with atomic_output(path, mode=mode, overwrite=overwrite) as f:
        f.write(data.encode())
        f.flush()
        os.fsync(f.fileno())


def _scrypt_key(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=r, p=p).derive(passphrase.encode())


def save_identity(
    identity: Identity,
    path: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    overwrite: bool = False,
    log_n: int = DEFAULT_LOG_N,
) -> None:
    """Write ``identity`` to ``path`` with mode 0600, sealed under ``passphrase`` if given."""
    path = Path(path)
    header = _MAGIC + identity.kind.code.to_bytes(2, "big")
    seeds = b"".join(identity.seeds())
    if passphrase is None:
        body = header + b"\x00" + seeds
    else:
        if not passphrase:
            raise ValueError("an empty passphrase protects nothing; pass None for no passphrase")
        salt, nonce = os.urandom(16), os.urandom(12)
        params = bytes([log_n, 8, 1]) + salt + nonce
        header += b"\x01" + params
        key = _scrypt_key(passphrase, salt, log_n, 8, 1)
        body = header + ChaCha20Poly1305(key).encrypt(nonce, seeds, header)
    _write_new(path, _armor(_PRIVATE_LABEL, body), 0o600, overwrite)


def load_identity(path: str | os.PathLike[str], *, passphrase: str | None = None) -> Identity:
    """Read a private identity file.

    :raises FileNotFoundError: no such file.
    :raises InvalidInput: not an identity file, or malformed.
    :raises ValueError: the file is protected and no passphrase was given.
    :raises InvalidTag: wrong passphrase, or the protected file was altered.
    """
    path = Path(path)
    body = _unarmor(path.read_text(), _PRIVATE_LABEL, path)
    if not body.startswith(_MAGIC) or len(body) < len(_MAGIC) + 3:
        raise InvalidInput(f"{path}: not a pqe2ee identity (bad magic)")
    pos = len(_MAGIC)
    try:
        kind = AuthKind.from_code(int.from_bytes(body[pos : pos + 2], "big"))
    except ValueError as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    protection, pos = body[pos + 2], pos + 3
    n_seeds = 2 if kind is AuthKind.HYBRID else 1
    if protection == 0:
        seeds = body[pos:]
    elif protection == 1:
        if passphrase is None:
            raise ValueError(f"{path} is passphrase-protected; a passphrase is needed")
        if len(body) < pos + 31:
            raise InvalidInput(f"{path}: truncated identity file")
        log_n, r, p = body[pos], body[pos + 1], body[pos + 2]
        if not 10 <= log_n <= MAX_LOG_N or r != 8 or not 1 <= p <= 4:
            raise InvalidInput(f"{path}: scrypt parameters out of range (log2 N = {log_n})")
        salt, nonce = body[pos + 3 : pos + 19], body[pos + 19 : pos + 31]
        header, sealed = body[: pos + 31], body[pos + 31 :]
        key = _scrypt_key(passphrase, salt, log_n, r, p)
        try:
            seeds = ChaCha20Poly1305(key).decrypt(nonce, sealed, header)
        except Exception:
            raise InvalidTag(f"{path}: wrong passphrase, or the file was altered") from None
    else:
        raise InvalidInput(f"{path}: unknown protection {protection}")
    if len(seeds) != 32 * n_seeds:
        raise InvalidInput(f"{path}: truncated identity file")
    return Identity(kind, [seeds[i : i + 32] for i in range(0, len(seeds), 32)])


def is_protected(path: str | os.PathLike[str]) -> bool:
    """Whether the private identity file at ``path`` is sealed under a passphrase.

    Reads only the header (no key derivation), so a caller can decide whether to ask
    for a passphrase before asking.

    :raises FileNotFoundError: no such file.
    :raises InvalidInput: not a private identity file.
    """
    path = Path(path)
    body = _unarmor(path.read_text(), _PRIVATE_LABEL, path)
    if not body.startswith(_MAGIC) or len(body) < len(_MAGIC) + 3:
        raise InvalidInput(f"{path}: not a pqe2ee identity (bad magic)")
    return body[len(_MAGIC) + 2] != 0


def change_passphrase(
    path: str | os.PathLike[str],
    old: str | None,
    new: str | None,
    *,
    log_n: int = DEFAULT_LOG_N,
) -> Identity:
    """Re-seal the identity at ``path`` under ``new`` (``None``: no passphrase).

    The file is opened with ``old`` first, so a wrong one changes nothing; the new file
    is written beside it with mode 0600 and renamed over it, so the old file stays whole
    until the new one is complete.

    :returns: the identity (unchanged; only its protection changed).
    :raises ValueError: the file is protected and ``old`` is ``None``, or ``new`` is empty.
    :raises InvalidTag: ``old`` is wrong, or the file was altered.
    """
    identity = load_identity(path, passphrase=old)
    save_identity(identity, path, passphrase=new, overwrite=True, log_n=log_n)
    return identity


def save_public_identity(
    identity: PublicIdentity, path: str | os.PathLike[str], *, overwrite: bool = False
) -> None:
    """Write the public identity (shareable; mode 0644)."""
    _write_new(Path(path), _armor(_PUBLIC_LABEL, identity.encode()), 0o644, overwrite)


def load_public_identity(path: str | os.PathLike[str]) -> PublicIdentity:
    """Read a public identity file, or the public half of a private one (unprotected)."""
    path = Path(path)
    text = path.read_text()
    if text.lstrip().startswith(f"-----BEGIN {_PRIVATE_LABEL}-----"):
        return load_identity(path).public()
    return PublicIdentity.decode(_unarmor(text, _PUBLIC_LABEL, path))
