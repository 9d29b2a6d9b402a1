"""Dependencies: numpy is core (bench and migrate run after a plain install); a feature
whose extra is missing says which one to install and the command exits 2.

Extras are made missing in a child interpreter with ``sys.modules[name] = None``, which
makes their import fail as an install without them does.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pqe2ee import MissingExtra, _extras
from pqe2ee.exceptions import BackendUnavailable

ROOT = Path(__file__).resolve().parents[2]
HIDE = "import sys\nfor m in {mods!r}: sys.modules[m] = None\n"
OPTIONAL = ["matplotlib", "oqs", "atheris", "pytest_benchmark"]


def _child(code: str, hide: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE.format(mods=hide) + code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def _cli(argv: list[str], hide: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return _child(f"from pqe2ee.cli import main\nsys.exit(main({argv!r}))", hide, cwd)


def test_numpy_is_a_core_dependency_and_matplotlib_the_plots_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]]
    assert "numpy" in names
    assert "matplotlib" not in names
    extras = project["optional-dependencies"]
    assert extras["plots"] == ["matplotlib>=3.8"]
    assert "pqe2ee[plots]" in extras["bench"]


def test_every_module_imports_without_the_extras() -> None:
    code = (
        "import importlib, pkgutil, pqe2ee\n"
        "for m in pkgutil.walk_packages(pqe2ee.__path__, 'pqe2ee.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print('ok')\n"
    )
    proc = _child(code, OPTIONAL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_matplotlib_is_imported_only_through_require() -> None:
    """An ``import matplotlib`` anywhere else would be a bare ModuleNotFoundError."""
    offenders = []
    for path in (ROOT / "pqe2ee").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "matplotlib" for n in names):  # the top package, not pyplot
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_require_names_the_extra() -> None:
    with pytest.raises(MissingExtra) as info:
        _extras.require("pqe2ee_no_such_module", extra="plots", needed_for="for the plots")
    assert str(info.value) == (
        "pqe2ee_no_such_module is needed for the plots but is not installed: "
        "pip install 'pqe2ee[plots]'"
    )
    assert info.value.extra == "plots"
    assert isinstance(info.value, BackendUnavailable)


def test_require_tells_a_broken_install_from_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "broken_mod.py").write_text("raise ImportError('libfoo.so: cannot open')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(MissingExtra, match=r"fails to import \(libfoo.so: cannot open\)"):
            _extras.require("broken_mod", extra="plots", needed_for="for the plots")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("broken_mod", None)


def test_bench_html_without_plots_exits_2_before_measuring(tmp_path: Path) -> None:
    proc = _cli(["bench", "--quick", "--html", "r.html", "--json", "r.json"], OPTIONAL, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "pqe2ee: error: matplotlib is needed for the plots of the HTML report but is not "
        "installed: pip install 'pqe2ee[plots]'\n"
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing measured, nothing written


def test_migrate_html_without_plots_exits_2(tmp_path: Path) -> None:
    proc = _cli(["migrate", "--from-json", "none.json", "--html", "m.html"], OPTIONAL, tmp_path)
    assert proc.returncode == 2
    assert "pip install 'pqe2ee[plots]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_migrate_without_plots_works(tmp_path: Path) -> None:
    """The tables and the recommendation need only the core install (numpy)."""
    from pqe2ee.bench.runner import Budget, run

    (tmp_path / "r.json").write_text(run(Budget.tiny()).to_json())
    proc = _cli(["migrate", "--from-json", "r.json", "--runs", "50"], OPTIONAL, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Cost at" in proc.stdout
    assert json.loads((tmp_path / "r.json").read_text())["results"]


def test_fuzzing_without_atheris_says_what_to_install() -> None:
    proc = _child("from fuzz.run import fuzz_one\nfuzz_one('records', [])", ["atheris"], ROOT)
    assert proc.returncode == 2
    assert proc.stderr == (
        "fuzz/run.py: atheris is not installed: pip install -e '.[fuzz]' (make fuzz does)\n"
    )
