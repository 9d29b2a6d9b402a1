"""The handshake package is sans-IO: no files, sockets, clocks or trust stores.

Checked on the source, so a new import of any of these into ``pqe2ee/handshake/`` fails
here before it can reach a release (the known-peers file used to be read, appended to and
fsynced from inside ``Connection.receive_data``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HANDSHAKE = Path(__file__).resolve().parents[2] / "pqe2ee" / "handshake"

#: Modules whose import means I/O or a trust store (the adapters' business).
FORBIDDEN_MODULES = (
    "asyncio",
    "fcntl",
    "pathlib",
    "select",
    "selectors",
    "shutil",
    "socket",
    "tempfile",
    "time",
    "pqe2ee._fileio",
    "pqe2ee.io",
    "pqe2ee.trust",
)
#: Calls that open or inspect files.
FORBIDDEN_CALLS = {"open"}
FORBIDDEN_OS = {"open", "fsync", "replace", "rename", "stat", "listdir", "scandir", "remove"}


def _violations(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                found.append(f"line {node.lineno}: imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"line {node.lineno}: calls {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
                and func.attr in FORBIDDEN_OS
            ):
                found.append(f"line {node.lineno}: calls os.{func.attr}()")
    return found


@pytest.mark.parametrize("path", sorted(HANDSHAKE.glob("*.py")), ids=lambda p: p.name)
def test_no_io_in_the_handshake_package(path: Path) -> None:
    assert _violations(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "from pqe2ee.trust.known_peers import KnownPeers",
        "import pathlib",
        "from pqe2ee.io import socket",
        "with open('x') as f: pass",
        "import os\nos.fsync(3)",
    ],
)
def test_the_checker_catches_io(source: str) -> None:
    assert _violations(source)
