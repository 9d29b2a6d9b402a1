"""A CycloneDX 1.6 cryptography bill of materials (CBOM) of what a scan found.

One ``cryptographic-asset`` component per protocol (``TLSv1.3``, ``SSH``) and per
algorithm seen: the TLS groups a server accepted, the SSH key exchange and host key
methods it offered, and each certificate's key and signature algorithm.  Each component
lists the endpoints it was found on (``pqe2ee:endpoint`` properties) and, for algorithms,
its primitive and NIST quantum security level (0 for what a quantum computer breaks:
X25519, ECDH, RSA, ECDSA, EdDSA; 3 and 5 for ML-KEM-768 and -1024 alone or in a hybrid,
3 for ML-DSA-65).  Built with ``cyclonedx-python-lib`` (the ``scan`` extra), not by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pqe2ee._extras import require
from pqe2ee.scan.model import ScanResult

__all__ = ["Asset", "assets", "cbom_json"]


@dataclass
class Asset:
    """One algorithm or protocol, and the endpoints it was found on."""

    name: str
    kind: str  # "protocol" | "algorithm"
    primitive: str | None = None  # CycloneDX crypto primitive: "kem", "key-agree", "signature"
    quantum_level: int | None = None  # NIST quantum security level; 0: broken by one
    protocol: str | None = None  # for protocols: "tls" | "ssh"
    version: str | None = None
    endpoints: list[str] = field(default_factory=list)


# TLS groups and SSH methods: (primitive, NIST quantum security level)
_KNOWN: dict[str, tuple[str, int | None]] = {
    "X25519MLKEM768": ("kem", 3),
    "SecP256r1MLKEM768": ("kem", 3),
    "SecP384r1MLKEM1024": ("kem", 5),
    "MLKEM768": ("kem", 3),
    "MLKEM1024": ("kem", 5),
    "X25519": ("key-agree", 0),
    "P-256": ("key-agree", 0),
    "P-384": ("key-agree", 0),
    "mlkem768x25519-sha256": ("kem", 3),
    # sntrup761 has no NIST category of its own: post-quantum, level not claimed
    "sntrup761x25519-sha512@openssh.com": ("kem", None),
    "sntrup761x25519-sha512": ("kem", None),
}


def _classify(name: str) -> tuple[str, int | None]:
    if name in _KNOWN:
        return _KNOWN[name]
    low = name.lower()
    if "ml-dsa" in low or "mldsa" in low:
        return "signature", 3 if "65" in low else None
    if low.startswith(("ssh-", "rsa", "ecdsa", "sk-", "ed25519", "ed448")) or "with" in low:
        return "signature", 0  # RSA, ECDSA, EdDSA: forgeable with a quantum computer
    if low.startswith(("curve25519", "curve448", "ecdh", "diffie-hellman")):
        return "key-agree", 0
    return "other", None


def assets(results: Iterable[ScanResult]) -> list[Asset]:
    """Every protocol and algorithm the scan found, each with its endpoints, in the
    order first seen."""
    found: dict[tuple[str, str], Asset] = {}

    def add(asset: Asset, endpoint: str) -> None:
        key = (asset.kind, asset.name)
        entry = found.setdefault(key, asset)
        if endpoint not in entry.endpoints:
            entry.endpoints.append(endpoint)

    def algorithm(name: str, endpoint: str) -> None:
        primitive, level = _classify(name)
        add(Asset(name, "algorithm", primitive, level), endpoint)

    for r in results:
        if not r.reachable:
            continue
        if r.protocol == "ssh":
            add(Asset("SSH", "protocol", protocol="ssh", version="2.0"), r.target)
            for name in [*r.kex_methods, *r.host_key_algorithms]:
                algorithm(name, r.target)
            continue
        if r.tls_version:
            add(Asset(r.tls_version, "protocol", protocol="tls", version=r.tls_version), r.target)
        for group, state in r.groups.items():
            if state == "supported":
                algorithm(group, r.target)
        cert = r.certificate
        if cert is not None:
            size = f"-{cert.key_size}" if cert.key_size and cert.key_type == "RSA" else ""
            key = f"{cert.key_type}{size}" + (f" {cert.curve}" if cert.curve else "")
            primitive, level = _classify(cert.key_type)
            if primitive == "other":
                primitive, level = "signature", 0 if cert.quantum_vulnerable else None
            add(Asset(key, "algorithm", primitive, level), r.target)
            algorithm(cert.signature_algorithm, r.target)
    return list(found.values())


def cbom_json(results: Iterable[ScanResult]) -> str:
    """The CBOM as CycloneDX 1.6 JSON text.

    :raises ~pqe2ee.exceptions.MissingExtra: ``cyclonedx-python-lib`` is not installed
        (``pip install 'pqe2ee[scan]'``).
    """
    require("cyclonedx", extra="scan", needed_for="for --cbom", package="cyclonedx-python-lib")
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.crypto import (
        AlgorithmProperties,
        CryptoAssetType,
        CryptoPrimitive,
        CryptoProperties,
        ProtocolProperties,
        ProtocolPropertiesType,
    )
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom()
    for n, asset in enumerate(assets(results)):
        crypto: Any
        if asset.kind == "protocol":
            crypto = CryptoProperties(
                asset_type=CryptoAssetType.PROTOCOL,
                protocol_properties=ProtocolProperties(
                    type=ProtocolPropertiesType(asset.protocol or "unknown"),
                    version=asset.version,
                ),
            )
        else:
            crypto = CryptoProperties(
                asset_type=CryptoAssetType.ALGORITHM,
                algorithm_properties=AlgorithmProperties(
                    primitive=CryptoPrimitive(asset.primitive or "unknown"),
                    parameter_set_identifier=asset.name,
                    nist_quantum_security_level=asset.quantum_level,
                ),
            )
        bom.components.add(
            Component(
                name=asset.name,
                type=ComponentType.CRYPTOGRAPHIC_ASSET,
                bom_ref=f"crypto-{n}",
                crypto_properties=crypto,
                properties=[Property(name="pqe2ee:endpoint", value=e) for e in asset.endpoints],
            )
        )
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    return text
