"""The only package that imports the compiled core ``pqe2ee._core``.

One module per C header: :mod:`~pqe2ee._binding.core` (``csrc/core.h``),
:mod:`~pqe2ee._binding.stream`, :mod:`~pqe2ee._binding.records` and
:mod:`~pqe2ee._binding.pump`; :mod:`~pqe2ee._binding._load` loads the core, refuses a
stale build, reads its constants and turns its status codes into exceptions.  Sizes and
limits are read from the C headers, never restated; without a built core they come from
one fallback table (:mod:`~pqe2ee._binding._fallback`) that a test holds to the C values.

Nothing outside ``pqe2ee.hazmat`` imports this package: the recipes reach the core
through :mod:`pqe2ee.hazmat.core`, :mod:`pqe2ee.hazmat.records`, :mod:`pqe2ee.hazmat.pump`
and :mod:`pqe2ee.hazmat.stream`.
"""

from pqe2ee._binding._load import (
    CORE_AVAILABLE,
    CORE_ERROR,
    constant,
    ffi,
    lib,
    require_core,
)

__all__ = ["CORE_AVAILABLE", "CORE_ERROR", "constant", "ffi", "lib", "require_core"]
