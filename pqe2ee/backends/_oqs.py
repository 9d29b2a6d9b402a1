"""The optional liboqs backend, through ``liboqs-python`` (``pip install pqe2ee[oqs]``).

``import oqs`` on its own goes looking for a liboqs shared library and, when it finds
none, clones and builds liboqs from the network.  pqe2ee never lets that happen: it
looks for the library first, in the same places ``liboqs-python`` does
(``$OQS_INSTALL_PATH/lib``, ``$OQS_INSTALL_PATH/lib64``, ``~/_oqs/lib``, ``~/_oqs/lib64``
and the system's library path), loads it with ``ctypes`` to be sure it is usable, and
only then imports ``oqs``.  Otherwise the backend reports itself unavailable and why.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import logging
import os
from pathlib import Path
from typing import Any

from pqe2ee._extras import install_line
from pqe2ee.exceptions import BackendUnavailable, MissingExtra


def _candidate_paths() -> list[Path]:
    base = Path(os.environ.get("OQS_INSTALL_PATH", Path.home() / "_oqs"))
    paths = [base / sub / "liboqs.so" for sub in ("lib", "lib64")]
    found = ctypes.util.find_library("oqs")
    if found:
        paths.insert(0, Path(found))
    return paths


def find_liboqs() -> tuple[str | None, str]:
    """Locate a loadable liboqs: ``(path, "")`` or ``(None, why not)``."""
    tried = []
    for path in _candidate_paths():
        try:
            ctypes.CDLL(str(path))
        except OSError:
            tried.append(str(path))
            continue
        return str(path), ""
    return None, (
        "no liboqs shared library found (looked for " + ", ".join(tried) + "); "
        "install liboqs and set OQS_INSTALL_PATH to its prefix"
    )


def _import_oqs() -> Any:
    path, why = find_liboqs()
    if path is None:
        raise BackendUnavailable(f"liboqs backend: {why}")
    try:
        # liboqs-python attaches a handler printing to stdout at import; catch that
        # stream and hand its logger back to the application's logging config.
        with contextlib.redirect_stdout(io.StringIO()):
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


class _MLKEM:
    # liboqs validates keys inside encaps; pqe2ee still runs the §7.2 check itself so
    # that a bad key is reported as bad input, not as a failed encapsulation.
    checks_modulus = False

    def __init__(self, oqs: Any, name: str) -> None:
        self.name = name
        self._oqs = oqs
        self._encapsulator = oqs.KeyEncapsulation(name)

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

    def decapsulate(self, priv: Any, ct: bytes) -> bytes:
        return bytes(priv.decap_secret(ct))


class OqsBackend:
    """ML-KEM through liboqs (ML-KEM-512, -768 and -1024 where the build enables them)."""

    name = "oqs"

    def __init__(self) -> None:
        self._oqs = _import_oqs()
        enabled = set(self._oqs.get_enabled_kem_mechanisms())
        self._ops = {
            name: _MLKEM(self._oqs, name)
            for name in ("ML-KEM-512", "ML-KEM-768", "ML-KEM-1024")
            if name in enabled
        }

    def version(self) -> str:
        return f"liboqs {self._oqs.oqs_version()} (liboqs-python {self._oqs.oqs_python_version()})"

    def mlkem(self, name: str) -> _MLKEM | None:
        return self._ops.get(name)
