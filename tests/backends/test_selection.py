"""Backend selection: the default, the optional liboqs backend, and how each says no.

The liboqs tests run where a liboqs shared library exists (set ``OQS_INSTALL_PATH``);
elsewhere they are skipped with the reason the backend gives.  The "absent" tests run
everywhere, in a subprocess that hides any liboqs, so they check what a user without
liboqs sees, and that ``import oqs`` (which would download and build liboqs) never runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pqe2ee.backends import backend_chain, backend_status, get_backend
from pqe2ee.exceptions import BackendUnavailable
from pqe2ee.hazmat.kem import get_kem
from tests.backends.loadable import loadable_backends

HAS_OQS = "oqs" in loadable_backends()
OQS_REASON = backend_status()["oqs"]
needs_oqs = pytest.mark.skipif(not HAS_OQS, reason=f"declared skip: {OQS_REASON}")


def _run_json(prelude: str, code: str, env: dict[str, str]) -> dict[str, object]:
    """Run ``prelude`` then ``code`` in a fresh interpreter with ``env``; return its JSON."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(prelude) + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _run_without_liboqs(code: str, **env: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter where no liboqs can be found; return its JSON."""
    prelude = """
        import ctypes.util, json, sys
        ctypes.util.find_library = lambda name: None
        """
    full_env = {**os.environ, "OQS_INSTALL_PATH": "/nonexistent/oqs", **env}
    if "PQE2EE_LIBOQS" not in env:
        full_env.pop("PQE2EE_LIBOQS", None)
    return _run_json(prelude, code, full_env)


def test_default_backend_is_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PQE2EE_BACKEND", raising=False)
    assert get_backend("cryptography").name == "cryptography"
    assert backend_chain()[0] == "cryptography"
    assert "cryptography" in backend_status()["cryptography"]


def test_unknown_backend_names() -> None:
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        get_backend("nope")
    with pytest.raises(ValueError, match="unknown backend"):
        get_kem("ML-KEM-768", backend="nope")


def test_bad_backend_preference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PQE2EE_BACKEND", "bogus")
    with pytest.raises(ValueError, match="PQE2EE_BACKEND='bogus' is not a backend"):
        backend_chain()


def test_without_liboqs_the_backend_says_why_and_never_imports_oqs() -> None:
    result = _run_without_liboqs(
        """
        from pqe2ee.backends import backend_status, get_backend
        from pqe2ee.exceptions import BackendUnavailable, UnsupportedAlgorithm
        from pqe2ee.hazmat.kem import get_kem
        out = {"status": backend_status()["oqs"]}
        try:
            get_backend("oqs")
        except BackendUnavailable as exc:
            out["get_backend"] = str(exc)
        try:
            get_kem("ML-KEM-512")
        except UnsupportedAlgorithm as exc:
            out["mlkem512"] = str(exc)
        try:
            get_kem("ML-KEM-768", backend="oqs")
        except BackendUnavailable as exc:
            out["named"] = str(exc)
        out["default_768"] = get_kem("ML-KEM-768").backend
        out["oqs_imported"] = "oqs" in sys.modules
        print(json.dumps(out))
        """
    )
    assert result["oqs_imported"] is False
    assert result["default_768"] == "cryptography"
    assert "no liboqs shared library found" in str(result["status"])
    assert "/nonexistent/oqs/lib/liboqs.so" in str(result["get_backend"])
    assert "OQS_INSTALL_PATH" in str(result["named"])
    msg = str(result["mlkem512"])
    assert msg.startswith("ML-KEM-512 is not available here")
    assert "cryptography backend has no ML-KEM-512" in msg
    assert "no liboqs shared library found" in msg


def test_without_liboqs_preferring_it_falls_back() -> None:
    result = _run_without_liboqs(
        """
        from pqe2ee.hazmat.kem import get_kem
        print(json.dumps({"backend": get_kem("X-Wing").backend}))
        """,
        PQE2EE_BACKEND="oqs",
    )
    assert result == {"backend": "cryptography"}


def test_without_liboqs_signatures_fall_back_and_naming_oqs_says_why() -> None:
    result = _run_without_liboqs(
        """
        from pqe2ee.backends import find_mldsa
        from pqe2ee.backends.mldsa import MLDSA65PrivateKey
        from pqe2ee.exceptions import BackendUnavailable
        from pqe2ee.handshake.identity import Identity
        ident = Identity.generate("ml-dsa-65")
        ident.public().verify(b"m", ident.sign(b"m"))
        out = {"chain": find_mldsa("ML-DSA-65")[0],
               "key": MLDSA65PrivateKey.from_seed_bytes(bytes(32)).backend}
        try:
            find_mldsa("ML-DSA-65", "oqs")
        except BackendUnavailable as exc:
            out["named"] = str(exc)
        out["oqs_imported"] = "oqs" in sys.modules
        print(json.dumps(out))
        """,
        PQE2EE_BACKEND="oqs",
    )
    assert result["chain"] == result["key"] == "cryptography"
    assert "no liboqs shared library found" in str(result["named"])
    assert result["oqs_imported"] is False


_COUNT_FIND_LIBRARY = """
    import ctypes.util, json, sys
    calls = []
    _real = ctypes.util.find_library
    def _counting(name):
        calls.append(name)
        return {answer}
    ctypes.util.find_library = _counting
"""


def _run_counting(code: str, answer: str, **env: str) -> dict[str, object]:
    full_env = {**os.environ, **env}
    for name in ("PQE2EE_LIBOQS", "OQS_INSTALL_PATH"):
        if name not in env:
            full_env.pop(name, None)
    return _run_json(_COUNT_FIND_LIBRARY.format(answer=answer), code, full_env)


_LOOK_TWICE = """
    from pqe2ee.backends import backend_status, find_mldsa, find_mlkem
    from pqe2ee.backends._oqs import find_liboqs
    import pqe2ee.handshake, pqe2ee.hazmat.kem
    at_import = len(calls)
    for _ in range(3):
        backend_status()
        find_liboqs()
        find_mlkem("ML-KEM-768")
        find_mldsa("ML-DSA-65")
    print(json.dumps({"at_import": at_import, "calls": calls, "path": find_liboqs()[0]}))
"""


def test_the_library_lookup_runs_once_and_not_at_import() -> None:
    result = _run_counting(
        _LOOK_TWICE, "None", OQS_INSTALL_PATH="/nonexistent/oqs", PQE2EE_BACKEND="oqs"
    )
    assert result["at_import"] == 0
    assert result["calls"] == ["oqs"]
    assert result["path"] is None


def test_a_bad_pqe2ee_libOQS_override_is_named_and_nothing_else_is_searched() -> None:
    result = _run_counting(
        """
        from pqe2ee.backends import backend_status
        print(json.dumps({"status": backend_status()["oqs"], "calls": calls}))
        """,
        "None",
        PQE2EE_LIBOQS="/nonexistent/liboqs.so",
    )
    assert result["calls"] == []
    assert "PQE2EE_LIBOQS=/nonexistent/liboqs.so is not a loadable liboqs" in str(result["status"])


@needs_oqs
def test_liboqs_loads_from_the_override_with_no_system_search() -> None:
    """``oqs`` is handed the checked path: no find_library call, the same library."""
    from pqe2ee.backends._oqs import find_liboqs

    path = find_liboqs()[0]
    assert path is not None
    result = _run_counting(
        """
        from pqe2ee.backends import get_backend
        from pqe2ee.backends.mldsa import MLDSA65PrivateKey
        backend = get_backend("oqs")
        oqs = sys.modules["oqs"]  # imported by the backend, never by hand (it downloads)
        key = MLDSA65PrivateKey.from_seed_bytes(bytes(32))
        print(json.dumps({"calls": calls, "loaded": oqs.native()._name,
                          "version": backend.version(), "key": key.backend}))
        """,
        "None",
        PQE2EE_LIBOQS=path,
        PQE2EE_BACKEND="oqs",
    )
    assert result["calls"] == []
    assert result["loaded"] == path
    assert str(result["version"]).startswith("liboqs ")
    assert result["key"] == "oqs"


def test_unloadable_backend_is_reported_not_raised_by_status() -> None:
    status = backend_status()
    assert set(status) == {"cryptography", "oqs"}
    if not HAS_OQS:
        assert status["oqs"].startswith("unavailable: ")
        with pytest.raises(BackendUnavailable):
            get_backend("oqs")


@needs_oqs
@pytest.mark.parametrize(
    "name",
    ["ML-KEM-768", "ML-KEM-1024", "X25519MLKEM768", "SecP384r1MLKEM1024", "X-Wing"],
)
def test_oqs_and_cryptography_interoperate(name: str) -> None:
    a, b = get_kem(name, backend="oqs"), get_kem(name, backend="cryptography")
    assert a.backend == "oqs"
    assert b.backend == "cryptography"
    for _ in range(5):
        seed = os.urandom(a.seed_size)
        assert a.derive_keypair(seed) == b.derive_keypair(seed)
        pk, sk = a.derive_keypair(seed)
        for enc, dec in ((a, b), (b, a)):
            ss, ct = enc.encapsulate(pk)
            assert dec.decapsulate(sk, ct) == ss


@needs_oqs
def test_oqs_serves_mldsa_and_is_chosen_when_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    from pqe2ee.backends import find_mldsa

    monkeypatch.delenv("PQE2EE_BACKEND", raising=False)
    assert find_mldsa("ML-DSA-65")[0] == "cryptography"
    monkeypatch.setenv("PQE2EE_BACKEND", "oqs")
    assert find_mldsa("ML-DSA-65")[0] == "oqs"


@needs_oqs
def test_oqs_serves_mlkem512() -> None:
    kem = get_kem("ML-KEM-512")
    assert kem.backend == "oqs"
    pk, sk = kem.generate_keypair()
    ss, ct = kem.encapsulate(pk)
    assert (len(pk), len(sk), len(ct)) == (800, 64, 768)
    assert kem.decapsulate(sk, ct) == ss


def test_named_backend_without_the_parameter_set() -> None:
    from pqe2ee.exceptions import UnsupportedAlgorithm

    with pytest.raises(
        UnsupportedAlgorithm, match="ML-KEM-512 is not available on the cryptography"
    ):
        get_kem("ML-KEM-512", backend="cryptography")
