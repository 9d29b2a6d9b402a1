"""The only module that imports the compiled core ``pqe2ee._core``.

It checks that the core was built from this very package version (a stale build
after ``git pull`` is refused rather than trusted), turns the core's feature
probes into flags, and is the one place where C status codes become exceptions.
When the core is missing, :data:`CORE_AVAILABLE` is false and :data:`CORE_ERROR`
says why; callers fall back to their reference paths and say so.
"""

from __future__ import annotations

from typing import Any

from pqe2ee._version import __version__
from pqe2ee.exceptions import BackendUnavailable

ffi: Any = None
lib: Any = None
CORE_AVAILABLE = False
CORE_ERROR = ""

try:
    from pqe2ee._core import ffi, lib  # type: ignore[no-redef]
except ImportError as exc:  # pragma: no cover - exercised only without a build
    CORE_ERROR = f"the C core pqe2ee._core is not built ({exc}); run `make build`"
else:
    _built = ffi.string(lib.pqe2ee_core_version()).decode()
    if _built != __version__:
        CORE_ERROR = (
            f"the C core was built for pqe2ee {_built} but this is {__version__}; "
            "rebuild it with `make build`"
        )
        ffi = lib = None
    else:
        CORE_AVAILABLE = True


def require_core() -> Any:
    """Return the core's ``lib``, or raise :class:`BackendUnavailable` saying why not."""
    if not CORE_AVAILABLE:
        raise BackendUnavailable(CORE_ERROR)
    return lib


def libcrypto_version() -> str | None:
    """The version string of the libcrypto the core links, or None without a core."""
    if not CORE_AVAILABLE:
        return None
    return str(ffi.string(lib.pqe2ee_libcrypto_version()).decode())


def core_features() -> dict[str, bool]:
    """Which AEADs the linked libcrypto offers (all false without a core)."""
    if not CORE_AVAILABLE:
        return {"chacha20-poly1305": False, "aes-256-gcm": False}
    return {
        "chacha20-poly1305": bool(lib.pqe2ee_has_chacha20_poly1305()),
        "aes-256-gcm": bool(lib.pqe2ee_has_aes_256_gcm()),
    }
