"""MkDocs hooks (mkdocs.yml ``hooks:``): the pages the site generates at build time.

- ``cli.md``: the command-line reference, from ``pqe2ee.cli.build_parser()`` itself: every
  command and sub-command with its ``--help`` exactly as the program prints it, so the page
  cannot drift from the code.
- ``index.md``, ``vectors.md``, ``fuzzing.md``: the repository's README.md,
  tests/vectors/README.md and fuzz/README.md, with their links to other files of the
  repository turned into links between the site's pages; a file they link to that is
  neither in ``docs/`` nor one of these (CHANGELOG.md, LICENSE) is added under ``repo/``.
  A link to a file that does not exist is left as it is, and ``mkdocs build --strict``
  fails on it.

Nothing is written into ``docs/``: the pages exist only in the build.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent

# Repository file -> the site page it becomes (docs/*.md become their own pages).
INCLUDED = {
    "README.md": "index.md",
    "tests/vectors/README.md": "vectors.md",
    "fuzz/README.md": "fuzzing.md",
}
CLI_PAGE = "cli.md"
# --help is wrapped at the terminal's width (COLUMNS); a fixed one makes the page the same
# on every machine and fits the theme's code blocks.
HELP_COLUMNS = 72

_LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages to the build."""
    pages = dict(INCLUDED)
    pending = list(INCLUDED)
    while pending:  # the included files, and the repository files they link to
        source = pending.pop(0)
        if source.endswith(".md"):
            text, linked = rewrite_links((ROOT / source).read_text("utf-8"), source, pages)
            pending += [f for f in linked if f not in pending]
            files.append(File.generated(config, pages[source], content=text))
        else:  # LICENSE, examples/profile.toml...: served as they are
            files.append(
                File.generated(config, pages[source], content=(ROOT / source).read_bytes())
            )
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    return files


def rewrite_links(text: str, source: str, pages: dict[str, str]) -> tuple[str, list[str]]:
    """``text`` (the Markdown file ``source`` of the repository) with its relative links
    pointing at the site's pages instead of the repository's files.

    A link to a repository file outside ``docs/`` that ``pages`` does not map yet (a
    CHANGELOG.md, a LICENSE) is given a place under ``repo/`` in ``pages``, and returned,
    so that the caller adds it to the site.  A link to a file that does not exist is left
    as it is: ``mkdocs build --strict`` then fails on it.

    :param source: the file's path from the repository root, with ``/``.
    :param pages: repository path -> site path (docs-relative) of every generated page;
        updated in place.
    :returns: the new text, and the repository files newly added to ``pages``.
    """
    here = posixpath.dirname(source)
    added: list[str] = []

    def repl(match: re.Match[str]) -> str:
        target = match[2]
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):  # a URL, or an anchor on the page
            return match[0]
        path, hash_, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(here, path))
        if resolved.startswith("docs/"):
            page = resolved.removeprefix("docs/")
        elif resolved in pages:
            page = pages[resolved]
        elif (ROOT / resolved).is_file():
            page = pages[resolved] = f"repo/{resolved}"
            added.append(resolved)
        else:
            return match[0]
        link = posixpath.relpath(page, posixpath.dirname(pages[source]) or ".")
        return f"{match[1]}{link}{hash_}{anchor}{match[3]}"

    return _LINK.sub(repl, text), added


@contextmanager
def _help_width(columns: int) -> Iterator[None]:
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def commands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[argparse.ArgumentParser, str | None]]:
    """Every parser below ``parser``, depth first in ``--help`` order, with its one-line help.

    Aliases of one sub-command are given once.
    """
    seen: set[int] = set()
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, sub in action.choices.items():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            yield sub, helps.get(name)
            yield from commands(sub)


def _anchor(prog: str) -> str:
    return prog.replace(" ", "-")


def cli_reference() -> str:
    """The Markdown of the command-line reference page."""
    from pqe2ee.cli import build_parser

    with _help_width(HELP_COLUMNS):
        top = build_parser()
        subs = list(commands(top))
        lines = [
            "# Command-line reference",
            "",
            "Generated from the program's own argument parsers when this site was built:",
            "each section is what `--help` prints for that command.  Every command exits 0 on",
            "success, 1 when an operation fails (a session, a file, the network) and 2 for",
            "bad arguments or input, with one line on stderr.",
            "",
            "| Command | What it does |",
            "| --- | --- |",
        ]
        for sub, summary in subs:
            cell = (summary or sub.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| [`{sub.prog}`](#{_anchor(sub.prog)}) | {cell} |")
        for parser in (top, *(sub for sub, _ in subs)):
            level = "#" * min(2 + parser.prog.count(" "), 4)
            lines += [
                "",
                f"{level} `{parser.prog}` {{ #{_anchor(parser.prog)} }}",
                "",
                "```text",
                parser.format_help().rstrip(),
                "```",
            ]
    return "\n".join(lines) + "\n"
