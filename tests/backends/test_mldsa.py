"""ML-DSA (FIPS 204) on every backend that loads here, against the official vectors.

- NIST ACVP keyGen: seed xi -> pk (ML-DSA.KeyGen_internal), all three parameter sets.
- Wycheproof ``mldsa_65_sign_seed_test.json``: seed -> pk, the expected signature
  verifies, and, where the backend signs with a given rnd (liboqs), the signature is the
  expected one byte for byte: deterministic (rnd = 0^32) and hedged with the vector's rnd.
  ``cryptography`` signs hedged only, so there the vector is checked by verification.
- Wycheproof ``mldsa_65_verify_test.json``: every verdict, and bad key lengths refused.
- Both backends together: keys from one seed are identical, and each backend's (hedged)
  signatures verify on the other; an identity's fingerprint does not depend on the backend.

Declared skips: vectors for the internal (mu) interface and with a non-empty context;
pqe2ee signs only with pure ML-DSA and the empty context (docs/protocol.md §6).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from pqe2ee.backends import MLDSAOps, find_mldsa
from pqe2ee.backends.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey
from pqe2ee.exceptions import InvalidSignature
from pqe2ee.handshake.identity import Identity, PublicIdentity
from pqe2ee.handshake.suites import AuthKind
from tests.backends.loadable import mldsa_on_backends
from tests.conftest import VECTORS, load_json, wycheproof_cases

WP = VECTORS / "mldsa" / "wycheproof"
ACVP = VECTORS / "mldsa" / "acvp"
BACKENDS = mldsa_on_backends()
needs_two = pytest.mark.skipif(
    len(BACKENDS) < 2, reason=f"declared skip: only {BACKENDS} has ML-DSA here (no liboqs)"
)


@pytest.fixture(params=BACKENDS, ids=lambda p: p)
def ops(request: pytest.FixtureRequest) -> MLDSAOps:
    return find_mldsa("ML-DSA-65", str(request.param))[1]


def _acvp_keygen() -> list[Any]:
    out = []
    for group in load_json(ACVP / "ML-DSA-keyGen-FIPS204" / "internalProjection.json")[
        "testGroups"
    ]:
        for t in group["tests"]:
            for backend in BACKENDS:
                out.append(
                    pytest.param(group["parameterSet"], backend, t, id=f"{backend}-tc{t['tcId']}")
                )
    return out


@pytest.mark.parametrize(("name", "backend", "case"), _acvp_keygen())
def test_acvp_keygen(name: str, backend: str, case: dict[str, Any]) -> None:
    ops = find_mldsa(name, backend)[1]
    _, pk = ops.load_private(bytes.fromhex(case["seed"]))
    assert pk.hex().upper() == case["pk"]


def _cases(path: str) -> list[Any]:
    return [pytest.param(case, id=str(tid)) for tid, case in wycheproof_cases(WP / path)]


def _skip_unsupported_interface(case: dict[str, Any]) -> None:
    if "Internal" in case["flags"] or "msg" not in case:
        pytest.skip("declared skip: the internal (mu) interface is not exposed")
    if case.get("ctx") and "InvalidContext" not in case["flags"]:
        pytest.skip("declared skip: pqe2ee signs and verifies with the empty context only")


@pytest.mark.parametrize("case", _cases("mldsa_65_sign_seed_test.json"))
def test_wycheproof_sign_from_seed(case: dict[str, Any], ops: MLDSAOps) -> None:
    seed = bytes.fromhex(case["privateSeed"])
    if "IncorrectPrivateKeyLength" in case["flags"]:
        with pytest.raises(ValueError, match="seed is 32 bytes"):
            ops.load_private(seed)
        return
    priv, pk = ops.load_private(seed)
    assert pk.hex() == case["publicKey"]
    _skip_unsupported_interface(case)
    msg, expected = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
    sign_derand = getattr(ops, "sign_derand", None)
    if "InvalidContext" in case["flags"]:
        if sign_derand is None:
            pytest.skip(f"declared skip: {ops.name} on this backend takes no context")
        with pytest.raises(RuntimeError):
            sign_derand(priv, msg, bytes(32), bytes.fromhex(case["ctx"]))
        return
    assert ops.verify(ops.load_public(pk), expected, msg)
    if sign_derand is not None:
        rnd = bytes.fromhex(case["rnd"]) if "rnd" in case else bytes(32)
        assert sign_derand(priv, msg, rnd).hex() == case["sig"]
    else:  # hedged only: a fresh signature differs from the vector's, and verifies
        fresh = ops.sign(priv, msg)
        assert fresh != expected
        assert ops.verify(ops.load_public(pk), fresh, msg)


@pytest.mark.parametrize("case", _cases("mldsa_65_verify_test.json"))
def test_wycheproof_verify(case: dict[str, Any], ops: MLDSAOps) -> None:
    pk = bytes.fromhex(case["publicKey"])
    if "IncorrectPublicKeyLength" in case["flags"]:
        with pytest.raises(ValueError, match="public key is 1952 bytes"):
            ops.load_public(pk)
        return
    if case.get("ctx"):
        pytest.skip("declared skip: pqe2ee verifies with the empty context only")
    ok = ops.verify(ops.load_public(pk), bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
    assert ok is (case["result"] == "valid")


@needs_two
def test_backends_derive_the_same_keys_and_verify_each_other() -> None:
    all_ops = [find_mldsa("ML-DSA-65", b)[1] for b in BACKENDS]
    for _ in range(5):
        seed, msg = os.urandom(32), os.urandom(100)
        loaded = [ops.load_private(seed) for ops in all_ops]
        assert len({pk for _, pk in loaded}) == 1
        pk = loaded[0][1]
        for signer, (priv, _) in zip(all_ops, loaded, strict=True):
            sig = signer.sign(priv, msg)
            assert len(sig) == 3309
            for verifier in all_ops:
                pub = verifier.load_public(pk)
                assert verifier.verify(pub, sig, msg)
                assert not verifier.verify(pub, sig, msg + b"\x00")
                assert not verifier.verify(pub, sig[:-1] + bytes([sig[-1] ^ 1]), msg)
                assert not verifier.verify(pub, sig[:100], msg)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adapter_follows_the_chain(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PQE2EE_BACKEND", backend)
    key = MLDSA65PrivateKey.from_seed_bytes(os.urandom(32))
    assert key.backend == backend
    pub = MLDSA65PublicKey.from_public_bytes(key.public_key().public_bytes_raw())
    assert pub.backend == backend
    sig = key.sign(b"m")
    pub.verify(sig, b"m")
    from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature

    with pytest.raises(CryptoInvalidSignature):
        pub.verify(sig, b"n")
    with pytest.raises(ValueError, match="public key is 1952 bytes"):
        MLDSA65PublicKey.from_public_bytes(bytes(1951))
    assert "secret hidden" in repr(key)


@needs_two
def test_identity_is_the_same_on_every_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = [os.urandom(32), os.urandom(32)]
    made = {}
    for backend in BACKENDS:
        monkeypatch.setenv("PQE2EE_BACKEND", backend)
        made[backend] = Identity(AuthKind.HYBRID, seeds)
    fingerprints = {ident.public().fingerprint() for ident in made.values()}
    assert len(fingerprints) == 1
    for signer in BACKENDS:
        sigs = made[signer].sign(b"transcript")
        for verifier in BACKENDS:
            monkeypatch.setenv("PQE2EE_BACKEND", verifier)
            public = PublicIdentity.decode(made[signer].public().encode())
            public.verify(b"transcript", sigs)
            with pytest.raises(InvalidSignature, match="ml-dsa-65"):
                public.verify(b"transcript", [sigs[0], sigs[1][:-1] + bytes([sigs[1][-1] ^ 1])])
