"""A griffe extension (mkdocs.yml): the reStructuredText in pqe2ee's docstrings, as Markdown.

The docstrings are written for ``help()`` and Sphinx-style fields (``:param:``,
``:raises:``), which mkdocstrings parses itself; three reST habits remain that Markdown
would render as noise, and this rewrites them before rendering:

- roles, ``:func:`~pqe2ee.hazmat.stream.encrypt``` -> inline code `` `encrypt` ``;
- literal blocks introduced by ``::`` -> fenced code blocks;
- simple tables (rows between ``===`` borders) -> fenced code blocks, as typed;
- doctest sessions (``>>>``, which Markdown reads as nested quotes) -> ``pycon`` blocks.

It also reads the ``#:`` comments above module constants (Sphinx's convention for
documenting a variable, which pqe2ee follows) as those constants' docstrings.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc|const):`~?([^`]+)`")
_TABLE_BORDER = re.compile(r"^\s*=+( +=+)+\s*$")


def _role(match: re.Match[str]) -> str:
    shown = match[1].rsplit(".", 1)[-1] if "~" in match[0] else match[1]
    return f"`{shown}`"


def rest_to_markdown(text: str) -> str:
    """``text`` with reST roles, literal blocks and simple tables made Markdown."""
    text = _ROLE.sub(_role, text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        table, doctest = _TABLE_BORDER.match(line), line.lstrip().startswith(">>> ")
        if table or doctest:
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            fence = "```text" if table else "```pycon"
            out += [fence, *textwrap.dedent("\n".join(lines[i:end])).split("\n"), "```"]
            i = end
            continue
        if line.rstrip().endswith("::") and i + 1 < len(lines) and not lines[i + 1].strip():
            intro = line.rstrip()[:-2].rstrip()
            indent = len(line) - len(line.lstrip())
            end = i + 1
            while end < len(lines) and (
                not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
            ):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            block = textwrap.dedent("\n".join(lines[i + 2 : end]))
            if intro:
                out += [intro + ":", ""]
            out += [" " * indent + "```text", *block.split("\n"), " " * indent + "```"]
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RestDocstrings(griffe.Extension):
    """Rewrite every docstring with :func:`rest_to_markdown` once the tree is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring in place (or give an attribute its ``#:`` comment)."""
        if obj.docstring is None and obj.is_attribute:
            comment = _doc_comment(obj)
            like = obj.module.docstring  # every module of pqe2ee has one (ruff D100)
            if comment and like is not None:
                obj.docstring = griffe.Docstring(
                    comment,
                    lineno=obj.lineno,
                    parent=obj,
                    parser=like.parser,
                    parser_options=like.parser_options,
                )
        if obj.docstring is not None:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)


def _doc_comment(obj: griffe.Object) -> str:
    """The ``#:`` comment lines right above ``obj``'s definition, without the markers."""
    if obj.lineno is None or not isinstance(obj.filepath, Path):
        return ""
    try:  # (a LinesCollection has no .get)
        lines = obj.lines_collection[obj.filepath]
    except KeyError:
        return ""
    found: list[str] = []
    i = obj.lineno - 2
    while i >= 0 and lines[i].lstrip().startswith("#:"):
        found.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    return "\n".join(found)
