"""A hybrid post-quantum TCP tunnel: wrap an existing service without changing it.

::

    app --tcp--> TunnelClient ==pqe2ee session==> TunnelServer --tcp--> service

Each accepted connection gets its own session and handshake; after it the bytes move in
the C core (:mod:`pqe2ee.io.socket_pump`, one thread per connection), or through
:mod:`pqe2ee.io.aio` without it.  The server requires and pins the client's identity,
the client pins the server's.
Half-close passes through; handshake and idle timeouts, a limit on established
connections and a pool of pending handshakes whose oldest member a newcomer evicts
(server) bound what peers can hold; shutdown lets open connections finish for a
grace period.  One log line per connection (logger ``pqe2ee.tunnel``), never a key or a
byte of the data.  The CLI is ``pqe2ee tunnel server|client``; docs/tunnel.md walks
through Redis and PostgreSQL.
"""

from pqe2ee.io.tunnel.client import TunnelClient
from pqe2ee.io.tunnel.config import (
    ClientSettings,
    Endpoint,
    Limits,
    ServerSettings,
    client_settings,
    load_toml,
    parse_endpoint,
    server_settings,
)
from pqe2ee.io.tunnel.connlog import ConnectionRecord
from pqe2ee.io.tunnel.server import TunnelServer

__all__ = [
    "ClientSettings",
    "ConnectionRecord",
    "Endpoint",
    "Limits",
    "ServerSettings",
    "TunnelClient",
    "TunnelServer",
    "client_settings",
    "load_toml",
    "parse_endpoint",
    "server_settings",
]
