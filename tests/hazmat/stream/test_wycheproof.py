"""Wycheproof AEAD vectors through the C core's single-chunk path (csrc/stream.c).

Only 256-bit keys, 96-bit nonces and 128-bit tags are what STREAM uses; those cases run
in full, valid and invalid.  Cases with other nonce sizes are declared out of scope, and
a test checks that the core refuses such a nonce rather than misusing it.
"""

from __future__ import annotations

from typing import Any

import pytest

from pqe2ee import _binding
from pqe2ee._binding import _load
from pqe2ee._binding.stream import stream_open_one, stream_seal_one
from pqe2ee.exceptions import InvalidTag
from tests.conftest import VECTORS, wycheproof_cases

FILES = {
    "chacha20-poly1305": "chacha20_poly1305_test.json",
    "aes-256-gcm": "aes_gcm_test.json",
}


def _cases(cipher: str, in_scope: bool) -> list[Any]:
    cases = wycheproof_cases(VECTORS / "wycheproof" / FILES[cipher])
    return [
        pytest.param(cipher, case, id=f"{cipher}-{tc}")
        for tc, case in cases
        if case["keySize"] == 256 and case["tagSize"] == 128 and (case["ivSize"] == 96) == in_scope
    ]


IN_SCOPE = _cases("chacha20-poly1305", True) + _cases("aes-256-gcm", True)
OTHER_NONCES = _cases("chacha20-poly1305", False) + _cases("aes-256-gcm", False)


def test_case_counts() -> None:
    # A filter that silently matched nothing would make every test below vacuous.
    assert len([p for p in IN_SCOPE if p.values[0] == "chacha20-poly1305"]) == 316
    assert len([p for p in IN_SCOPE if p.values[0] == "aes-256-gcm"]) == 66
    assert {p.values[1]["result"] for p in IN_SCOPE} == {"valid", "invalid"}


@pytest.mark.parametrize(("cipher", "case"), IN_SCOPE)
def test_wycheproof(cipher: str, case: dict[str, Any]) -> None:
    key, iv, aad, msg, ct, tag = (
        bytes.fromhex(case[k]) for k in ("key", "iv", "aad", "msg", "ct", "tag")
    )
    if case["result"] == "valid":
        assert stream_seal_one(cipher, key, iv, aad, msg) == ct + tag
        assert stream_open_one(cipher, key, iv, aad, ct + tag) == msg
    else:
        with pytest.raises(InvalidTag):
            stream_open_one(cipher, key, iv, aad, ct + tag)


@pytest.mark.parametrize(("cipher", "case"), OTHER_NONCES)
def test_other_nonce_sizes_are_refused(cipher: str, case: dict[str, Any]) -> None:
    key, iv, aad, msg = (bytes.fromhex(case[k]) for k in ("key", "iv", "aad", "msg"))
    with pytest.raises(ValueError, match="nonce must be 12 bytes"):
        stream_seal_one(cipher, key, iv, aad, msg)
    # The core itself refuses too, when called past the Python check.
    out = bytearray(len(msg) + 16)
    status = _binding.lib.pqe2ee_stream_seal_one(
        _load.cipher_id(cipher),
        key,
        len(key),
        iv,
        len(iv),
        aad,
        len(aad),
        msg,
        len(msg),
        _binding.ffi.from_buffer(out),
        len(out),
    )
    assert status == _binding.lib.PQE2EE_STREAM_ERR_LENGTH
