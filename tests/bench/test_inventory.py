"""The migration report's inventory, from ``pqe2ee scan --json`` documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pqe2ee.bench.inventory import load_inventory


def _tls(target: str, pq: bool, vulnerable: bool | None) -> dict[str, Any]:
    cert = None if vulnerable is None else {"key_type": "EC", "quantum_vulnerable": vulnerable}
    return {
        "target": target,
        "protocol": "tls",
        "reachable": True,
        "pq_key_exchange": pq,
        "key_exchange_verified": pq,
        "certificate": cert,
    }


def _write(tmp_path: Path, targets: list[Any]) -> Path:
    path = tmp_path / "scan.json"
    path.write_text(json.dumps({"targets": targets}))
    return path


def test_shares_and_the_order_follow_the_threat(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            _tls("tls://done:443", True, False),
            _tls("tls://cert:443", True, True),
            {"target": "tls://gone:443", "protocol": "tls", "reachable": False, "error": "refused"},
            _tls("tls://old:443", False, True),
            {
                "target": "ssh://bastion:22",
                "protocol": "ssh",
                "reachable": True,
                "pq_key_exchange": False,
            },
        ],
    )
    inv = load_inventory(path)
    assert inv.pq_ready_share == pytest.approx(2 / 4)  # of the four that answered
    assert [e.target for e in inv.vulnerable_certificates] == ["tls://cert:443", "tls://old:443"]
    # classical key exchange first (recorded traffic), then certificates, done, unscanned
    assert [e.target for e in inv.order()] == [
        "tls://old:443",
        "ssh://bastion:22",
        "tls://cert:443",
        "tls://done:443",
        "tls://gone:443",
    ]
    text = "\n".join(inv.lines())
    assert "2 of 4 scanned endpoints (50 %)" in text
    assert "1 could not be scanned" in text
    assert "2 of 3 TLS certificates are quantum-vulnerable" in text
    assert "  1. tls://old:443: enable a hybrid key exchange" in text
    assert "tls://done:443" not in text  # nothing to do there
    assert "  4. tls://gone:443: scan again: refused" in text
    doc = inv.to_json()
    assert doc["scanned"] == 4 and doc["targets"] == 5
    assert doc["order"][0] == {"target": "tls://old:443", "action": inv.order()[0].action}


def test_nothing_scanned(tmp_path: Path) -> None:
    inv = load_inventory(_write(tmp_path, [{"target": "tls://x:1", "reachable": False}]))
    assert inv.pq_ready_share is None
    assert inv.lines() == ["Inventory: none of the 1 targets could be scanned."]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a pqe2ee scan JSON file"),
        ('{"rows": []}', "no 'targets' list"),
        ('{"targets": [{"no": "target"}]}', r"targets\[0\]: not a scan result"),
        ("[1, 2]", "no 'targets' list"),
    ],
)
def test_bad_files_are_refused_naming_them(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "scan.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_inventory(path)
