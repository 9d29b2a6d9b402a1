"""The package layout: argparse and rich live in ``pqe2ee/cli/`` and nowhere else.

The library returns data or takes callbacks; only the commands parse arguments and print
tables and progress bars.  Every import counts, a lazy one inside a function included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pqe2ee"
CLI_ONLY = frozenset({"argparse", "rich"})


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level module) of every import in ``tree``, however deeply nested."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def _library_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")


def test_the_walk_sees_the_library_and_the_cli() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in _library_modules()}
    assert {"__init__.py", "age/api.py", "bench/migrate.py", "io/socket.py"} <= names
    assert not any(n.startswith("cli/") for n in names)
    cli = ast.parse((PACKAGE / "cli" / "__init__.py").read_text())
    assert "argparse" in {module for _, module in _imported(cli)}


@pytest.mark.parametrize(
    "source",
    [
        "import argparse",
        "import rich.console",
        "from rich.table import Table",
        "def f():\n    from rich import progress",
        "import importlib\nimportlib.import_module('rich.progress')",
    ],
)
def test_the_check_catches_every_form(source: str) -> None:
    assert {m for _, m in _imported(ast.parse(source))} & CLI_ONLY


def test_no_library_module_imports_argparse_or_rich() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in _library_modules()
        for line, module in _imported(ast.parse(path.read_text(), str(path)))
        if module in CLI_ONLY
    ]
    assert not offenders, "argparse and rich belong in pqe2ee/cli/:\n" + "\n".join(offenders)
