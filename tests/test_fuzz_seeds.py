"""Every fuzz harness over its committed seeds, without atheris: a harness whose
properties no longer hold on real traffic (or that no longer runs) fails here, in
``make test``, before anyone fuzzes with it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fuzz._common import CORPUS
from fuzz.run import HARNESSES

SEEDS = [(name, path) for name in HARNESSES for path in sorted((CORPUS / name).iterdir())]


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
