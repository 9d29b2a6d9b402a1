"""The compiled core loads, matches the package version and reports its libcrypto; the
Python fallback table of its constants is exactly the core's."""

from __future__ import annotations

import pytest

from pqe2ee import _binding
from pqe2ee._binding import core, pump, records, stream
from pqe2ee._binding._fallback import FALLBACK
from pqe2ee._version import __version__
from pqe2ee.hazmat import core as hazmat_core
from pqe2ee.hazmat import records as hazmat_records
from pqe2ee.hazmat.pump import PumpBuffer, PumpFlag, PumpStatus
from pqe2ee.hazmat.stream import _format


def test_core_is_built_and_current() -> None:
    assert _binding.CORE_AVAILABLE, _binding.CORE_ERROR
    assert _binding.ffi.string(_binding.lib.pqe2ee_core_version()).decode() == __version__
    assert core.core_version() == __version__


def test_libcrypto_version_and_features() -> None:
    version = core.libcrypto_version()
    assert version is not None
    assert version.startswith("OpenSSL ")
    assert core.core_features() == {"chacha20-poly1305": True, "aes-256-gcm": True}
    assert hazmat_core.features() == core.core_features()
    assert hazmat_core.offers("aes-256-gcm") and not hazmat_core.offers("rot13")


def _core_constants() -> dict[str, int]:
    lib = _binding.lib
    return {
        name: getattr(lib, name)
        for name in dir(lib)
        if name.startswith("PQE2EE_") and isinstance(getattr(lib, name), int)
    }


def test_the_fallback_table_is_the_cores() -> None:
    """Every integer constant of csrc/*.h, and nothing else, with the C value: a size
    changed or added in C without its fallback fails here."""
    assert _binding.CORE_AVAILABLE, _binding.CORE_ERROR
    assert _core_constants() == FALLBACK


@pytest.mark.parametrize("name", sorted(FALLBACK))
def test_constant_reads_the_core(name: str) -> None:
    assert _binding.constant(name) == getattr(_binding.lib, name) == FALLBACK[name]


def test_python_takes_its_sizes_from_the_core() -> None:
    lib = _binding.lib
    assert stream.KEY_SIZE == _format.KEY_SIZE == lib.PQE2EE_AEAD_KEY_SIZE
    assert stream.TAG_SIZE == _format.TAG_SIZE == lib.PQE2EE_AEAD_TAG_SIZE
    assert stream.COUNTER_SIZE == _format.COUNTER_SIZE == lib.PQE2EE_STREAM_COUNTER_SIZE
    assert hazmat_records.MAX_PLAINTEXT == records.MAX_PLAINTEXT == 1 << 16
    assert hazmat_records.MAX_FRAME == records.MAX_FRAME == (1 << 16) + 256
    assert hazmat_records.OVERHEAD == records.HEADER_SIZE + 1 + stream.TAG_SIZE
    assert pump.BUFFER_MIN == lib.PQE2EE_PUMP_BUFFER_MIN
    assert {s.name: s.value for s in PumpStatus} == {
        n.removeprefix("PQE2EE_PUMP_"): v
        for n, v in _core_constants().items()
        if n in {f"PQE2EE_PUMP_{m}" for m in PumpStatus.__members__}
    }
    assert len(PumpStatus) == len(_binding.ffi.typeof("enum pqe2ee_pump_status").elements)
    assert len(PumpFlag) == len(_binding.ffi.typeof("enum pqe2ee_pump_flags").elements)
    assert len(PumpBuffer) == len(_binding.ffi.typeof("enum pqe2ee_pump_buffer").elements)
