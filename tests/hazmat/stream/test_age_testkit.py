"""The C2SP age testkit's STREAM files: our payload decryption agrees with age's.

An external known-answer test of the format (chunking, nonces, final flag, rejection
rules): the file key is given by each file, the payload key is derived as the age spec
says (HKDF-SHA256 with the payload nonce as salt and "payload" as info), and the payload
is opened with ``pqe2ee.hazmat.stream``.  The files are the testkit's ``stream_*`` ones
(tests/vectors/age-testkit/SOURCES.md).
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pqe2ee.exceptions import InvalidTag
from pqe2ee.hazmat import stream
from tests.conftest import VECTORS

FILES = sorted((VECTORS / "age-testkit" / "testdata").glob("stream_*"))


def _parse(path: Path) -> tuple[dict[str, str], bytes]:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode().splitlines())
    if fields.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return fields, body


def _payload(fields: dict[str, str], age_file: bytes) -> tuple[bytes, bytes]:
    """The payload key and the STREAM payload of an age file."""
    mac_line = age_file.index(b"\n---")
    body = age_file[age_file.index(b"\n", mac_line + 1) + 1 :]
    nonce, payload = body[:16], body[16:]
    key = HKDF(SHA256(), 32, salt=nonce, info=b"payload").derive(bytes.fromhex(fields["file key"]))
    return key, payload


CASES = [
    pytest.param(path, id=path.name)
    for path in FILES
    if _parse(path)[0]["expect"] in ("success", "payload failure")
]


def test_the_files_are_there() -> None:
    assert len(FILES) == 28
    assert len(CASES) == 26


@pytest.mark.parametrize("path", CASES)
def test_age_testkit_payload(path: Path) -> None:
    fields, age_file = _parse(path)
    key, payload = _payload(fields, age_file)
    expected = fields["payload"]
    if fields["expect"] == "success":
        assert hashlib.sha256(stream.decrypt(key, payload)).hexdigest() == expected
        dec = stream.Decryptor(key, threads=2)
        out = bytearray()
        for i in range(0, len(payload), 1000):
            out += dec.update(payload[i : i + 1000])
        out += dec.finalize()
        assert hashlib.sha256(out).hexdigest() == expected
    else:
        with pytest.raises(InvalidTag):
            stream.decrypt(key, payload)
        # age releases chunk by chunk until the damage; decrypt_chunk replays that, and
        # must release exactly what the testkit says age releases.
        age_released = _chunk_by_chunk(key, payload)
        assert hashlib.sha256(age_released).hexdigest() == expected
        # The Decryptor, fed one sealed chunk at a time, releases a prefix of that (less
        # where age releases a chunk before noticing that the stream ends wrongly after it).
        dec = stream.Decryptor(key)
        released = bytearray()
        with pytest.raises(InvalidTag):
            _feed(dec, payload, released)
        assert age_released.startswith(released)


STEP = stream.DEFAULT_CHUNK_SIZE + stream.TAG_SIZE


def _feed(dec: stream.Decryptor, payload: bytes, released: bytearray) -> None:
    for i in range(0, len(payload), STEP):
        released += dec.update(payload[i : i + STEP])
    released += dec.finalize()


def _chunk_by_chunk(key: bytes, payload: bytes) -> bytes:
    """Random access over the chunks in order, up to the first that opens with no flag,
    or up to and including the first that opens as final."""
    released = b""
    for index, pos in enumerate(range(0, len(payload), STEP)):
        chunk = payload[pos : pos + STEP]
        for final in (False, True) if len(chunk) == STEP else (True,):
            try:
                released += stream.decrypt_chunk(key, chunk, index, final=final)
            except InvalidTag:
                continue
            if final:
                return released
            break
        else:
            return released
    return released
