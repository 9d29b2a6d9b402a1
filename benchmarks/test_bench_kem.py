"""pytest-benchmark micro-benchmarks: every KEM op on every backend here (`make bench`)."""

from __future__ import annotations

from typing import Any

import pytest

from pqe2ee.bench.kem import OPS, kem_operations, loadable_kems

KEMS = loadable_kems()


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kem", KEMS, ids=[f"{k.name}@{k.backend}" for k in KEMS])
def test_kem(benchmark: Any, kem: Any, op: str) -> None:
    benchmark.group = f"kem-{op}"
    benchmark(kem_operations(kem)[op])
