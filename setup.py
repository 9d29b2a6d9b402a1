"""Declares the cffi-built C core; everything else lives in pyproject.toml.

The core is optional at build time: without a C compiler or the OpenSSL headers the
build says so in one line (what to install for the fast path), records why in
``pqe2ee/_core_missing.txt`` for ``pqe2ee info`` and the run-time warning, and the
install carries on with the pure-Python path.  ``PQE2EE_REQUIRE_CORE=1`` (which
``make build`` sets) turns a failed core build into a failed install.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError, CompileError

#: Set to 1 to make a failed build of the C core fail the install.
REQUIRE_ENV = "PQE2EE_REQUIRE_CORE"
#: Written beside the (missing) extension: why it was not built.
MISSING_FILE = "_core_missing.txt"
#: What to install on Debian/Ubuntu for the fast path.
FIX = "apt-get install gcc libssl-dev"
BUILD_ERRORS = (CCompilerError, CompileError, BaseError, OSError)


def strict() -> bool:
    """Whether :data:`REQUIRE_ENV` asks for a failed core build to fail the install."""
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def _compiles(compiler: Any, source: str, include_dirs: list[str]) -> bool:
    with tempfile.TemporaryDirectory(prefix="pqe2ee-probe-") as tmp:
        path = Path(tmp, "probe.c")
        path.write_text(source)
        try:
            compiler.compile([str(path)], output_dir=tmp, include_dirs=include_dirs)
        except BUILD_ERRORS:
            return False
    return True


def diagnose(compiler: Any, include_dirs: list[str], error: BaseException) -> str:
    """Why the core did not build, in words a user can act on."""
    command = getattr(compiler, "compiler_so", None) or ["the C compiler"]
    name = str(command[0])
    if getattr(compiler, "compiler_so", None) and shutil.which(name) is None:
        return f"no C compiler: `{name}` was not found"
    if not _compiles(compiler, "int main(void) { return 0; }\n", include_dirs):
        return f"the C compiler `{name}` does not work"
    if not _compiles(compiler, "#include <openssl/evp.h>\n", include_dirs):
        return "the OpenSSL headers are missing (openssl/evp.h)"
    return f"the build failed: {error}"


def advice(reason: str) -> str:
    """The one line a failed core build prints."""
    return (
        f"pqe2ee: the C core was not built ({reason}); pqe2ee works without it, on its "
        f"slower pure-Python path.  For the fast path: {FIX}, then reinstall pqe2ee "
        "(pip install --force-reinstall --no-cache-dir pqe2ee)."
    )


class OptionalBuildExt(build_ext):
    """``build_ext`` for which a failed C core means a pure-Python install, not a failure."""

    _copy_to_source = False

    def run(self) -> None:
        """Build (setuptools clears ``inplace`` while building, so remember it)."""
        self._copy_to_source = bool(self.inplace)
        super().run()

    def build_extension(self, ext: Any) -> None:
        """Build ``ext``; on failure (unless :func:`strict`) say why and carry on."""
        target = Path(self.get_ext_fullpath(ext.name))
        stale = [target]
        if self._copy_to_source:  # the package in the source tree is the one that runs
            build_py = self.get_finalized_command("build_py")
            inplace_file, _ = self._get_inplace_equivalent(build_py, ext)
            stale.append(Path(inplace_file))
        notes = [path.parent / MISSING_FILE for path in stale]
        # A core left by an earlier build must not ship, or run, after a failed one.
        for path in stale:
            path.unlink(missing_ok=True)
        try:
            super().build_extension(ext)
        except BUILD_ERRORS as exc:
            reason = diagnose(self.compiler, list(ext.include_dirs or []), exc)
            if strict():
                raise BaseError(
                    f"pqe2ee: the C core was not built ({reason}) and {REQUIRE_ENV} "
                    f"requires it: {FIX}"
                ) from exc
            ext.optional = True  # setuptools then skips it when copying --inplace
            for note in notes:
                note.parent.mkdir(parents=True, exist_ok=True)
                note.write_text(reason + "\n")
            print(advice(reason), file=sys.stderr, flush=True)
        else:
            for note in notes:
                note.unlink(missing_ok=True)


def _options() -> dict[str, Any]:
    # The core is built against CPython's stable ABI (cffi sets Py_LIMITED_API), so
    # one wheel serves CPython 3.11 and later; a free-threaded build has no stable ABI.
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return {}
    return {"bdist_wheel": {"py_limited_api": "cp311"}}


if __name__ == "__main__":
    setup(
        cffi_modules=["csrc/build_core.py:ffibuilder"],
        cmdclass={"build_ext": OptionalBuildExt},
        options=_options(),
    )
