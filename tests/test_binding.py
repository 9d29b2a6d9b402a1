"""The compiled core loads, matches the package version and reports its libcrypto."""

from __future__ import annotations

from pqe2ee import _binding
from pqe2ee._version import __version__


def test_core_is_built_and_current() -> None:
    assert _binding.CORE_AVAILABLE, _binding.CORE_ERROR
    assert _binding.ffi.string(_binding.lib.pqe2ee_core_version()).decode() == __version__


def test_libcrypto_version_and_features() -> None:
    version = _binding.libcrypto_version()
    assert version is not None
    assert version.startswith("OpenSSL ")
    assert _binding.core_features() == {"chacha20-poly1305": True, "aes-256-gcm": True}
