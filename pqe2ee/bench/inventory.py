"""The migration report's inventory: what a ``pqe2ee scan --json`` found, as decisions.

Which share of the scanned endpoints already negotiate post-quantum key exchange, which
present quantum-vulnerable certificates, and in what order to migrate the rest.  The
order follows the threat: traffic recorded today is exposed by its *key exchange*
("harvest now, decrypt later"), so endpoints with only classical key exchange come
first; a quantum-vulnerable *certificate* matters only once a quantum computer exists
(an attacker must forge in real time), so those come next; endpoints that could not be
scanned are listed apart, since nothing is known of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Endpoint", "Inventory", "load_inventory"]


@dataclass(frozen=True)
class Endpoint:
    """One scanned target, reduced to what the migration order needs."""

    target: str
    protocol: str
    reachable: bool
    pq_key_exchange: bool
    verified: bool
    certificate_vulnerable: bool | None
    error: str | None

    @property
    def priority(self) -> int:
        """0: classical key exchange (recorded traffic at risk today); 1: post-quantum key
        exchange but a quantum-vulnerable certificate; 2: nothing to do; 3: not scanned."""
        if not self.reachable:
            return 3
        if not self.pq_key_exchange:
            return 0
        if self.certificate_vulnerable:
            return 1
        return 2

    @property
    def action(self) -> str:
        """What to do about this endpoint, in a few words."""
        return {
            0: "enable a hybrid key exchange (X25519MLKEM768 / mlkem768x25519-sha256)",
            1: "plan a post-quantum certificate (ML-DSA) once clients accept one",
            2: "post-quantum key exchange in place",
            3: f"scan again: {self.error or 'unreachable'}",
        }[self.priority]


@dataclass(frozen=True)
class Inventory:
    """The scan's endpoints, counted and ordered."""

    endpoints: tuple[Endpoint, ...] = field(default_factory=tuple)

    @property
    def scanned(self) -> list[Endpoint]:
        """The endpoints that answered."""
        return [e for e in self.endpoints if e.reachable]

    @property
    def pq_ready_share(self) -> float | None:
        """Share of the scanned endpoints with post-quantum key exchange (None: none scanned)."""
        scanned = self.scanned
        if not scanned:
            return None
        return sum(e.pq_key_exchange for e in scanned) / len(scanned)

    @property
    def vulnerable_certificates(self) -> list[Endpoint]:
        """Scanned TLS endpoints whose certificate a quantum computer could forge."""
        return [e for e in self.scanned if e.certificate_vulnerable]

    def order(self) -> list[Endpoint]:
        """Every endpoint, the most urgent first (see the module docstring); ties keep the
        scan's order."""
        return sorted(self.endpoints, key=lambda e: e.priority)

    def lines(self) -> list[str]:
        """The inventory in sentences, for the terminal and the report."""
        scanned = self.scanned
        total = len(self.endpoints)
        if not scanned:
            return [f"Inventory: none of the {total} targets could be scanned."]
        ready = sum(e.pq_key_exchange for e in scanned)
        out = [
            f"Inventory: {ready} of {len(scanned)} scanned endpoints "
            f"({round(100 * ready / len(scanned))} %) already use post-quantum key exchange"
            + (f"; {total - len(scanned)} could not be scanned." if total > len(scanned) else ".")
        ]
        vulnerable = len(self.vulnerable_certificates)
        with_cert = sum(e.certificate_vulnerable is not None for e in scanned)
        if with_cert:
            out.append(
                f"{vulnerable} of {with_cert} TLS certificates are quantum-vulnerable "
                "(RSA, ECDSA, EdDSA): a concern once a quantum computer exists, not for "
                "recorded traffic."
            )
        todo = [e for e in self.order() if e.priority != 2]
        if todo:
            out.append("Migrate in this order:")
            out.extend(f"  {n}. {e.target}: {e.action}" for n, e in enumerate(todo, 1))
        return out

    def to_json(self) -> dict[str, Any]:
        """The counts and the order, for ``migrate --json``."""
        return {
            "targets": len(self.endpoints),
            "scanned": len(self.scanned),
            "pq_ready_share": self.pq_ready_share,
            "quantum_vulnerable_certificates": [e.target for e in self.vulnerable_certificates],
            "order": [{"target": e.target, "action": e.action} for e in self.order()],
        }


def _endpoint(entry: Any, where: str) -> Endpoint:
    if not isinstance(entry, dict) or not isinstance(entry.get("target"), str):
        raise ValueError(f"{where}: not a scan result (an object with a 'target')")
    cert = entry.get("certificate")
    vulnerable = None
    if isinstance(cert, dict) and isinstance(cert.get("quantum_vulnerable"), bool):
        vulnerable = cert["quantum_vulnerable"]
    return Endpoint(
        target=entry["target"],
        protocol=str(entry.get("protocol", "tls")),
        reachable=entry.get("reachable") is True,
        pq_key_exchange=entry.get("pq_key_exchange") is True,
        verified=entry.get("key_exchange_verified") is True,
        certificate_vulnerable=vulnerable,
        error=entry.get("error") if isinstance(entry.get("error"), str) else None,
    )


def load_inventory(path: str | Path) -> Inventory:
    """Read a ``pqe2ee scan --json`` file.

    :raises ValueError: the file is not JSON, or not a scan document (its message names
        the file and, for a bad entry, its index).
    :raises OSError: the file cannot be read.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a pqe2ee scan JSON file ({exc})") from None
    targets = document.get("targets") if isinstance(document, dict) else None
    if not isinstance(targets, list):
        raise ValueError(f"{path}: not a pqe2ee scan JSON file (no 'targets' list)")
    return Inventory(tuple(_endpoint(t, f"{path}: targets[{i}]") for i, t in enumerate(targets)))
