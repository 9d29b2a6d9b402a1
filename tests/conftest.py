"""Shared test helpers: where the vectors are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(autouse=True)
def _private_config_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test (and every process it starts) gets its own ``XDG_CONFIG_HOME``: a
    ``pqe2ee connect`` in a test must never write to the user's real known-peers store,
    nor trip over a key recorded by an earlier test on a reused port."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS


def load_json(path: Path) -> Any:
    with path.open() as f:
        return json.load(f)


def wycheproof_cases(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(id, test) pairs of a Wycheproof file, each test carrying its group's fields."""
    data = load_json(path)
    out = []
    for group in data["testGroups"]:
        extra = {k: v for k, v in group.items() if k != "tests"}
        for test in group["tests"]:
            out.append((f"tc{test['tcId']}", {**extra, **test}))
    return out
