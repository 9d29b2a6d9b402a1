"""cffi build script for ``pqe2ee._core`` (API mode), declared in setup.py.

Every ``csrc/*.h`` is fed to ``cdef`` and every ``csrc/*.c`` is compiled, so a new area
of the core is one new header and one new source file (the PyNaCl layout).  The
package version is stamped in so that ``pqe2ee._binding`` can refuse a stale build.
The headers' integer ``#define``s and enum members become ``lib`` constants, which cffi
checks against the compiled values; ``pqe2ee._binding`` reads every size from them.
Extra flags (for example the sanitizer build) come from the usual CFLAGS/LDFLAGS.
"""

from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _package_version() -> str:
    text = (ROOT / "pqe2ee" / "_version.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if match is None:
        raise RuntimeError("pqe2ee/_version.py has no __version__")
    return match.group(1)


headers = sorted(HERE.glob("*.h"))
sources = sorted(HERE.glob("*.c"))

ffibuilder = FFI()
ffibuilder.cdef("\n".join(h.read_text() for h in headers))
ffibuilder.set_source(
    "pqe2ee._core",
    "\n".join(f'#include "{h.name}"' for h in headers),
    sources=[str(s.relative_to(ROOT)) for s in sources],
    include_dirs=[str(HERE.relative_to(ROOT))],
    libraries=["crypto"],
    define_macros=[("PQE2EE_VERSION", f'"{_package_version()}"')],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
