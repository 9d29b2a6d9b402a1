"""The optional liboqs backend, through ``liboqs-python`` (``pip install pqe2ee[oqs]``).

``import oqs`` on its own goes looking for a liboqs shared library and, when it finds
none, clones and builds liboqs from the network.  pqe2ee never lets that happen: it
looks for the library first (``$PQE2EE_LIBOQS`` if set, else ``$OQS_INSTALL_PATH/lib``,
``$OQS_INSTALL_PATH/lib64``, ``~/_oqs/lib``, ``~/_oqs/lib64``, then the system's library
path), loads it with ``ctypes`` to be sure it is usable, and only then imports ``oqs``,
handing it that one path so that its own search cannot miss and fall through to the
download.  Otherwise the backend reports itself unavailable and why.  The look-up runs
once per process (``ctypes.util.find_library`` runs a compiler or ``ldconfig`` and costs
tens of milliseconds), and only when something asks for the oqs backend.

ML-KEM (FIPS 203) comes from ``OQS_KEM_*``: key pairs from the 64-byte seed through
``OQS_KEM_keypair_derand``, and, for known-answer tests only, Encaps_internal(ek, m)
through ``OQS_KEM_encaps_derand`` (liboqs >= 0.13).

ML-DSA (FIPS 204) comes from ``OQS_SIG_*``.  liboqs (checked up to 0.16) has no public
call that derives an ML-DSA key pair from the 32-byte seed xi, yet pqe2ee stores
identities as seeds.  ``OQS_SIG_keypair`` is exactly Algorithm 1: draw xi from
``OQS_randombytes``, then ML-DSA.KeyGen_internal(xi) (Algorithm 6).  So the backend hands
``OQS_randombytes`` the stored seed for that one call (:class:`_FixedRandomness`) and
checks that liboqs drew exactly one 32-byte value; when loading, it probes this once and
offers no ML-DSA (the chain falls back to ``cryptography``) if liboqs draws otherwise.
Signing is ``OQS_SIG_sign``: hedged (Algorithm 2 with 32 fresh bytes of rnd from the
system RNG) and with the empty context.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import logging
import os
import threading
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pqe2ee._extras import install_line
from pqe2ee.exceptions import BackendUnavailable, MissingExtra

_T = TypeVar("_T")


def _install_paths() -> list[Path]:
    base = Path(os.environ.get("OQS_INSTALL_PATH", Path.home() / "_oqs"))
    return [base / sub / "liboqs.so" for sub in ("lib", "lib64")]


def _candidate_paths() -> Iterator[Path]:
    """Where to look, cheapest first; the system search runs only if the others miss."""
    override = os.environ.get("PQE2EE_LIBOQS")
    if override:
        yield Path(override)
        return
    yield from _install_paths()
    found = ctypes.util.find_library("oqs")
    if found:
        yield Path(found)


@cache
def find_liboqs() -> tuple[str | None, str]:
    """Locate a loadable liboqs, once per process: ``(path, "")`` or ``(None, why not)``.

    ``$PQE2EE_LIBOQS`` names the library file itself and, when set, is the only place
    looked at.
    """
    tried = []
    for path in _candidate_paths():
        try:
            ctypes.CDLL(str(path))
        except OSError:
            tried.append(str(path))
            continue
        return str(path), ""
    if os.environ.get("PQE2EE_LIBOQS"):
        return None, (
            f"PQE2EE_LIBOQS={tried[0]} is not a loadable liboqs shared library; "
            "point it at liboqs.so or unset it"
        )
    return None, (
        "no liboqs shared library found (looked for "
        + ", ".join(tried)
        + " and on the system library path); "
        "install liboqs and set OQS_INSTALL_PATH to its prefix "
        "(or PQE2EE_LIBOQS to the library file)"
    )


@contextlib.contextmanager
def _oqs_finds(path: str) -> Iterator[None]:
    """While ``oqs`` imports, its ``find_library("oqs")``/``("liboqs")`` answer ``path``.

    It then loads the library pqe2ee checked (it tries that answer first), never runs
    the slow system search again, and never reaches its download-and-build fallback.
    """
    real = ctypes.util.find_library

    def find(name: str) -> str | None:
        return path if name in ("oqs", "liboqs") else real(name)

    ctypes.util.find_library = find
    try:
        yield
    finally:
        ctypes.util.find_library = real


def _import_oqs() -> Any:
    path, why = find_liboqs()
    if path is None:
        raise BackendUnavailable(f"liboqs backend: {why}")
    try:
        # liboqs-python attaches a handler printing to stdout at import; catch that
        # stream and hand its logger back to the application's logging config.
        with contextlib.redirect_stdout(io.StringIO()), _oqs_finds(path):
            import oqs
        oqs_logger = logging.getLogger("oqs.oqs")
        oqs_logger.handlers.clear()
        oqs_logger.setLevel(logging.NOTSET)
    except ImportError as exc:
        raise MissingExtra(
            f"liboqs backend: liboqs is at {path} but liboqs-python is not installed "
            f"({install_line('oqs')})",
            extra="oqs",
        ) from exc
    except (RuntimeError, OSError, SystemExit) as exc:  # its loader exits on failure
        raise BackendUnavailable(
            f"liboqs backend: liboqs-python failed to load {path}: {exc}"
        ) from None
    return oqs


_RNG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t)


class _FixedRandomness:
    """Run one liboqs call with ``OQS_randombytes`` answering a value the caller chose.

    Only the calling thread sees the value, and only for its first draw; any other
    draw, and every draw from another thread meanwhile, gets ``os.urandom``.  Calls are
    serialized, and liboqs's RNG is switched back to its default ("system") afterwards.
    :meth:`run` returns the result with the sizes liboqs asked for, so the caller can
    refuse a result that was not made from exactly the chosen value.
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        self._lock = threading.Lock()
        self._local = threading.local()
        self._callback = _RNG_CALLBACK(self._draw)  # kept alive while liboqs may call it

    def _draw(self, out: Any, n: int) -> None:
        pending: bytes | None = getattr(self._local, "pending", None)
        if pending is not None:
            self._local.draws.append(n)
            self._local.pending = None
            data = pending if n == len(pending) else os.urandom(n)
        else:
            data = os.urandom(n)
        ctypes.memmove(out, data, n)

    def run(self, value: bytes, call: Callable[[], _T]) -> tuple[_T, list[int]]:
        with self._lock:
            self._local.pending, self._local.draws = bytes(value), []
            self._native.OQS_randombytes_custom_algorithm(self._callback)
            try:
                result = call()
            finally:
                self._native.OQS_randombytes_switch_algorithm(b"system")
                self._local.pending = None
            draws: list[int] = self._local.draws
        return result, draws


class _MLKEM:
    # liboqs validates keys inside encaps; pqe2ee still runs the §7.2 check itself so
    # that a bad key is reported as bad input, not as a failed encapsulation.
    checks_modulus = False

    def __init__(self, oqs: Any, name: str) -> None:
        self.name = name
        self._oqs = oqs
        self._encapsulator = oqs.KeyEncapsulation(name)
        if hasattr(oqs.native(), "OQS_KEM_encaps_derand"):  # liboqs >= 0.13
            self.encapsulate_derand = self._encapsulate_derand

    def load_private(self, seed: bytes) -> tuple[Any, bytes]:
        kem = self._oqs.KeyEncapsulation(self.name)
        ek = kem.generate_keypair_seed(seed)
        return kem, bytes(ek)

    def load_public(self, ek: bytes) -> Any:
        return ek

    def encapsulate(self, pub: Any) -> tuple[bytes, bytes]:
        try:
            ct, ss = self._encapsulator.encap_secret(pub)
        except RuntimeError as exc:
            raise ValueError(f"{self.name}: liboqs refused the encapsulation key") from exc
        return bytes(ss), bytes(ct)

    def _encapsulate_derand(self, pub: Any, m: bytes) -> tuple[bytes, bytes]:
        """ML-KEM.Encaps_internal(ek, m) (FIPS 203 Algorithm 17), for known-answer tests."""
        if len(m) != 32:
            raise ValueError(f"{self.name}: encapsulation randomness must be 32 bytes")
        kem = self._encapsulator
        ct = ctypes.create_string_buffer(kem.length_ciphertext)
        ss = ctypes.create_string_buffer(kem.length_shared_secret)
        ek = ctypes.create_string_buffer(bytes(pub), len(pub))
        rv = self._oqs.native().OQS_KEM_encaps_derand(kem._kem, ct, ss, ek, bytes(m))
        if rv != self._oqs.OQS_SUCCESS:
            raise ValueError(f"{self.name}: liboqs refused the encapsulation key")
        return ss.raw, ct.raw

    def decapsulate(self, priv: Any, ct: bytes) -> bytes:
        return bytes(priv.decap_secret(ct))


class _MLDSA:
    def __init__(self, oqs: Any, name: str, fixed: _FixedRandomness) -> None:
        self.name = name
        self._oqs = oqs
        self._fixed = fixed
        self._verifier = oqs.Signature(name)
        self._pk_size = int(self._verifier.length_public_key)

    def load_private(self, seed: bytes) -> tuple[Any, bytes]:
        """ML-DSA.KeyGen_internal(seed): ``OQS_SIG_keypair`` with xi = ``seed``."""
        if len(seed) != 32:
            raise ValueError(f"An {self.name} seed is 32 bytes long, got {len(seed)}")
        sig = self._oqs.Signature(self.name)
        pk, draws = self._fixed.run(seed, sig.generate_keypair)
        if draws != [32]:
            raise BackendUnavailable(
                f"liboqs backend: {self.name} key generation drew {draws} random bytes, "
                "not one 32-byte seed, so it cannot derive a key from a stored seed"
            )
        return sig, bytes(pk)

    def load_public(self, pk: bytes) -> Any:
        if len(pk) != self._pk_size:
            raise ValueError(f"An {self.name} public key is {self._pk_size} bytes long")
        return bytes(pk)

    def sign(self, priv: Any, message: bytes) -> bytes:
        return bytes(priv.sign(bytes(message)))

    def sign_derand(self, priv: Any, message: bytes, rnd: bytes, ctx: bytes = b"") -> bytes:
        """ML-DSA.Sign with the given 32-byte ``rnd`` (all zero: the deterministic
        variant, FIPS 204 §3.4), for known-answer tests only."""
        if len(rnd) != 32:
            raise ValueError(f"{self.name}: rnd must be 32 bytes")
        sig, draws = self._fixed.run(rnd, lambda: priv.sign_with_ctx_str(message, ctx))
        if draws != [32]:
            raise BackendUnavailable(
                f"liboqs backend: {self.name} signing drew {draws} random bytes, not one rnd"
            )
        return bytes(sig)

    def verify(self, pub: Any, signature: bytes, message: bytes) -> bool:
        return bool(self._verifier.verify(bytes(message), bytes(signature), pub))


class OqsBackend:
    """ML-KEM and ML-DSA through liboqs (the parameter sets the build enables)."""

    name = "oqs"

    def __init__(self) -> None:
        self._oqs = _import_oqs()
        enabled = set(self._oqs.get_enabled_kem_mechanisms())
        self._ops = {
            name: _MLKEM(self._oqs, name)
            for name in ("ML-KEM-512", "ML-KEM-768", "ML-KEM-1024")
            if name in enabled
        }
        fixed = _FixedRandomness(self._oqs.native())
        enabled_sigs = set(self._oqs.get_enabled_sig_mechanisms())
        self._sig_ops: dict[str, _MLDSA] = {}
        for name in ("ML-DSA-44", "ML-DSA-65", "ML-DSA-87"):
            if name in enabled_sigs:
                ops = _MLDSA(self._oqs, name, fixed)
                with contextlib.suppress(BackendUnavailable):  # keygen is not Algorithm 1
                    ops.load_private(os.urandom(32))
                    self._sig_ops[name] = ops

    def version(self) -> str:
        return f"liboqs {self._oqs.oqs_version()} (liboqs-python {self._oqs.oqs_python_version()})"

    def mlkem(self, name: str) -> _MLKEM | None:
        return self._ops.get(name)

    def mldsa(self, name: str) -> _MLDSA | None:
        return self._sig_ops.get(name)
