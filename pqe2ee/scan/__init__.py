"""Inventory which TLS and SSH endpoints already speak post-quantum key exchange.

:func:`pqe2ee.scan.runner.scan_all` probes many targets concurrently (asyncio, bounded);
each target's outcome, failures included, is a :class:`~pqe2ee.scan.model.ScanResult`.
The library never prints: the ``pqe2ee scan`` command renders the results.
"""

from __future__ import annotations

from pqe2ee.scan.model import Certificate, ScanResult, Target, parse_target

__all__ = ["Certificate", "ScanResult", "Target", "parse_target"]
