"""Every ```python block of README.md and docs/*.md runs as written.

Each block runs on its own, in a fresh namespace and an empty temporary folder as its
current directory (so a block makes the files it reads), with top-level ``await``
allowed as in ``python -m asyncio``.  A block that cannot run here (it needs a peer on
the network) says so with a marker line ``# doctest: skip <reason>``; the reason is
required, and the skip shows in pytest's summary.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import linecache
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*$")
_SKIP = re.compile(r"#\s*doctest:\s*skip\b:?\s*(?P<reason>.*)$", re.M)


@dataclass(frozen=True)
class Example:
    """One fenced block: where it is and its code."""

    path: Path
    line: int  # of the opening fence, 1-based
    code: str

    @property
    def name(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"

    def skip_reason(self) -> str | None:
        """The reason a ``# doctest: skip`` marker gives, None without a marker.

        :raises ValueError: a marker with no reason.
        """
        match = _SKIP.search(self.code)
        if match is None:
            return None
        reason = match["reason"].strip(" -—():")
        if not reason:
            raise ValueError(f"{self.name}: '# doctest: skip' needs a reason after it")
        return reason


def python_blocks(text: str, path: Path) -> list[Example]:
    """The ```python (or ```py, ```python3) blocks of the Markdown ``text``."""
    blocks: list[Example] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not re.match(rf"^{opening['indent']}```\s*$", lines[end]):
            end += 1
        if opening["lang"] in {"python", "py", "python3"}:
            body = [line.removeprefix(opening["indent"]) for line in lines[i + 1 : end]]
            blocks.append(Example(path, i + 1, "\n".join(body) + "\n"))
        i = end + 1
    return blocks


EXAMPLES = [b for source in SOURCES for b in python_blocks(source.read_text("utf-8"), source)]


def run_example(code: str, filename: str) -> None:
    """Run ``code`` as a module would run, top-level ``await`` allowed."""
    compiled = compile(code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    # so that a failure's traceback shows the example's lines
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    namespace: dict[str, object] = {"__name__": "__example__"}
    result = eval(compiled, namespace)  # the repository's own examples
    if inspect.iscoroutine(result):
        asyncio.run(result)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_runs(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = example.skip_reason()
    if reason is not None:
        pytest.skip(f"{example.name}: {reason}")
    monkeypatch.chdir(tmp_path)
    run_example(example.code, example.name)


def test_examples_are_found() -> None:
    # the README's and each guide's examples: a broken collector would pass vacuously
    names = {e.path.name for e in EXAMPLES}
    assert {"README.md", "kem.md", "stream.md", "age.md", "hpke.md", "tunnel.md"} <= names


def test_collector_reads_fences_and_markers(tmp_path: Path) -> None:
    text = (
        "intro\n```sh\necho no\n```\n"
        "```python\nx = 1\n```\n"
        "- item\n\n  ```py\n  y = 2  # indented under a list item\n  ```\n"
        "```python\n# doctest: skip needs a server\nconnect()\n```\n"
        "```python\n# doctest: skip\n```\n"
    )
    blocks = python_blocks(text, tmp_path / "x.md")
    assert [b.code for b in blocks] == [
        "x = 1\n",
        "y = 2  # indented under a list item\n",
        "# doctest: skip needs a server\nconnect()\n",
        "# doctest: skip\n",
    ]
    assert [b.line for b in blocks] == [5, 10, 13, 17]
    assert blocks[0].skip_reason() is None
    assert blocks[2].skip_reason() == "needs a server"
    with pytest.raises(ValueError, match="needs a reason"):
        blocks[3].skip_reason()


def test_a_failing_example_fails() -> None:
    with pytest.raises(AssertionError):
        run_example("assert 1 == 2\n", "x.md:1")
    with pytest.raises(ZeroDivisionError):
        run_example("import asyncio\nawait asyncio.sleep(0)\n1 / 0\n", "x.md:1")
