"""``pqe2ee bench``'s record padding rows (docs/protocol.md §10): the bandwidth figures are
the frames' real sizes, and the table shows every policy."""

from __future__ import annotations

import pytest
from rich.console import Console

from pqe2ee.bench.padding import LARGE_SIZES, POLICIES, SMALL_SIZES, padding_rows
from pqe2ee.bench.results import Report
from pqe2ee.cli.bench import padding_table
from pqe2ee.hazmat import core
from pqe2ee.hazmat.padding import Padding

OVERHEAD = 4 + 1 + 16  # header, inner type, tag


@pytest.fixture(scope="module")
def report() -> Report:
    return Report(results=padding_rows(1 << 20, 1))


def _expected(policy: str, n: int) -> int:
    """The bytes ``n`` message bytes take as records, from §10.3 (full records first)."""
    p = Padding.parse(policy)
    full, rest = divmod(n, 1 << 16)
    size = full * (4 + p.padded_length((1 << 16) + 1) + 16)
    if rest or not full:
        size += 4 + p.padded_length(rest + 1) + 16
    return size


@pytest.mark.parametrize("policy", POLICIES)
def test_wire_per_payload_is_what_the_frames_take(report: Report, policy: str) -> None:
    payload = sum(SMALL_SIZES)
    small = report.value("padding", "wire_per_payload_1_2000", name=policy)
    assert small == pytest.approx(sum(_expected(policy, n) for n in SMALL_SIZES) / payload)
    for n in LARGE_SIZES:
        got = report.value("padding", f"wire_per_payload_{n}", name=policy)
        assert got == pytest.approx(_expected(policy, n) / n)


def test_none_is_the_record_overhead_and_padding_costs_more(report: Report) -> None:
    payload = sum(SMALL_SIZES)
    none = report.value("padding", "wire_per_payload_1_2000", name="none")
    assert none == pytest.approx((payload + OVERHEAD * len(SMALL_SIZES)) / payload)
    for policy in ("padme", "block:256"):
        assert report.value("padding", "wire_per_payload_1_2000", name=policy) > none
    # padme adds at most 11.7 % of each padded length; messages this small pay more to
    # block:256 than to padme
    assert report.value("padding", "wire_per_payload_1_2000", name="padme") < none * 1.117
    assert report.value("padding", "wire_per_payload_1_2000", name="block:256") > none * 1.117


@pytest.mark.skipif(not core.AVAILABLE, reason=core.ERROR)
def test_bulk_speed_is_reported_against_none(report: Report) -> None:
    assert report.value("padding", "bulk_vs_none", name="none") == 1.0
    for policy in POLICIES:
        assert report.value("padding", "bulk_mb_s", name=policy) > 0


def test_the_table_lists_every_policy(report: Report) -> None:
    console = Console(width=200, record=True)
    console.print(padding_table(report))
    text = console.export_text()
    for policy in POLICIES:
        assert policy in text
