"""Build facts of the compiled core (``csrc/core.h``): versions and AEAD probes."""

from __future__ import annotations

from pqe2ee._binding._load import CORE_AVAILABLE, ffi, lib

__all__ = ["core_features", "core_version", "libcrypto_version"]


def core_version() -> str | None:
    """The package version the core was built from, or None without a core."""
    if not CORE_AVAILABLE:
        return None
    return str(ffi.string(lib.pqe2ee_core_version()).decode())


def libcrypto_version() -> str | None:
    """The version string of the libcrypto the core links, or None without a core."""
    if not CORE_AVAILABLE:
        return None
    return str(ffi.string(lib.pqe2ee_libcrypto_version()).decode())


def core_features() -> dict[str, bool]:
    """Which AEADs the linked libcrypto offers, asked at run time (all false without a core)."""
    if not CORE_AVAILABLE:
        return {"chacha20-poly1305": False, "aes-256-gcm": False}
    return {
        "chacha20-poly1305": bool(lib.pqe2ee_has_chacha20_poly1305()),
        "aes-256-gcm": bool(lib.pqe2ee_has_aes_256_gcm()),
    }
