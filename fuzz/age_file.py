"""age files: the header (version line, stanzas, MAC), armor, and the STREAM payload.

Input: a whole age file (binary or armored).  Seeds: a handful of files from the C2SP
age testkit (see fuzz/README.md) and two files encrypted to the harness's own
identities, ``fuzz/data/age_reference_*.age`` (made once by fuzz/make_seeds.py; age
encryption is randomized, so they are kept rather than remade).

Properties: decryption raises only :class:`AgeError` (or other :class:`Pqe2eeError`)
subclasses; for a file that our identities open, every released byte is a prefix of
the known plaintext, and the file decrypts in full only if it is one of the reference
files (byte for byte, or armored) -- a changed file never decrypts to anything, not
even to the original.  Files for the testkit's identities are read the same way, for
the error property.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fuzz._common import DATA, PATTERN, is_prefix
from pqe2ee import age
from pqe2ee.age.armor import ArmorReader, is_armored
from pqe2ee.exceptions import Pqe2eeError

#: What the reference files hold.
PLAINTEXT = PATTERN[:700]
OURS: list[age.X25519Identity | age.HybridIdentity] = [
    age.X25519Identity(bytes(range(1, 33))),
    age.HybridIdentity(bytes(range(33, 65))),
]
REFERENCE_FILES = {name: DATA / f"age_reference_{name}.age" for name in ("x25519", "hybrid")}
REFERENCES = frozenset(p.read_bytes() for p in REFERENCE_FILES.values() if p.exists())
#: The testkit's two main identities (X25519 and mlkem768x25519); scrypt is left out,
#: its work factor would make each try take a fraction of a second.
TESTKIT: list[age.Identity] = [
    age.parse_identity(
        "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
    ),
    age.parse_identity(
        "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG"
    ),
]


def _read(data: bytes, identities: Sequence[age.Identity]) -> tuple[bytes, Pqe2eeError | None]:
    """Everything released through :class:`age.AgeReader`, and the error that ended it."""
    released = bytearray()
    try:
        for block in age.AgeReader(io.BytesIO(data), identities).blocks():
            released += block
    except Pqe2eeError as exc:
        return bytes(released), exc
    return bytes(released), None


def _dearmored(data: bytes) -> bytes | None:
    if not is_armored(data[:1024]):
        return None
    try:
        return ArmorReader(io.BufferedReader(io.BytesIO(data))).read()
    except Pqe2eeError:
        return None


def test_one_input(data: bytes) -> None:
    released, error = _read(data, OURS)
    if isinstance(error, age.AgeNoIdentityMatch):
        _read(data, TESTKIT)  # only Pqe2eeError may come out
        return
    assert is_prefix(released, PLAINTEXT), "released plaintext that was never encrypted"
    if error is None:
        assert data in REFERENCES or _dearmored(data) in REFERENCES, "a changed file decrypted"
        assert released == PLAINTEXT
        # the file API agrees, and writes the same bytes
        out = io.BytesIO()
        age.decrypt(io.BytesIO(data), out, OURS)
        assert out.getvalue() == PLAINTEXT
    else:
        out = io.BytesIO()
        try:
            age.decrypt(io.BytesIO(data), out, OURS)
        except Pqe2eeError as again:
            assert type(again) is type(error), (again, error)
        else:
            raise AssertionError(f"the file API decrypted what AgeReader refused: {error!r}")
        assert is_prefix(out.getvalue(), PLAINTEXT)
