"""The compiled core as the other layers see it: is it built, on what, and what it runs.

The core (``csrc/``, over OpenSSL EVP) runs the bulk AEAD work: STREAM chunks, session
records, the socket pump.  It is optional: without it (:data:`AVAILABLE` false,
:data:`ERROR` says why and how to fix it) each caller takes its pure-Python path and says
so.  :func:`cleanse` works either way.
"""

from __future__ import annotations

import functools
import warnings

from pqe2ee._binding import CORE_AVAILABLE, CORE_ERROR
from pqe2ee._binding import core as _core
from pqe2ee._binding import stream as _stream

__all__ = [
    "AVAILABLE",
    "ERROR",
    "cleanse",
    "core_version",
    "features",
    "libcrypto_version",
    "offers",
    "open_one",
    "seal_one",
    "warn_pure_python",
]

#: Whether the compiled core is built, and built from this package version.
AVAILABLE: bool = CORE_AVAILABLE
#: Why the core is unavailable, with the fix (empty when it is available).
ERROR: str = CORE_ERROR


_warned = False


def warn_pure_python(what: str, reason: str = "", *, stacklevel: int = 2) -> None:
    """Warn, once per process, that ``what`` runs on the slow pure-Python path.

    A pure-Python install (the core failed to build: :data:`ERROR` says why and what to
    install) works, with the same bytes; this is its one reminder that it is slow.

    :param reason: why, when it is not that the core is missing (a libcrypto without
        the AEAD).
    :param stacklevel: as for :func:`warnings.warn`, counted from the caller.
    """
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"{what} runs on its slow pure-Python path: {ERROR or reason}",
        RuntimeWarning,
        stacklevel=stacklevel + 1,
    )


def core_version() -> str | None:
    """The package version the core was built from (None without a core)."""
    return _core.core_version()


def libcrypto_version() -> str | None:
    """The version of the libcrypto the core links, e.g. ``"OpenSSL 3.0.15 ..."``
    (None without a core)."""
    return _core.libcrypto_version()


@functools.cache
def _features() -> tuple[tuple[str, bool], ...]:
    # asked once per process: the linked libcrypto does not change under it
    return tuple(_core.core_features().items())


def features() -> dict[str, bool]:
    """Which AEADs the core can run: ``{"chacha20-poly1305": ..., "aes-256-gcm": ...}``."""
    return dict(_features())


def offers(aead: str) -> bool:
    """Whether the core is built and its libcrypto runs ``aead``."""
    return AVAILABLE and dict(_features()).get(aead, False)


def cleanse(buf: bytearray | memoryview) -> None:
    """Overwrite a writable buffer with zeros in a way no compiler drops (OPENSSL_cleanse).

    Without the core the buffer is zeroed by a slice assignment instead.
    """
    _stream.cleanse(buf)


def seal_one(
    cipher: str,
    key: bytes | bytearray | memoryview,
    nonce: bytes,
    aad: bytes,
    plaintext: bytes | bytearray | memoryview,
) -> bytearray:
    """One AEAD seal in the core with an explicit nonce: ciphertext || 16-byte tag.

    For known-answer tests and raw speed comparisons (RFC 8439 §2.8, NIST SP 800-38D);
    the caller owns nonce uniqueness.

    :raises ~pqe2ee.exceptions.BackendUnavailable: the core is not built.
    :raises ValueError: an unknown cipher, or a key or nonce of the wrong size.
    """
    return _stream.stream_seal_one(cipher, key, nonce, aad, plaintext)


def open_one(
    cipher: str,
    key: bytes | bytearray | memoryview,
    nonce: bytes,
    aad: bytes,
    sealed: bytes | bytearray | memoryview,
) -> bytearray:
    """One AEAD open in the core of ciphertext || tag with an explicit nonce.

    :raises ~pqe2ee.exceptions.InvalidTag: authentication failed (nothing is returned).
    :raises ~pqe2ee.exceptions.BackendUnavailable: the core is not built.
    """
    return _stream.stream_open_one(cipher, key, nonce, aad, sealed)
