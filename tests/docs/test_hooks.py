"""scripts/docs_hooks.py: the links of the README-derived pages, and the CLI walk."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "docs_hooks.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load()


def test_links_into_docs_and_between_included_files() -> None:
    pages = dict(hooks.INCLUDED)
    text = (
        "[p](docs/protocol.md#6-trust) [v](tests/vectors/README.md) "
        "[u](https://age-encryption.org) [a](#layout)"
    )
    out, added = hooks.rewrite_links(text, "README.md", pages)
    assert (
        out
        == "[p](protocol.md#6-trust) [v](vectors.md) [u](https://age-encryption.org) [a](#layout)"
    )
    assert added == []


def test_a_linked_repository_file_is_added_under_repo() -> None:
    pages = dict(hooks.INCLUDED)
    out, added = hooks.rewrite_links("[s](../../setup.py)", "tests/vectors/README.md", pages)
    assert added == ["setup.py"]
    assert pages["setup.py"] == "repo/setup.py"
    assert out == "[s](repo/setup.py)"  # vectors.md sits at the site's root
    pages["fuzz/README.md"] = "repo/fuzz/README.md"  # from a page deeper in the site
    out, _ = hooks.rewrite_links("[r](../README.md) [k](../docs/kem.md)", "fuzz/README.md", pages)
    assert out == "[r](../../index.md) [k](../../kem.md)"


def test_a_link_to_a_missing_file_is_left_for_strict_to_refuse() -> None:
    out, added = hooks.rewrite_links("[x](no/such.md)", "README.md", dict(hooks.INCLUDED))
    assert (out, added) == ("[x](no/such.md)", [])


def test_cli_reference_lists_nested_commands_once() -> None:
    from pqe2ee.cli import build_parser

    progs = [sub.prog for sub, _ in hooks.commands(build_parser())]
    assert len(progs) == len(set(progs))
    assert {"pqe2ee kem list", "pqe2ee tunnel server", "pqe2ee age encrypt"} <= set(progs)
    page = hooks.cli_reference()
    assert "| [`pqe2ee age encrypt`](#pqe2ee-age-encrypt) |" in page
    assert "#### `pqe2ee age encrypt` { #pqe2ee-age-encrypt }" in page
