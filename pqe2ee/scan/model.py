"""The scan's data: targets to probe and one result per target, to and from JSON.

A target is ``tls://host:port``, ``ssh://host:port`` or ``host:port`` (TLS); an IPv6
literal is written in brackets (``ssh://[::1]:22``, RFC 3986 §3.2.2).  The port may be
left out: 443 for TLS, 22 for SSH.  A result's :meth:`ScanResult.to_json` is the object
that ``pqe2ee scan --json`` writes for one target, and :meth:`ScanResult.from_json` reads
it back (``pqe2ee migrate --inventory``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_PORTS",
    "GROUPS",
    "PROTOCOLS",
    "Certificate",
    "ScanResult",
    "Target",
    "load_results",
    "parse_target",
]

PROTOCOLS = ("tls", "ssh")
DEFAULT_PORTS = {"tls": 443, "ssh": 22}

#: The TLS 1.3 named groups the scan offers, by name, with their code points.
GROUPS: dict[str, int] = {
    "X25519MLKEM768": 0x11EC,
    "SecP256r1MLKEM768": 0x11EB,
    "SecP384r1MLKEM1024": 0x11ED,
    "MLKEM768": 0x0201,
    "MLKEM1024": 0x0202,
    "X25519": 0x001D,
    "P-256": 0x0017,
    "P-384": 0x0018,
}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)+$")


@dataclass(frozen=True)
class Target:
    """One endpoint to scan.

    :param protocol: ``"tls"`` or ``"ssh"``.
    :param host: a hostname or an IP literal (IPv6 without brackets).
    :param port: 1 to 65535.
    """

    protocol: str
    host: str
    port: int

    def __str__(self) -> str:
        """The target as written on a command line: ``tls://host:port``, ``[v6]:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.protocol}://{host}:{self.port}"


def _parse_port(text: str, original: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"target {original!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"target {original!r}: port {port} is outside 1..65535")
    return port


def _check_host(host: str, original: str) -> str:
    if not host:
        raise ValueError(f"target {original!r}: no host name")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        raise ValueError(f"target {original!r}: {host!r} is not a valid IPv6 address")
    if not _HOSTNAME.match(host):
        raise ValueError(f"target {original!r}: {host!r} is not a valid host name or address")
    return host.lower()


def parse_target(text: str) -> Target:
    """Parse ``tls://host:port``, ``ssh://host:port`` or ``host:port`` (TLS).

    :param text: the target; an IPv6 literal in brackets (``[::1]:443``); without a
        port, 443 for TLS and 22 for SSH.
    :returns: the :class:`Target`.
    :raises ValueError: an unknown scheme, a bad host, or a port outside 1..65535; the
        message names the target and what is wrong.
    """
    original = text
    text = text.strip()
    protocol = "tls"
    if "://" in text:
        scheme, text = text.split("://", 1)
        protocol = scheme.lower()
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"target {original!r}: unknown scheme {scheme!r}; use tls:// or ssh:// "
                "(or host:port for TLS)"
            )
    if "/" in text or "?" in text or "#" in text or "@" in text:
        raise ValueError(f"target {original!r}: expected host:port, with no path or user")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"target {original!r}: unclosed '[' around the IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"target {original!r}: expected ':port' after ']'")
        port_text = rest[1:] if rest else None
        if host and ":" not in host:
            raise ValueError(f"target {original!r}: brackets are only for IPv6 addresses")
    elif text.count(":") > 1:
        raise ValueError(
            f"target {original!r}: write an IPv6 address in brackets, e.g. [{text}]:443"
        )
    elif ":" in text:
        host, port_text = text.split(":", 1)
    else:
        host, port_text = text, None
    host = _check_host(host, original)
    port = DEFAULT_PORTS[protocol] if port_text is None else _parse_port(port_text, original)
    return Target(protocol=protocol, host=host, port=port)


@dataclass
class Certificate:
    """What the scan learnt from a server's end-entity certificate.

    :param key_type: ``"RSA"``, ``"EC"``, ``"Ed25519"``, ``"Ed448"``, ``"ML-DSA-65"``, ...
    :param key_size: bits (the RSA modulus, the EC curve), or ``None``.
    :param curve: the EC curve's name, or ``None``.
    :param signature_algorithm: e.g. ``"sha256WithRSAEncryption"``.
    :param not_after: the expiry, ISO 8601 UTC.
    :param subject: the subject as an RFC 4514 string.
    :param quantum_vulnerable: ``True`` for RSA, EC and EdDSA keys (Shor's algorithm
        breaks them); ``False`` for ML-DSA and SLH-DSA.
    """

    key_type: str
    key_size: int | None
    curve: str | None
    signature_algorithm: str
    not_after: str
    subject: str
    quantum_vulnerable: bool

    def to_json(self) -> dict[str, Any]:
        """The certificate as a JSON object."""
        return {
            "key_type": self.key_type,
            "key_size": self.key_size,
            "curve": self.curve,
            "signature_algorithm": self.signature_algorithm,
            "not_after": self.not_after,
            "subject": self.subject,
            "quantum_vulnerable": self.quantum_vulnerable,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Certificate:
        """Read back :meth:`to_json`'s object.

        :raises ValueError: ``obj`` is not such an object; the message names the field.
        """
        if not isinstance(obj, dict):
            raise ValueError("certificate: expected a JSON object")
        return cls(
            key_type=_get(obj, "key_type", str, "certificate"),
            key_size=_get_optional(obj, "key_size", int, "certificate"),
            curve=_get_optional(obj, "curve", str, "certificate"),
            signature_algorithm=_get(obj, "signature_algorithm", str, "certificate"),
            not_after=_get_optional(obj, "not_after", str, "certificate") or "",
            subject=_get_optional(obj, "subject", str, "certificate") or "",
            quantum_vulnerable=_get(obj, "quantum_vulnerable", bool, "certificate"),
        )


def _get(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise ValueError(f"{where}: missing {key!r}")
    value = obj[key]
    # bool is an int in Python; a size of ``true`` is still wrong
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where}: {key!r} should be {kind.__name__}, not {value!r}")
    return value


def _get_optional(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if obj.get(key) is None:
        return None
    return _get(obj, key, kind, where)


def _get_strings(obj: dict[str, Any], key: str, where: str) -> list[str]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {key!r} should be a list of strings")
    return list(value)


@dataclass
class ScanResult:
    """The outcome of scanning one target; a failure is a result too, never an exception.

    ``reachable`` is ``False`` (with ``error`` saying why) when no connection was made
    or the server did not speak the protocol; ``error`` may also be set on a reachable
    target whose scan failed part-way.
    """

    target: str
    protocol: str
    reachable: bool = False
    error: str | None = None
    tls_version: str | None = None
    pq_key_exchange: bool = False
    groups: dict[str, str] = field(default_factory=dict)
    preferred_group: str | None = None
    key_exchange_verified: bool = False
    large_client_hello_ok: bool | None = None
    certificate: Certificate | None = None
    kex_methods: list[str] = field(default_factory=list)
    host_key_algorithms: list[str] = field(default_factory=list)
    banner: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this target (``pqe2ee scan --json``'s ``targets`` items).

        Every result has the common keys; SSH results add ``kex_methods``,
        ``host_key_algorithms`` and ``banner``.
        """
        obj: dict[str, Any] = {
            "target": self.target,
            "protocol": self.protocol,
            "reachable": self.reachable,
            "error": self.error,
            "tls_version": self.tls_version,
            "pq_key_exchange": self.pq_key_exchange,
            "groups": dict(self.groups),
            "preferred_group": self.preferred_group,
            "key_exchange_verified": self.key_exchange_verified,
            "large_client_hello_ok": self.large_client_hello_ok,
            "certificate": None if self.certificate is None else self.certificate.to_json(),
        }
        if self.protocol == "ssh":
            obj["kex_methods"] = list(self.kex_methods)
            obj["host_key_algorithms"] = list(self.host_key_algorithms)
            obj["banner"] = self.banner
        return obj

    @classmethod
    def from_json(cls, obj: Any) -> ScanResult:
        """Read back :meth:`to_json`'s object; keys it does not know are ignored.

        :raises ValueError: ``obj`` is not such an object; the message names the target
            and the field.
        """
        if not isinstance(obj, dict):
            raise ValueError("scan result: expected a JSON object")
        target = _get(obj, "target", str, "scan result")
        where = f"scan result {target!r}"
        protocol = _get(obj, "protocol", str, where)
        if protocol not in PROTOCOLS:
            raise ValueError(f"{where}: protocol should be 'tls' or 'ssh', not {protocol!r}")
        groups = obj.get("groups") or {}
        if not isinstance(groups, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in groups.items()
        ):
            raise ValueError(f"{where}: 'groups' should map group names to strings")
        cert = obj.get("certificate")
        return cls(
            target=target,
            protocol=protocol,
            reachable=_get(obj, "reachable", bool, where),
            error=_get_optional(obj, "error", str, where),
            tls_version=_get_optional(obj, "tls_version", str, where),
            pq_key_exchange=bool(_get_optional(obj, "pq_key_exchange", bool, where)),
            groups=dict(groups),
            preferred_group=_get_optional(obj, "preferred_group", str, where),
            key_exchange_verified=bool(_get_optional(obj, "key_exchange_verified", bool, where)),
            large_client_hello_ok=_get_optional(obj, "large_client_hello_ok", bool, where),
            certificate=None if cert is None else Certificate.from_json(cert),
            kex_methods=_get_strings(obj, "kex_methods", where),
            host_key_algorithms=_get_strings(obj, "host_key_algorithms", where),
            banner=_get_optional(obj, "banner", str, where),
        )


def load_results(document: Any) -> list[ScanResult]:
    """Read ``pqe2ee scan --json``'s document (``{"targets": [...]}``) back.

    :param document: the parsed JSON (a bare list of target objects is accepted too).
    :returns: one :class:`ScanResult` per target, in the file's order.
    :raises ValueError: the document is not a scan inventory; the message says where.
    """
    items = document.get("targets") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ValueError('not a pqe2ee scan inventory: expected {"targets": [...]}')
    return [ScanResult.from_json(item) for item in items]
