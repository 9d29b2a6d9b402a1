"""Encrypt and decrypt age files, file to file, streaming in constant memory.

>>> import io
>>> from pqe2ee import age
>>> alice = age.HybridIdentity.generate()
>>> sealed = io.BytesIO()
>>> age.encrypt(io.BytesIO(b"hello"), sealed, [alice.recipient()])
>>> out = io.BytesIO()
>>> age.decrypt(io.BytesIO(sealed.getvalue()), out, [alice])
>>> out.getvalue()
b'hello'

Security property: :func:`decrypt` writes only authenticated plaintext.  When ``dst``
is a path, the output goes to a temporary file (mode 0600) in the destination's folder
and is renamed over ``dst`` only once the whole file authenticated; on any failure the
temporary file is removed and an existing ``dst`` is left as it was.  When ``dst`` is a
file object, authenticated chunks are written as they come (as age does on stdout), and
the caller must discard them if :func:`decrypt` raises.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from pqe2ee._fileio import PathOrFile, atomic_output, open_input
from pqe2ee.age.armor import ArmorReader, ArmorWriter, is_armored
from pqe2ee.age.format import FILE_KEY_SIZE, Header, read_header
from pqe2ee.age.payload import decrypt_blocks, encrypt_payload, read_nonce
from pqe2ee.age.recipient import Identity, Recipient
from pqe2ee.exceptions import AgeHeaderError, AgeNoIdentityMatch

__all__ = ["AgeReader", "decrypt", "encrypt", "unwrap_file_key"]


def check_recipients(recipients: Sequence[Recipient]) -> None:
    """Refuse recipient sets age refuses.

    :raises ValueError: no recipient; a passphrase together with anything else; or
        post-quantum recipients mixed with classical ones (the file would be only as
        strong as the classical one).
    """
    if not recipients:
        raise ValueError("at least one recipient is needed")
    types = {r.stanza_type for r in recipients}
    if "scrypt" in types and len(recipients) > 1:
        raise ValueError("a passphrase (scrypt) must be the file's only recipient")
    pq = {r.postquantum for r in recipients}
    if len(pq) > 1:
        raise ValueError(
            "post-quantum (age1pq1…) recipients cannot be mixed with classical ones; "
            "give every recipient a post-quantum key, or encrypt twice"
        )


def unwrap_file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    """The file key, from the first identity that opens a stanza; MAC checked.

    :raises AgeHeaderError: a malformed stanza, or an scrypt stanza that is not alone.
    :raises AgeNoIdentityMatch: no identity opens any stanza.
    :raises AgeHeaderMACError: the header MAC does not verify under the file key.
    """
    if any(s.type == "scrypt" for s in header.stanzas) and len(header.stanzas) != 1:
        raise AgeHeaderError("an age scrypt stanza must be the only stanza in the header")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            break
    else:
        types = ", ".join(sorted({s.type for s in header.stanzas}))
        raise AgeNoIdentityMatch(f"no identity matched any of the file's recipients ({types})")
    if len(file_key) != FILE_KEY_SIZE:  # pragma: no cover - every stanza checks its body
        raise AgeHeaderError("age file key must be 16 bytes")
    header.verify_mac(file_key)
    return file_key


class _Raw(io.RawIOBase):
    """A raw-stream view of any binary file object, so it can be buffered."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def readable(self) -> bool:
        """Always True: this is a read-only stream."""
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._f.read(len(b))
        b[: len(data)] = data
        return len(data)


def _buffered(f: BinaryIO) -> BinaryIO:
    if hasattr(f, "peek"):
        return f
    return io.BufferedReader(_Raw(f))


def _open_payload(
    src: BinaryIO, identities: Sequence[Identity], armored: bool | None
) -> tuple[BinaryIO, bytes, bytes]:
    """Parse the header and nonce: ``(payload stream, file key, nonce)``."""
    src = _buffered(src)
    if armored is None:
        armored = is_armored(src.peek(64)[:1024])  # type: ignore[attr-defined]
    if armored:
        src = io.BufferedReader(ArmorReader(src))
    header = read_header(src)
    file_key = unwrap_file_key(header, identities)
    return src, file_key, read_nonce(src)


class AgeReader(io.RawIOBase):
    """Read the plaintext of an age file: only authenticated bytes come out.

    The header is parsed and the identities tried on construction.  A failure of the
    payload raises :class:`~pqe2ee.exceptions.AgePayloadError` from :meth:`read` after
    the authenticated bytes before it were returned.

    :param src: a binary file object positioned at the start of the age file.
    :param armored: True or False to insist, None to detect ASCII armor.
    """

    def __init__(
        self,
        src: BinaryIO,
        identities: Sequence[Identity],
        *,
        armored: bool | None = None,
        threads: int | None = None,
    ) -> None:
        payload, file_key, nonce = _open_payload(src, identities, armored)
        self._blocks = decrypt_blocks(payload, file_key, nonce, threads=threads)
        self._buf: memoryview = memoryview(b"")

    def readable(self) -> bool:
        """Always True: this is a read-only stream."""
        return True

    def blocks(self) -> Iterator[bytes | bytearray]:
        """The plaintext in authenticated blocks (instead of :meth:`read`)."""
        if self._buf:
            yield bytes(self._buf)
            self._buf = memoryview(b"")
        yield from self._blocks

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``b`` with authenticated plaintext; 0 at the end of the payload.

        :raises AgePayloadError: the payload does not authenticate or is truncated.
        """
        while not self._buf:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._buf = memoryview(block)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def encrypt(
    src: PathOrFile,
    dst: PathOrFile,
    recipients: Sequence[Recipient],
    *,
    armor: bool = False,
    threads: int | None = None,
) -> None:
    """Encrypt ``src`` to ``recipients`` as an age v1 file in ``dst``.

    :param src: a path or a binary file object.
    :param dst: a path (written atomically) or a binary file object.
    :param recipients: see :func:`pqe2ee.age.parse_recipient`; the rules of
        :func:`check_recipients` apply.
    :param armor: write ASCII armor (``-----BEGIN AGE ENCRYPTED FILE-----``).
    :raises ValueError: a recipient set age refuses.
    """
    check_recipients(recipients)
    file_key = os.urandom(FILE_KEY_SIZE)
    header = Header.build([s for r in recipients for s in r.wrap(file_key)], file_key)
    with open_input(src) as fin, atomic_output(dst) as fout:
        out: BinaryIO = ArmorWriter(fout) if armor else fout  # type: ignore[assignment]
        out.write(header.encode())
        encrypt_payload(fin, out, file_key, threads=threads)
        if armor:
            out.close()


def decrypt(
    src: PathOrFile,
    dst: PathOrFile,
    identities: Sequence[Identity],
    *,
    armored: bool | None = None,
    threads: int | None = None,
) -> None:
    """Decrypt the age file ``src`` into ``dst`` with the first identity that matches.

    :param armored: True or False to insist, None to detect ASCII armor.
    :raises AgeNoIdentityMatch: no identity opens the file.
    :raises AgeHeaderError: a malformed header.
    :raises AgeHeaderMACError: an altered header.
    :raises AgeArmorError: malformed ASCII armor.
    :raises AgePayloadError: the payload is tampered with or truncated (an ``InvalidTag``).
    """
    with open_input(src) as fin:
        # The header is checked before the destination is touched.
        payload, file_key, nonce = _open_payload(fin, identities, armored)
        with atomic_output(dst) as fout:
            # A path is written to a temporary file that a failure deletes, so the
            # payload may be opened into it by position, not only as a prefix.
            scratch = fout if isinstance(dst, (str, os.PathLike)) else None
            blocks = decrypt_blocks(payload, file_key, nonce, threads=threads, scratch=scratch)
            for block in blocks:
                fout.write(block)
