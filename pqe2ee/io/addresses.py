"""What a peer's socket address is called: its host, the key of per-source limits, and
``HOST:PORT`` text for messages and log lines (IPv6 in brackets)."""

from __future__ import annotations

from typing import Any

__all__ = ["address_text", "source_of"]


def source_of(address: Any) -> str:
    """The host part of an accepted connection's address (``"?"`` if it has none): what
    a pending pool's per-source limit counts (:class:`~pqe2ee.io.pending.PendingPool`)."""
    if isinstance(address, tuple) and address:
        return str(address[0])
    return "?"


def address_text(address: Any) -> str:
    """``HOST:PORT`` (``[HOST]:PORT`` for IPv6), or ``"?"`` for an address without a port."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return "?"
