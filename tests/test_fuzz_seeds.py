"""Every fuzz harness over its committed seeds and the reproducers of bugs it found
(fuzz/crashes-found/), without atheris: a harness whose properties no longer hold on
real traffic (or that no longer runs), or a fixed bug that is back, fails here, in
``make test``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fuzz._common import CORPUS
from fuzz.run import HARNESSES

#: Reproducers of bugs found (and fixed) are replayed with the seeds.
FOUND = CORPUS.parent / "crashes-found"
SEEDS = [
    (name, path)
    for name in HARNESSES
    for folder in (CORPUS / name, FOUND / name)
    if folder.is_dir()
    for path in sorted(folder.iterdir())
]


def test_every_harness_has_seeds() -> None:
    assert {name for name, _ in SEEDS} == set(HARNESSES)


@pytest.mark.parametrize(("name", "path"), SEEDS, ids=[f"{n}/{p.name}" for n, p in SEEDS])
def test_seed(name: str, path: Path) -> None:
    importlib.import_module(f"fuzz.{name}").test_one_input(path.read_bytes())


def test_real_flights_are_recorded() -> None:
    """The harnesses' reference data exists (fuzz/make_seeds.py makes it)."""
    from fuzz import age_file, server_flight

    assert all(server_flight.REFERENCE)
    assert len(age_file.REFERENCES) == len(age_file.REFERENCE_FILES)
