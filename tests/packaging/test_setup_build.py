"""setup.py: a C core that does not build gives a pure-Python install that says why and
what to install, unless PQE2EE_REQUIRE_CORE=1; the wheel is tagged abi3.

setup.py is loaded as a module (its ``setup()`` call runs only as ``__main__``), and the
compiler is replaced by fakes: building a wheel in a fresh venv is
scripts/check-install.sh's job, too slow for the suite.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from setuptools import Distribution, Extension
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CompileError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pqe2ee_setup_py", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeCompiler:
    """A compiler that fails on the sources ``refuses`` says, from ``compiler_so``."""

    def __init__(self, executable: str, refuses: Any) -> None:
        self.compiler_so = [executable, "-O2"]
        self.refuses = refuses

    def compile(self, sources: list[str], **kwargs: Any) -> list[str]:
        text = Path(sources[0]).read_text()
        if self.refuses(text):
            raise CompileError("command failed with exit code 1")
        return []


def test_diagnose_names_a_missing_compiler(setup_py: ModuleType) -> None:
    compiler = FakeCompiler("/nonexistent/gcc-42", lambda text: True)
    reason = setup_py.diagnose(compiler, [], CompileError("x"))
    assert reason == "no C compiler: `/nonexistent/gcc-42` was not found"


def test_diagnose_names_a_compiler_that_does_not_work(setup_py: ModuleType) -> None:
    compiler = FakeCompiler(sys.executable, lambda text: True)  # CC=/bin/false
    reason = setup_py.diagnose(compiler, [], CompileError("x"))
    assert reason == f"the C compiler `{sys.executable}` does not work"


def test_diagnose_names_missing_openssl_headers(setup_py: ModuleType) -> None:
    compiler = FakeCompiler(sys.executable, lambda text: "openssl" in text)
    reason = setup_py.diagnose(compiler, [], CompileError("x"))
    assert reason == "the OpenSSL headers are missing (openssl/evp.h)"


def test_diagnose_otherwise_gives_the_error(setup_py: ModuleType) -> None:
    compiler = FakeCompiler(sys.executable, lambda text: False)
    reason = setup_py.diagnose(compiler, [], CompileError("core.c:12: error: boom"))
    assert reason == "the build failed: core.c:12: error: boom"


def _command(tmp_path: Path) -> tuple[Any, Extension, Path]:
    ext = Extension("pkg._core", sources=["core.c"])
    dist = Distribution({"name": "pkg", "ext_modules": [ext], "packages": []})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(tmp_path / "lib")
    cmd.build_temp = str(tmp_path / "tmp")
    cmd.ensure_finalized()
    target = Path(cmd.get_ext_fullpath(ext.name))
    return cmd, ext, target


def _failing_build(setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    def fail(self: Any, ext: Any) -> None:
        raise CompileError("command '/usr/bin/gcc' failed with exit code 1")

    monkeypatch.setattr(build_ext, "build_extension", fail)
    monkeypatch.setattr(setup_py, "diagnose", lambda *a: "the OpenSSL headers are missing")
    cmd, ext, target = _command(tmp_path)
    cmd.__class__ = setup_py.OptionalBuildExt
    return cmd, ext, target


def test_a_failed_core_build_is_a_pure_python_install(
    setup_py: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("PQE2EE_REQUIRE_CORE", raising=False)
    cmd, ext, target = _failing_build(setup_py, monkeypatch, tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"a core from an earlier build")
    cmd.build_extension(ext)  # no exception
    assert not target.exists(), "a stale core would ship with the pure-Python install"
    note = target.parent / "_core_missing.txt"
    assert note.read_text() == "the OpenSSL headers are missing\n"
    assert ext.optional  # setuptools then skips copying it --inplace
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("pqe2ee: the C core was not built (the OpenSSL headers are missing)")
    assert "apt-get install gcc libssl-dev" in err[0]
    assert "pure-Python" in err[0]


@pytest.mark.parametrize("value", ["1", "yes"])
def test_pqe2ee_require_core_makes_it_fail(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("PQE2EE_REQUIRE_CORE", value)
    cmd, ext, target = _failing_build(setup_py, monkeypatch, tmp_path)
    with pytest.raises(BaseError, match=r"PQE2EE_REQUIRE_CORE requires it: apt-get install gcc"):
        cmd.build_extension(ext)
    assert not (target.parent / "_core_missing.txt").exists()


def test_require_core_unset_or_zero_is_lenient(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in ("", "0", " "):
        monkeypatch.setenv("PQE2EE_REQUIRE_CORE", value)
        assert not setup_py.strict()
    monkeypatch.delenv("PQE2EE_REQUIRE_CORE")
    assert not setup_py.strict()


def test_a_successful_build_removes_an_old_note(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def build(self: Any, ext: Any) -> None:
        Path(self.get_ext_fullpath(ext.name)).write_bytes(b"core")

    monkeypatch.setattr(build_ext, "build_extension", build)
    cmd, ext, target = _command(tmp_path)
    cmd.__class__ = setup_py.OptionalBuildExt
    target.parent.mkdir(parents=True)
    note = target.parent / "_core_missing.txt"
    note.write_text("no C compiler\n")
    cmd.build_extension(ext)
    assert target.read_bytes() == b"core"
    assert not note.exists()


def test_the_wheel_is_tagged_for_the_stable_abi(setup_py: ModuleType) -> None:
    # cffi builds the core with Py_LIMITED_API; the wheel says so (cp311-abi3)
    assert setup_py._options() == {"bdist_wheel": {"py_limited_api": "cp311"}}
    built = list((ROOT / "pqe2ee").glob("_core*.so"))
    assert built, "make build first"
    assert all(p.name.endswith(".abi3.so") for p in built)
