"""The tunnel's raw sockets: listen, connect, run the handshake, close or reset.

The tunnel keeps its sockets out of asyncio's transports until it knows which data path
a connection takes: the C pump (:mod:`pqe2ee.io.socket_pump`) needs the bare sockets, and a
socket that was never wrapped holds no bytes in user space that could be lost when it
changes hands.  The only bytes read ahead are the session's, inside the sans-IO
:class:`~pqe2ee.handshake.Connection`, which hands them over explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, Connection, HandshakeComplete
from pqe2ee.io.tunnel.config import Endpoint

__all__ = ["abort_on_close", "close", "connect", "handshake", "listening_socket", "reset"]

_RECV = 1 << 16


def _tune(sock: socket.socket) -> socket.socket:
    """Non-blocking, and no Nagle delay: requests are small and latency matters (asyncio
    does the same for its transports)."""
    sock.setblocking(False)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def listening_socket(where: Endpoint, backlog: int) -> socket.socket:
    """A non-blocking socket listening on ``where`` (the first address it resolves to).

    :raises OSError: the address does not resolve or cannot be bound.
    """
    infos = socket.getaddrinfo(
        where.host or None, where.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def accept(listener: socket.socket) -> tuple[socket.socket, object]:
    """The next connection on ``listener``, tuned like every tunnel socket."""
    sock, peer = await asyncio.get_running_loop().sock_accept(listener)
    return _tune(sock), peer


async def connect(where: Endpoint) -> socket.socket:
    """A connected, non-blocking TCP socket to ``where`` (each address in turn).

    :raises OSError: no address could be reached (the last error).
    """
    loop = asyncio.get_running_loop()
    try:  # an IP address needs no resolver thread (the usual case: a new connection each)
        infos = socket.getaddrinfo(
            where.host, where.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except socket.gaierror:
        infos = await loop.getaddrinfo(where.host, where.port, type=socket.SOCK_STREAM)
    error: OSError = OSError(f"{where} does not resolve")
    for family, kind, proto, _, address in infos:
        sock = _tune(socket.socket(family, kind, proto))
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    raise error


async def handshake(sock: socket.socket, conn: Connection) -> HandshakeComplete:
    """Run ``conn``'s handshake over ``sock``.  Bytes the peer sent after its last
    handshake message stay in ``conn`` (see :meth:`Connection.lend_traffic_keys`).

    :raises RemoteProtocolError: the handshake failed (the alert, if any, has been sent).
    :raises OSError: the socket failed.
    """
    loop = asyncio.get_running_loop()
    try:
        while True:
            event = conn.next_event()
            out = conn.data_to_send()
            if out:
                await loop.sock_sendall(sock, out)
            if isinstance(event, HandshakeComplete):
                return event
            if event is not NEED_DATA:  # pragma: no cover - nothing else comes first
                raise RemoteProtocolError(f"unexpected event {event!r} during the handshake")
            conn.receive_data(await loop.sock_recv(sock, _RECV))
    except RemoteProtocolError:
        with contextlib.suppress(OSError):
            sock.send(conn.data_to_send())  # the alert: a few bytes, best effort
        raise


def close(sock: socket.socket) -> None:
    """Close ``sock`` the ordinary way (what was written still arrives, then a FIN)."""
    with contextlib.suppress(OSError):
        sock.close()


def abort_on_close(sock: socket.socket) -> None:
    """Make the coming close of ``sock`` send a reset (RST) instead of a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with a reset (RST): the far end sees an abort, never a clean end."""
    abort_on_close(sock)
    close(sock)
