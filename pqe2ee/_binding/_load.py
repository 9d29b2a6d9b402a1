"""Loading the compiled core, its constants, and its status codes turned into exceptions.

The core must have been built from this very package version: a stale build after
``git pull`` is refused rather than trusted.  When the core is missing or stale,
:data:`CORE_AVAILABLE` is false, :data:`CORE_ERROR` says why, and :func:`constant`
answers from the fallback table so that every size still has its value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pqe2ee._binding._fallback import FALLBACK
from pqe2ee._version import __version__
from pqe2ee.exceptions import (
    BackendUnavailable,
    InternalError,
    InvalidTag,
    UnsupportedAlgorithm,
)

__all__ = [
    "CIPHERS",
    "CORE_AVAILABLE",
    "CORE_ERROR",
    "CORE_FIX",
    "MISSING_NOTE",
    "cipher_id",
    "constant",
    "drain_openssl_errors",
    "ffi",
    "lib",
    "missing_reason",
    "raise_for_status",
    "require_core",
]

#: What to install for the fast path (Debian/Ubuntu), as setup.py says at build time.
CORE_FIX = (
    "for the fast path: apt-get install gcc libssl-dev, then reinstall pqe2ee "
    "(pip install --force-reinstall --no-cache-dir pqe2ee, or `make build` in a clone)"
)
#: Left beside the package by setup.py when the core failed to build: why.
MISSING_NOTE = "_core_missing.txt"


def missing_reason(exc: BaseException, note: str | None) -> str:
    """Why the core cannot be imported, and what to install.

    :param exc: the ImportError of ``pqe2ee._core``.
    :param note: the text setup.py left in :data:`MISSING_NOTE` when the build failed
        (None when there is no such file: a clone without ``make build``, a removed file).
    """
    if note:
        return f"the C core was not built when pqe2ee was installed ({note.strip()}); {CORE_FIX}"
    return f"the C core pqe2ee._core cannot be imported ({exc}); {CORE_FIX}"


def _read_note() -> str | None:
    try:
        return (Path(__file__).parent.parent / MISSING_NOTE).read_text(errors="replace")
    except OSError:
        return None


ffi: Any = None
lib: Any = None
CORE_AVAILABLE = False
CORE_ERROR = ""

try:
    from pqe2ee._core import ffi, lib  # type: ignore[no-redef]
except ImportError as exc:  # pragma: no cover - exercised only without a build
    CORE_ERROR = missing_reason(exc, _read_note())
else:
    _built = ffi.string(lib.pqe2ee_core_version()).decode()
    if _built != __version__:
        CORE_ERROR = (
            f"the C core was built for pqe2ee {_built} but this is {__version__}; "
            "rebuild it with `make build` (or reinstall pqe2ee)"
        )
        ffi = lib = None
    else:
        CORE_AVAILABLE = True


def require_core() -> Any:
    """Return the core's ``lib``.

    :raises BackendUnavailable: the core is not built or is stale (the message says which).
    """
    if not CORE_AVAILABLE:
        raise BackendUnavailable(CORE_ERROR)
    return lib


def constant(name: str) -> int:
    """The integer constant ``name`` of ``csrc/*.h`` (a ``#define`` or an enum member).

    Read from the compiled core when it is built, so that C defines it once; otherwise
    taken from the fallback table (:mod:`pqe2ee._binding._fallback`).

    :raises KeyError: no such constant.
    """
    if CORE_AVAILABLE:
        return int(getattr(lib, name))
    return FALLBACK[name]


#: The AEAD names the core knows, and their ``enum pqe2ee_stream_cipher`` member.
CIPHERS = {
    "chacha20-poly1305": "PQE2EE_STREAM_CHACHA20_POLY1305",
    "aes-256-gcm": "PQE2EE_STREAM_AES_256_GCM",
}


def cipher_id(cipher: str) -> int:
    """The core's cipher id for ``cipher``.

    :raises ValueError: an AEAD the core does not know.
    :raises BackendUnavailable: the core is not built.
    """
    try:
        member = CIPHERS[cipher]
    except KeyError:
        raise ValueError(f"unknown cipher {cipher!r}; use one of {', '.join(CIPHERS)}") from None
    return int(getattr(require_core(), member))


def drain_openssl_errors() -> str:
    """The oldest error on this thread's OpenSSL error queue (which is then cleared)."""
    buf = ffi.new("char[]", 256)
    if lib.pqe2ee_stream_drain_errors(buf, len(buf)):
        return str(ffi.string(buf).decode(errors="replace"))
    return "no OpenSSL error recorded"


def raise_for_status(status: int, what: str) -> None:
    """Turn a ``PQE2EE_STREAM_*`` status into the exception it means (nothing for OK).

    :raises InvalidTag: authentication failed (and only then).
    :raises ValueError: the STREAM counter would wrap.
    :raises UnsupportedAlgorithm: the linked libcrypto lacks the AEAD.
    :raises InternalError: lengths Python had checked were refused, or OpenSSL failed
        (its error queue is drained into the message).
    """
    if status == lib.PQE2EE_STREAM_OK:
        return
    if status == lib.PQE2EE_STREAM_ERR_TAG:
        raise InvalidTag(f"{what}: authentication failed")
    if status == lib.PQE2EE_STREAM_ERR_COUNTER:
        raise ValueError(f"{what}: the 88-bit STREAM chunk counter would wrap")
    if status == lib.PQE2EE_STREAM_ERR_CIPHER:
        raise UnsupportedAlgorithm(f"{what}: the linked libcrypto does not offer this AEAD")
    if status == lib.PQE2EE_STREAM_ERR_LENGTH:
        raise InternalError(f"{what}: the core refused lengths that Python had checked")
    raise InternalError(f"{what}: OpenSSL failed: {drain_openssl_errors()}")
