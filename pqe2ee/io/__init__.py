"""Adapters that move a pqe2ee session's bytes over real transports.

- :func:`wrap_socket`: blocking sockets (TCP, Unix, ``ssl.SSLSocket``).
- :mod:`pqe2ee.io.aio`: asyncio ``open_connection`` / ``start_server`` / ``wrap_streams``.
"""

from pqe2ee.io.socket import SecureSocket, wrap_socket

__all__ = ["SecureSocket", "wrap_socket"]
