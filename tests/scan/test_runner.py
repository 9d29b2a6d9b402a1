"""scan_all: bounded concurrency, input order, every failure a result."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from pqe2ee.scan import runner
from pqe2ee.scan.model import ScanResult, Target
from pqe2ee.scan.runner import scan_all
from tests.scan.fakes import GOOD_GREETING, closed_port, fake_server, sends


def test_results_come_in_input_order() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        await sends(GOOD_GREETING)(reader, writer)

    done: list[str] = []

    async def main() -> tuple[list[Target], list[ScanResult]]:
        async with fake_server(slow) as a, fake_server(sends(GOOD_GREETING)) as b:
            targets = [a, b, Target("ssh", "127.0.0.1", closed_port()), a, b]
            results = await scan_all(
                targets, timeout=5, on_done=lambda result: done.append(result.target)
            )
            return targets, results

    targets, results = asyncio.run(main())
    assert [r.target for r in results] == [str(t) for t in targets]
    assert [r.reachable for r in results] == [True, True, False, True, True]
    assert sorted(done) == sorted(str(t) for t in targets)
    assert done[-1] == str(targets[0])  # the slow server finished last, yet came first


@pytest.mark.parametrize("concurrency", [1, 5])
def test_concurrency_is_bounded(concurrency: int) -> None:
    open_now = 0
    most = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            await asyncio.sleep(0.05)
            writer.write(GOOD_GREETING)
            await writer.drain()
            await reader.read()
        finally:
            open_now -= 1

    async def main() -> list[ScanResult]:
        async with fake_server(counting) as target:
            return await scan_all([target] * 30, concurrency=concurrency, timeout=5)

    results = asyncio.run(main())
    assert all(r.reachable for r in results)
    assert 1 <= most <= concurrency
    if concurrency > 1:
        assert most > 1  # it did run in parallel


def test_every_failure_is_a_result() -> None:
    async def main() -> list[ScanResult]:
        async with fake_server(sends(b"HTTP/1.0 200 OK\r\n\r\n")) as http:
            return await scan_all(
                [
                    "ssh://nonexistent.invalid:22",
                    Target("ssh", "127.0.0.1", closed_port()),
                    http,
                    Target("ssh", "127.0.0.1", closed_port()),
                ],
                timeout=5,
            )

    results = asyncio.run(main())
    assert [r.reachable for r in results] == [False] * 4
    assert all(r.error for r in results)
    assert "does not resolve" in (results[0].error or "")
    assert "answered with HTTP" in (results[2].error or "")


def test_a_probe_that_raises_or_hangs_becomes_a_result(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(target: Target, *, timeout: float) -> ScanResult:
        if target.port == 1:
            raise KeyError("boom")
        if target.port == 2:
            await asyncio.sleep(3600)  # ignores its own deadline
        return ScanResult(str(target), "ssh", reachable=True)

    monkeypatch.setattr(runner, "scan_ssh", broken)
    monkeypatch.setattr(runner, "_GRACE", 0.1)
    targets = [Target("ssh", "h", 1), Target("ssh", "h", 2), Target("ssh", "h", 3)]
    results = asyncio.run(scan_all(targets, timeout=0.2))
    assert results[0].error == "internal error scanning ssh://h:1: KeyError: 'boom'"
    assert results[1].error == "timed out after 0.2 s"
    assert results[2].reachable


def test_tls_without_the_tls_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pqe2ee.scan.tls", None)  # import fails
    results = asyncio.run(scan_all(["example.com:443", "tls://[::1]:8443"], timeout=1))
    assert [r.to_json()["error"] for r in results] == ["TLS probing not available"] * 2
    assert [r.protocol for r in results] == ["tls", "tls"]
    assert results[1].target == "tls://[::1]:8443"


def test_tls_targets_go_to_scan_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Target, float]] = []

    async def scan_tls(target: Target, *, timeout: float) -> ScanResult:
        seen.append((target, timeout))
        return ScanResult(str(target), "tls", reachable=True, tls_version="TLSv1.3")

    fake = type(sys)("pqe2ee.scan.tls")
    fake.scan_tls = scan_tls  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pqe2ee.scan.tls", fake)
    results = asyncio.run(scan_all(["example.com:443"], timeout=3))
    assert results[0].tls_version == "TLSv1.3"
    assert seen == [(Target("tls", "example.com", 443), 3)]


def test_on_done_that_raises_stops_the_scan() -> None:
    def on_done(result: ScanResult) -> None:
        raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        asyncio.run(scan_all([Target("ssh", "127.0.0.1", closed_port())], on_done=on_done))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be"),
        ({"concurrency": 2.5}, "concurrency must be"),
        ({"concurrency": True}, "concurrency must be"),
        ({"timeout": 0}, "timeout must be"),
        ({"timeout": float("nan")}, "timeout must be"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        asyncio.run(scan_all([], **kwargs))  # type: ignore[arg-type]


def test_bad_target_string_is_refused_before_scanning() -> None:
    with pytest.raises(ValueError, match="port 0 is outside"):
        asyncio.run(scan_all(["ssh://127.0.0.1:22", "ssh://h:0"]))


def test_empty_target_list() -> None:
    assert asyncio.run(scan_all([])) == []


def test_a_thousand_loopback_targets() -> None:
    async def main() -> tuple[list[ScanResult], float]:
        async with (
            fake_server(sends(GOOD_GREETING)) as a,
            fake_server(sends(GOOD_GREETING)) as b,
            fake_server(sends(GOOD_GREETING)) as c,
            fake_server(sends(GOOD_GREETING)) as d,
        ):
            targets = [a, b, c, d] * 250
            start = time.perf_counter()
            results = await scan_all(targets, timeout=10)
            return results, time.perf_counter() - start

    results, seconds = asyncio.run(main())
    assert len(results) == 1000
    assert all(r.reachable and r.pq_key_exchange for r in results), [
        r.error for r in results if not r.reachable
    ][:3]
    print(f"\n1000 loopback SSH targets, concurrency 50: {seconds:.2f} s")
