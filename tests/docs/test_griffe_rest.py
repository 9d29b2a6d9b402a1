"""scripts/griffe_rest.py: the reST habits of the docstrings, as the site's Markdown."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "griffe_rest.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("griffe_rest", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rest_to_markdown = _load().rest_to_markdown


def test_roles_become_inline_code() -> None:
    text = "See :func:`~pqe2ee.hazmat.stream.encrypt` and :class:`pqe2ee.InvalidTag`."
    assert rest_to_markdown(text) == "See `encrypt` and `pqe2ee.InvalidTag`."


def test_literal_block_becomes_a_fence() -> None:
    text = "Over an ``HkdfLabel``::\n\n    uint16 length || opaque label\n\nThen more."
    assert rest_to_markdown(text) == (
        "Over an ``HkdfLabel``:\n\n```text\nuint16 length || opaque label\n```\n\nThen more."
    )


def test_bare_double_colon_line_and_indented_field() -> None:
    text = "::\n\n    a -> b\n\n:param x: the thing"
    assert rest_to_markdown(text) == "```text\na -> b\n```\n\n:param x: the thing"


def test_table_and_doctest_become_fences() -> None:
    text = "Sizes:\n\n===  ==\nkem  pk\n===  ==\nX    32\n===  ==\n\n>>> 1 + 1\n2\n\nEnd."
    assert rest_to_markdown(text) == (
        "Sizes:\n\n```text\n===  ==\nkem  pk\n===  ==\nX    32\n===  ==\n```\n\n"
        "```pycon\n>>> 1 + 1\n2\n```\n\nEnd."
    )


def test_plain_markdown_is_untouched() -> None:
    text = "A *b* ``c``: d.\n\n- e\n- f"
    assert rest_to_markdown(text) == text
