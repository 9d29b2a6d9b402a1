"""Every file of the C2SP age testkit: the expected outcome and the released payload.

Each file is a small text header (expect, payload hash, identities, passphrases,
armored, compressed) and the age file after a blank line (tests/vectors/age-testkit/
SOURCES.md).  ``payload`` is the SHA-256 of all plaintext the API releases, also when
decryption then fails, so the test reads through :class:`pqe2ee.age.AgeReader` block by
block and hashes what came out before the error.
"""

from __future__ import annotations

import functools
import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pqe2ee import age
from pqe2ee.exceptions import InvalidTag
from tests.conftest import VECTORS

TESTDATA = VECTORS / "age-testkit" / "testdata"
FILES = sorted(TESTDATA.iterdir())
KNOWN_KEYS = {"expect", "payload", "identity", "passphrase", "armored", "compressed", "file key"}
KNOWN_KEYS |= {"comment"}

OUTCOMES: dict[type[Exception], str] = {
    age.AgeNoIdentityMatch: "no match",
    age.AgeHeaderMACError: "HMAC failure",
    age.AgeHeaderError: "header failure",
    age.AgeArmorError: "armor failure",
    age.AgePayloadError: "payload failure",
}


@dataclass
class Case:
    expect: str = ""
    payload: str | None = None
    identities: list[age.Identity] = field(default_factory=list)
    armored: bool = False
    body: bytes = b""
    unknown: list[str] = field(default_factory=list)


@functools.cache
def load(path: Path) -> Case:
    raw = path.read_bytes()
    head, body = raw.split(b"\n\n", 1)
    case = Case(body=body)
    for line in head.decode().splitlines():
        key, value = line.split(": ", 1)
        if key not in KNOWN_KEYS:
            case.unknown.append(key)
        elif key == "expect":
            case.expect = value
        elif key == "payload":
            case.payload = value
        elif key == "identity":
            case.identities.append(age.parse_identity(value))
        elif key == "passphrase":
            case.identities.append(age.ScryptIdentity(value))
        elif key == "armored":
            case.armored = value == "yes"
        elif key == "compressed":
            assert value == "zlib"
            case.body = zlib.decompress(body)
    return case


def run(case: Case) -> tuple[str, str]:
    """``(outcome, sha256 of the released plaintext)``."""
    released = hashlib.sha256()
    try:
        reader = age.AgeReader(io.BytesIO(case.body), case.identities, armored=case.armored)
        for block in reader.blocks():
            released.update(block)
    except age.AgeError as exc:
        return OUTCOMES[type(exc)], released.hexdigest()
    return "success", released.hexdigest()


def test_testkit_is_complete() -> None:
    assert len(FILES) == 143
    assert not [p.name for p in FILES if load(p).unknown]  # no file is ignored
    sums = (TESTDATA.parent / "SHA256SUMS").read_text().split()
    want = dict(zip(sums[1::2], sums[::2], strict=True))
    assert want == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_testkit(path: Path) -> None:
    case = load(path)
    outcome, digest = run(case)
    assert outcome == case.expect
    if case.payload is not None:
        assert digest == case.payload


ARMORED_OK = [p for p in FILES if load(p).armored and load(p).expect == "success"]


@pytest.mark.parametrize("path", ARMORED_OK, ids=lambda p: p.name)
def test_armor_is_detected(path: Path) -> None:
    """Detection instead of the testkit's flag opens every good armored file."""
    case = load(path)
    released = hashlib.sha256()
    for block in age.AgeReader(io.BytesIO(case.body), case.identities).blocks():
        released.update(block)
    assert released.hexdigest() == case.payload


def test_leading_garbage_is_not_an_age_file() -> None:
    case = load(TESTDATA / "armor_garbage_leading")
    with pytest.raises(age.AgeHeaderError, match="not an age file"):
        age.AgeReader(io.BytesIO(case.body), case.identities)


def test_payload_failures_are_invalid_tag() -> None:
    case = load(TESTDATA / "stream_bad_tag")
    with pytest.raises(InvalidTag):
        age.decrypt(io.BytesIO(case.body), io.BytesIO(), case.identities)
