"""The documentation site builds strictly, and its generated pages hold what they claim.

One ``mkdocs build --strict`` (mkdocs.yml, as ``make docs`` runs it) into a temporary
folder: any warning fails it, so broken links between pages, a nav entry without a page
and unparsable docstrings are caught there.  The tests below then read the HTML: the CLI
page has a section for every command the parser knows, with its real ``--help``; every
API page documents every name its modules export; the home page is the README.
"""

from __future__ import annotations

import argparse
import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pqe2ee.cli import build_parser

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[2]
API_DOCS = sorted((ROOT / "docs" / "api").glob("*.md"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr}"
    return out


def _text(page: Path) -> str:
    """The page's article as plain text (tags dropped, entities decoded)."""
    body = page.read_text("utf-8")
    article = re.search(r"<article.*?</article>", body, re.S)
    assert article is not None, f"{page}: no article"
    return html.unescape(re.sub(r"<[^>]+>", "", article[0]))


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _all_parsers(sub)
    return found


def test_cli_page_has_every_command_with_its_help(site: Path) -> None:
    page = (site / "cli" / "index.html").read_text("utf-8")
    text = _text(site / "cli" / "index.html")
    parsers = _all_parsers(build_parser())
    assert len(parsers) > 15  # the walk saw the nested sub-commands (age, tunnel, kem)
    for parser in parsers:
        anchor = parser.prog.replace(" ", "-")
        assert f'id="{anchor}"' in page, f"no section for {parser.prog!r}"
        usage = " ".join(parser.format_usage().split()[:3])  # 'usage: pqe2ee age', ...
        assert usage in " ".join(text.split()), f"no usage of {parser.prog!r}"
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text, f"{parser.prog}: {flag} missing from the CLI page"


@pytest.mark.parametrize("doc", API_DOCS, ids=[d.stem for d in API_DOCS])
def test_api_page_documents_every_exported_name(site: Path, doc: Path) -> None:
    page = (site / "api" / doc.stem / "index.html").read_text("utf-8")
    text = " ".join(_text(site / "api" / doc.stem / "index.html").split())
    modules = re.findall(r"^::: (\S+)", doc.read_text("utf-8"), re.M)
    assert modules, f"{doc.name} renders no module"
    for name in modules:
        module = importlib.import_module(name)
        assert f'id="{name}"' in page, f"{name} not rendered"
        summary = (module.__doc__ or "").split("\n")[0].replace("`", "")
        assert summary, f"{name} has no docstring"
        assert summary in text, f"{name}: its docstring is not on the page"
        missing = [n for n in getattr(module, "__all__", []) if f'id="{name}.{n}"' not in page]
        assert not missing, f"{doc.name}: {name} exports {missing} but the page lacks them"


def test_every_public_module_has_an_api_page() -> None:
    rendered = {m for d in API_DOCS for m in re.findall(r"^::: (\S+)", d.read_text(), re.M)}
    wanted = {
        "pqe2ee.hazmat.kem",
        "pqe2ee.hazmat.stream",
        "pqe2ee.hazmat.hpke",
        "pqe2ee.handshake",
        "pqe2ee.trust",
        "pqe2ee.io",
        "pqe2ee.io.aio",
        "pqe2ee.age",
        "pqe2ee.bench",
        "pqe2ee.exceptions",
    }
    assert wanted <= rendered


def test_home_page_is_the_readme_with_site_links(site: Path) -> None:
    page = (site / "index.html").read_text("utf-8")
    readme = (ROOT / "README.md").read_text("utf-8")
    first = next(line for line in readme.splitlines() if line.startswith("## "))
    assert html.escape(first.removeprefix("## "), quote=False) in page
    assert 'href="protocol/"' in page  # README's docs/protocol.md, as a page of the site
    assert 'href="docs/' not in page  # no link left pointing into the repository


def test_docstring_markup_is_rendered(site: Path) -> None:
    # reST roles and doctest prompts, turned into Markdown by scripts/griffe_rest.py
    text = _text(site / "api" / "stream" / "index.html")
    assert ":func:" not in text and ":class:" not in text
    page = (site / "api" / "stream" / "index.html").read_text("utf-8")
    assert '<span class="gp">&gt;&gt;&gt; </span>' in page  # a highlighted session
    assert "<blockquote>" not in page  # not '>>>' read as nested quotes
