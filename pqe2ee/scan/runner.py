"""Scan many targets concurrently, at most ``concurrency`` at a time, in input order.

Each target runs under its own deadline and its own ``try``: one hostile server cannot
stall or fail the others, and every target, however it failed, gets a result.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Iterable

from pqe2ee.scan.model import ScanResult, Target, parse_target
from pqe2ee.scan.ssh import scan_ssh

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT", "scan_all", "scan_one"]

DEFAULT_CONCURRENCY = 50
DEFAULT_TIMEOUT = 10.0
#: Beyond a probe's own deadline, how long the runner waits before abandoning it.
_GRACE = 2.0

Scanner = Callable[..., Awaitable[ScanResult]]


def _tls_scanner() -> Scanner | None:
    """``pqe2ee.scan.tls.scan_tls``, imported only when a TLS target is scanned."""
    try:
        module = importlib.import_module("pqe2ee.scan.tls")
    except ImportError as exc:
        if exc.name != "pqe2ee.scan.tls":
            raise
        return None
    scanner: Scanner = module.scan_tls
    return scanner


async def scan_one(target: Target, *, timeout: float = DEFAULT_TIMEOUT) -> ScanResult:
    """Scan one target by its protocol; any failure becomes the result's ``error``.

    :param target: what to scan.
    :param timeout: seconds for this target, connecting included.
    :returns: the result; this raises nothing but cancellation.
    """
    try:
        scanner = scan_ssh if target.protocol == "ssh" else _tls_scanner()
        if scanner is None:
            return ScanResult(str(target), target.protocol, error="TLS probing not available")
        async with asyncio.timeout(timeout + _GRACE):
            return await scanner(target, timeout=timeout)
    except TimeoutError:
        return ScanResult(str(target), target.protocol, error=f"timed out after {timeout:g} s")
    except Exception as exc:  # a probe's bug must not end the scan of the others
        return ScanResult(
            str(target),
            target.protocol,
            error=f"internal error scanning {target}: {type(exc).__name__}: {exc}",
        )


async def scan_all(
    targets: Iterable[Target | str],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    on_done: Callable[[ScanResult], None] | None = None,
) -> list[ScanResult]:
    """Scan every target, at most ``concurrency`` at once.

    :param targets: :class:`Target` objects, or strings for :func:`parse_target`.
    :param concurrency: how many connections may be open at the same time (1 or more).
    :param timeout: seconds per target, connecting included (more than 0).
    :param on_done: called with each result as it completes (a progress bar); if it
        raises, the remaining scans are cancelled and the exception propagates.
    :returns: one result per target, in the order of ``targets``.
    :raises ValueError: a bad ``concurrency`` or ``timeout``, or a target string that does
        not parse (before anything is scanned).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number of 1 or more, not {concurrency!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be more than 0 seconds, not {timeout!r}")
    parsed = [parse_target(t) if isinstance(t, str) else t for t in targets]
    slots = asyncio.Semaphore(concurrency)

    async def run(target: Target) -> ScanResult:
        async with slots:
            result = await scan_one(target, timeout=timeout)
        if on_done is not None:
            on_done(result)
        return result

    tasks = [asyncio.ensure_future(run(target)) for target in parsed]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
