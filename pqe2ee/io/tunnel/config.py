"""Tunnel settings: addresses, limits, the handshake configuration, and the TOML file.

Every option can come from the command line or from a ``--config`` TOML file (flat keys,
optionally inside a ``[server]`` or ``[client]`` table that overrides the flat ones for
that role).  A flag given on the command line wins over the file.  Relative paths in the
file are relative to the file.  The server refuses to start without at least one allowed
client (``allow`` or ``known_peers``): a tunnel that lets anyone through would put the
service on the network with encryption but without access control.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pqe2ee.handshake import Config, Identity, Policy, parse_fingerprint
from pqe2ee.hazmat.padding import NO_PADDING, Padding
from pqe2ee.io.pending import DEFAULT_MAX_PENDING
from pqe2ee.io.pq_rekey import check_pq_rekey_options
from pqe2ee.trust import KnownPeers, load_identity

__all__ = [
    "ClientSettings",
    "Endpoint",
    "Limits",
    "ServerSettings",
    "client_settings",
    "load_toml",
    "parse_endpoint",
    "read_allowed_peers",
    "server_settings",
]


@dataclass(frozen=True)
class Endpoint:
    """A TCP address: ``host`` (name, IPv4 or IPv6 without brackets) and ``port``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """Read ``HOST:PORT`` or ``[IPV6]:PORT``.

    :raises ValueError: no port, or a port outside 0..65535.
    """
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"want HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return Endpoint(host, int(port))


@dataclass(frozen=True)
class Limits:
    """Timeouts (seconds) and counts that bound what one peer, or many, can hold.

    :param handshake_timeout: from accept to a finished handshake, waiting for a
        handshake slot included; it bounds a pending connection even when no newcomer
        evicts it.
    :param idle_timeout: a connection with no byte either way for this long is closed
        (``None``: never).
    :param connect_timeout: to reach the service (server) or the tunnel server (client).
    :param max_connections: established sessions.  On the server, connections still in
        their handshake do not count (they have ``max_pending_handshakes``); a newcomer is
        closed at once while this many sessions are established, and a handshake that
        finishes while they are is refused.  On the client end, every open local
        connection counts, those waiting for their session included.
    :param max_handshakes: client end only: outgoing handshakes in flight; a local
        connection beyond it waits (within ``handshake_timeout``) for one to finish.
    :param max_pending_handshakes: server only: connections accepted whose handshake has
        not finished.  When this many are pending, the oldest pending one is closed (with
        a reset) to admit the newcomer: a flood of silent connections evicts itself, while
        an honest handshake, which takes milliseconds, gets through.  Established
        sessions are never evicted.
    :param max_pending_per_source: server only: pending connections from one source
        address; beyond it the oldest pending one *from that address* is evicted, so one
        flooding host cannot evict other hosts' handshakes (``None``: no such limit).
    :param grace: on SIGINT/SIGTERM, how long open connections may go on before they
        are cut.
    :param pq_rekey_after: start a post-quantum ratchet step (docs/protocol.md §9) in
        each session this often, in seconds (skipped while it carries no data; None:
        never).
    :param pq_rekey_bytes: start one whenever this end has sent this many bytes into a
        session since its last step (None: never).
    """

    handshake_timeout: float = 10.0
    idle_timeout: float | None = 300.0
    connect_timeout: float = 10.0
    max_connections: int = 1024
    max_handshakes: int = 64
    max_pending_handshakes: int = DEFAULT_MAX_PENDING
    max_pending_per_source: int | None = None
    grace: float = 10.0
    pq_rekey_after: float | None = None
    pq_rekey_bytes: int | None = None

    def __post_init__(self) -> None:
        check_pq_rekey_options(self.pq_rekey_after, self.pq_rekey_bytes)
        for name in ("handshake_timeout", "connect_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.idle_timeout is not None and not self.idle_timeout > 0:
            raise ValueError("idle_timeout must be positive (or None: no idle timeout)")
        if self.grace < 0:
            raise ValueError("grace must be zero or positive")
        for name in ("max_connections", "max_handshakes", "max_pending_handshakes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_pending_per_source is not None and self.max_pending_per_source < 1:
            raise ValueError("max_pending_per_source must be at least 1 (or None: no limit)")


@dataclass(frozen=True)
class ServerSettings:
    """The server end: accept sessions on ``listen``, forward plaintext to ``forward``.

    ``config`` must pin the allowed clients (``peer_fingerprints``) and set
    ``require_client_identity``, so that an unknown client fails inside the handshake,
    before the service is even connected to.  ``peer_names`` labels fingerprints in logs.
    """

    listen: Endpoint
    forward: Endpoint
    config: Config
    limits: Limits = field(default_factory=Limits)
    peer_names: Mapping[bytes, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.config.peer_fingerprints or not self.config.require_client_identity:
            raise ValueError(
                "a tunnel server needs allowed clients: give --allow FPR or --known-peers FILE"
            )
        self.config.check_for("server")


@dataclass(frozen=True)
class ClientSettings:
    """The client end: accept plain connections on ``listen``, carry each over its own
    session to the tunnel server at ``connect``, whose identity ``config`` pins."""

    listen: Endpoint
    connect: Endpoint
    config: Config
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not self.config.peer_fingerprints:
            raise ValueError("a tunnel client needs the server's fingerprint: give --peer FPR")
        if self.config.identity is None:
            raise ValueError("a tunnel client needs an identity: give --identity FILE")


# ---------------------------------------------------------------------- options
#: option name -> (type, roles); the TOML keys and the flags' dest names are the same.
OPTIONS: dict[str, tuple[type | tuple[type, ...], tuple[str, ...]]] = {
    "listen": (str, ("server", "client")),
    "forward": (str, ("server",)),
    "connect": (str, ("client",)),
    "identity": (str, ("server", "client")),
    "passphrase_file": (str, ("server", "client")),
    "allow": (list, ("server",)),
    "known_peers": (str, ("server",)),
    "peer": (list, ("client",)),
    "mode": (str, ("server", "client")),
    "kem": (str, ("server", "client")),
    "require_pq": (bool, ("server", "client")),
    "allow_classical_clients": (bool, ("server",)),
    "handshake_timeout": ((int, float), ("server", "client")),
    "idle_timeout": ((int, float), ("server", "client")),
    "connect_timeout": ((int, float), ("server", "client")),
    "max_connections": (int, ("server", "client")),
    "max_handshakes": (int, ("client",)),
    "max_pending_handshakes": (int, ("server",)),
    "max_pending_per_source": (int, ("server",)),
    "grace": ((int, float), ("server", "client")),
    "pad": (str, ("server", "client")),
    "pq_rekey_after": ((int, float), ("server", "client")),
    "pq_rekey_bytes": (int, ("server", "client")),
}
_PATHS = ("identity", "passphrase_file", "known_peers")
#: options that are gone, and what replaces them
_REPLACED = {
    ("evict_after", "server"): "the server now evicts the oldest pending handshake at "
    "once; see max_pending_handshakes",
    ("max_handshakes", "server"): "on the server, max_pending_handshakes bounds handshakes",
}


def load_toml(path: str | os.PathLike[str], role: str) -> dict[str, Any]:
    """The options in a TOML file for ``role``, relative paths made absolute.

    :raises ValueError: unreadable TOML, an unknown key, or a value of the wrong type
        (the message names the file and the key).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    merged = {k: v for k, v in data.items() if k not in ("server", "client")}
    section = data.get(role, {})
    if not isinstance(section, dict):
        raise ValueError(f"{path}: [{role}] must be a table")
    merged.update(section)
    for key, value in merged.items():
        if (key, role) in _REPLACED:
            raise ValueError(f"{path}: {key!r} was removed: {_REPLACED[key, role]}")
        if key not in OPTIONS:
            raise ValueError(f"{path}: unknown key {key!r}; known: {', '.join(OPTIONS)}")
        kind, roles = OPTIONS[key]
        if role not in roles:
            raise ValueError(f"{path}: {key!r} is not an option of the tunnel {role}")
        if kind is list and isinstance(value, str):
            merged[key] = value = [value]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise ValueError(f"{path}: {key!r} has the wrong type ({type(value).__name__})")
        if key in _PATHS:
            merged[key] = str(path.parent / str(value))
        if key == "pad":
            try:
                merged[key] = Padding.parse(str(value))  # a str: checked above
            except ValueError as exc:
                raise ValueError(f"{path}: 'pad': {exc}") from None
    return merged


def _limits(options: Mapping[str, Any]) -> Limits:
    names = (
        "handshake_timeout",
        "idle_timeout",
        "connect_timeout",
        "max_connections",
        "max_handshakes",
        "max_pending_handshakes",
        "max_pending_per_source",
        "grace",
        "pq_rekey_after",
        "pq_rekey_bytes",
    )
    given = {n: options[n] for n in names if options.get(n) is not None}
    if given.get("idle_timeout") == 0:
        given["idle_timeout"] = None  # 0 in a file or a flag: no idle timeout
    if given.get("max_pending_per_source") == 0:
        given["max_pending_per_source"] = None  # 0: no per-source limit
    return Limits(**given)


def _require(options: Mapping[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not options.get(k)]
    if missing:
        flags = ", ".join("--" + k.replace("_", "-") for k in missing)
        raise ValueError(f"missing {flags} (on the command line or in --config)")


def _identity(options: Mapping[str, Any]) -> Identity:
    # "passphrase": the passphrase itself, from a caller that asked a person for it
    # (the CLI on a terminal); never a key of a config file
    passphrase = options.get("passphrase")
    if passphrase is None and options.get("passphrase_file"):
        passphrase = Path(options["passphrase_file"]).read_text().rstrip("\n")
    elif passphrase is None and os.environ.get("PQE2EE_PASSPHRASE"):
        passphrase = os.environ["PQE2EE_PASSPHRASE"]
    return load_identity(options["identity"], passphrase=passphrase)


def read_allowed_peers(path: str | os.PathLike[str]) -> dict[bytes, str]:
    """Fingerprint -> name from a known-peers file (``NAME KIND FINGERPRINT`` lines).

    The server uses the file as an allow list, never with trust on first use: an
    unknown client is refused, not recorded (``pqe2ee listen --known-peers`` reads the
    same lines the same way, by fingerprint).

    :raises ValueError: a malformed line, or two lines for one name (the message names
        the file and the lines).
    :raises TrustStoreError: the file exists but cannot be read.
    """
    out: dict[bytes, str] = {}
    for name, fp in KnownPeers(path).entries().items():
        out.setdefault(fp, name)
    return out


def server_settings(options: Mapping[str, Any]) -> ServerSettings:
    """Settings of a tunnel server from merged options (flags over file)."""
    _require(options, "listen", "forward", "identity")
    names: dict[bytes, str] = {}
    if options.get("known_peers"):
        names.update(read_allowed_peers(options["known_peers"]))
    for fpr in options.get("allow") or []:
        names.setdefault(parse_fingerprint(fpr), "")
    policy = Policy.from_options(
        options.get("mode"), options.get("kem"), bool(options.get("require_pq"))
    )
    if options.get("allow_classical_clients"):
        policy = dataclasses.replace(policy, allow_classical_client_identity=True)
    config = Config(
        identity=_identity(options),
        policy=policy,
        peer_fingerprints=frozenset(names),
        require_client_identity=True,
        padding=options.get("pad") or NO_PADDING,
    )
    return ServerSettings(
        listen=parse_endpoint(options["listen"]),
        forward=parse_endpoint(options["forward"]),
        config=config,
        limits=_limits(options),
        peer_names={fp: name for fp, name in names.items() if name},
    )


def client_settings(options: Mapping[str, Any]) -> ClientSettings:
    """Settings of a tunnel client from merged options (flags over file)."""
    _require(options, "listen", "connect", "identity", "peer")
    config = Config(
        identity=_identity(options),
        policy=Policy.from_options(
            options.get("mode"), options.get("kem"), bool(options.get("require_pq"))
        ),
        peer_fingerprints=frozenset(parse_fingerprint(p) for p in options["peer"]),
        padding=options.get("pad") or NO_PADDING,
    )
    return ClientSettings(
        listen=parse_endpoint(options["listen"]),
        connect=parse_endpoint(options["connect"]),
        config=config,
        limits=_limits(options),
    )
