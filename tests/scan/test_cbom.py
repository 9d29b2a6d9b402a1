"""The CycloneDX 1.6 crypto bill of materials of a scan."""

from __future__ import annotations

import json
from typing import Any

from pqe2ee.scan.cbom import cbom_json
from pqe2ee.scan.model import Certificate, ScanResult


def _results() -> list[ScanResult]:
    cert = Certificate(
        key_type="RSA",
        key_size=2048,
        curve=None,
        signature_algorithm="sha256WithRSAEncryption",
        not_after="2027-01-01T00:00:00Z",
        subject="CN=web",
        quantum_vulnerable=True,
    )
    web = ScanResult(
        target="tls://web:443",
        protocol="tls",
        reachable=True,
        tls_version="TLSv1.3",
        pq_key_exchange=True,
        groups={"X25519MLKEM768": "supported", "X25519": "supported", "MLKEM1024": "not supported"},
        preferred_group="X25519MLKEM768",
        key_exchange_verified=True,
        certificate=cert,
    )
    old = ScanResult(
        target="tls://old:443",
        protocol="tls",
        reachable=True,
        tls_version="TLSv1.3",
        groups={"X25519": "supported"},
    )
    ssh = ScanResult(
        target="ssh://bastion:22",
        protocol="ssh",
        reachable=True,
        kex_methods=["mlkem768x25519-sha256", "curve25519-sha256"],
        host_key_algorithms=["ssh-ed25519"],
    )
    gone = ScanResult(target="tls://gone:443", protocol="tls", error="refused")
    return [web, old, ssh, gone]


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["components"]}


def _endpoints(component: dict[str, Any]) -> list[str]:
    return [p["value"] for p in component.get("properties", []) if p["name"] == "pqe2ee:endpoint"]


def test_every_algorithm_and_protocol_found_is_an_asset() -> None:
    doc = json.loads(cbom_json(_results()))
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    components = _by_name(doc)
    assert all(c["type"] == "cryptographic-asset" for c in components.values())
    assert set(components) == {
        "TLSv1.3",
        "X25519MLKEM768",
        "X25519",
        "RSA-2048",
        "sha256WithRSAEncryption",
        "SSH",
        "mlkem768x25519-sha256",
        "curve25519-sha256",
        "ssh-ed25519",
    }  # not the group the server refused, nothing of the unreachable target
    hybrid = components["X25519MLKEM768"]["cryptoProperties"]
    assert hybrid["assetType"] == "algorithm"
    assert hybrid["algorithmProperties"]["primitive"] == "kem"
    assert hybrid["algorithmProperties"]["nistQuantumSecurityLevel"] == 3
    x25519 = components["X25519"]
    assert x25519["cryptoProperties"]["algorithmProperties"]["primitive"] == "key-agree"
    assert x25519["cryptoProperties"]["algorithmProperties"]["nistQuantumSecurityLevel"] == 0
    assert sorted(_endpoints(x25519)) == ["tls://old:443", "tls://web:443"]
    tls = components["TLSv1.3"]["cryptoProperties"]
    assert tls["assetType"] == "protocol"
    assert tls["protocolProperties"] == {"type": "tls", "version": "TLSv1.3"}
    assert components["SSH"]["cryptoProperties"]["protocolProperties"]["type"] == "ssh"
    sig = components["sha256WithRSAEncryption"]["cryptoProperties"]["algorithmProperties"]
    assert sig["primitive"] == "signature" and sig["nistQuantumSecurityLevel"] == 0
    assert _endpoints(components["ssh-ed25519"]) == ["ssh://bastion:22"]


def test_an_empty_scan_is_an_empty_bom() -> None:
    doc = json.loads(cbom_json([ScanResult(target="tls://x:1", protocol="tls")]))
    assert doc.get("components", []) == []
