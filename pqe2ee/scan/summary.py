"""What a scan means, in words: a verdict per target and the counts of a fleet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pqe2ee.scan.model import ScanResult
from pqe2ee.scan.ssh import PQ_KEX_METHODS

__all__ = ["Counts", "counts", "verdict"]


def verdict(result: ScanResult) -> str:
    """One line a person acts on: PQ ready, classical only, or why it was not scanned."""
    if not result.reachable or (result.error and not result.groups and not result.kex_methods):
        return f"not scanned: {result.error or 'unreachable'}"
    if result.protocol == "ssh":
        if result.pq_key_exchange:
            pq = [m for m in result.kex_methods if m in PQ_KEX_METHODS]
            return "post-quantum key exchange offered (" + ", ".join(pq) + ")"
        return "classical key exchange only"
    if result.pq_key_exchange:
        text = f"post-quantum key exchange ({result.preferred_group or 'a hybrid group'})"
        text += ", verified" if result.key_exchange_verified else ", not verified"
    else:
        text = "classical key exchange only"
    cert = result.certificate
    if cert is not None and cert.quantum_vulnerable:
        text += f"; certificate {cert.key_type} is quantum-vulnerable"
    if result.large_client_hello_ok is False:
        text += "; a large ClientHello fails"
    return text


@dataclass(frozen=True)
class Counts:
    """How many targets were scanned, speak post-quantum key exchange, failed."""

    targets: int
    scanned: int
    pq: int
    verified: int
    vulnerable_certificates: int


def counts(results: Sequence[ScanResult]) -> Counts:
    """The fleet's :class:`Counts`."""
    scanned = [r for r in results if r.reachable and not r.error]
    return Counts(
        targets=len(results),
        scanned=len(scanned),
        pq=sum(r.pq_key_exchange for r in scanned),
        verified=sum(r.key_exchange_verified for r in scanned),
        vulnerable_certificates=sum(
            1 for r in scanned if r.certificate is not None and r.certificate.quantum_vulnerable
        ),
    )
