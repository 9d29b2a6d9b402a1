"""Adapters that move a pqe2ee session's bytes over real transports.

- :func:`wrap_socket`: blocking sockets (TCP, Unix, ``ssl.SSLSocket``).
- :mod:`pqe2ee.io.aio`: asyncio ``open_connection`` / ``start_server`` / ``wrap_streams``.
- :func:`pqe2ee.io.accept.accept_session`: the first of many pending handshakes on a
  blocking listener (``pqe2ee listen``); servers bound pending handshakes with
  :class:`pqe2ee.io.pending.PendingPool`, oldest evicted first.
"""

from pqe2ee.io.socket import SecureSocket, wrap_socket

__all__ = ["SecureSocket", "wrap_socket"]
