"""The self-contained HTML page of a scan (``pqe2ee scan --html FILE``).

It opens with the fleet's counts (how many endpoints already use post-quantum key
exchange, how many were verified by decrypting the server's flight, how many present a
quantum-vulnerable certificate), then one row per target with its verdict, groups and
certificate.  Built from the same page shell as the benchmark reports: nothing loads from
elsewhere, everything is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from pqe2ee.bench.layout import card, page, table
from pqe2ee.scan.model import ScanResult
from pqe2ee.scan.summary import counts, verdict

__all__ = ["scan_page"]


def _groups(r: ScanResult) -> str:
    supported = [g for g, state in r.groups.items() if state == "supported"]
    if r.protocol == "ssh":
        return ", ".join(r.kex_methods) or "-"
    return ", ".join(supported) or "-"


def _certificate(r: ScanResult) -> str:
    c = r.certificate
    if c is None:
        return "-"
    size = f" {c.key_size}" if c.key_size else ""
    flag = " (quantum-vulnerable)" if c.quantum_vulnerable else ""
    return f"{c.key_type}{size}, {c.signature_algorithm}, until {c.not_after[:10]}{flag}"


def scan_page(results: Sequence[ScanResult], *, scanned_at: str) -> str:
    """The scan's page.

    :param results: the results, in the order scanned.
    :param scanned_at: when (ISO 8601), for the subtitle.
    :returns: a complete HTML document.
    """
    n = counts(results)
    share = f"{round(100 * n.pq / n.scanned)} %" if n.scanned else "-"
    cards = (
        "<div class='cards'>"
        + card(
            "Post-quantum key exchange",
            share,
            f"{n.pq} of {n.scanned} scanned endpoints",
            f"{n.verified} verified by decrypting the server's flight",
        )
        + card(
            "Not scanned",
            str(n.targets - n.scanned),
            f"of {n.targets} targets (refused, unreachable or not the protocol)",
        )
        + card(
            "Quantum-vulnerable certificates",
            str(n.vulnerable_certificates),
            "RSA, ECDSA or EdDSA keys: forgeable once a quantum computer exists",
        )
        + "</div>"
    )
    rows = [
        [
            r.target,
            r.tls_version or ("SSH" if r.protocol == "ssh" and r.reachable else "-"),
            verdict(r),
            _groups(r),
            _certificate(r),
        ]
        for r in results
    ]
    body = [
        cards,
        table(["target", "version", "verdict", "groups / key exchange", "certificate"], rows),
    ]
    return page("pqe2ee scan: which endpoints speak post-quantum key exchange", scanned_at, body)
