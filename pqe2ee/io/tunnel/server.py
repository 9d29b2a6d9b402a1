"""The server end: sessions in, plaintext out to the service.

The handshake requires the client's identity and pins the allowed fingerprints, so an
unknown client fails inside the handshake (alert ``identity refused``), before this end
has even connected to the service: the service never sees a byte from it.
"""

from __future__ import annotations

import asyncio
import socket

from pqe2ee.handshake import Connection
from pqe2ee.io.tunnel import sockets
from pqe2ee.io.tunnel.config import ServerSettings
from pqe2ee.io.tunnel.connlog import LOGGER, describe
from pqe2ee.io.tunnel.link import Link
from pqe2ee.io.tunnel.listener import Listener

__all__ = ["TunnelServer"]


class TunnelServer(Listener):
    """Accept hybrid sessions on ``settings.listen``; forward each to ``settings.forward``.

    >>> async with TunnelServer(settings) as server:   # doctest: +SKIP
    ...     print(server.address)
    """

    role = "server"

    def __init__(self, settings: ServerSettings) -> None:
        super().__init__(settings.listen, settings.limits)
        self.settings = settings

    async def start(self) -> None:
        """Bind and start accepting; log where the tunnel listens and forwards to."""
        await super().start()
        LOGGER.info(
            "tunnel server: listening on %s, forwarding to %s, %d allowed clients",
            self.address,
            self.settings.forward,
            len(self.settings.config.peer_fingerprints),
        )

    async def handle(self, link: Link, sock: socket.socket, owned: list[socket.socket]) -> None:
        """Serve one tunnel client: run the server handshake (its identity must be
        allowed), connect to the service, then carry the bytes both ways."""
        loop = asyncio.get_running_loop()
        limits = self.limits
        conn = Connection(self.settings.config, "server")
        try:
            async with asyncio.timeout_at(loop.time() + limits.handshake_timeout):
                await self._handshake_slot(link)
                try:
                    done = await sockets.handshake(sock, conn)
                finally:
                    self._handshake_over(link)
        except Exception as exc:
            self.handshake_failure(link, exc)
            return
        if not self._establish(link):
            return
        self.note_session(link, done.suite, done.peer_identity)
        peer = done.peer_identity
        name = self.settings.peer_names.get(peer.fingerprint()) if peer else None
        if name:
            link.record.peer += f"({name})"
        forward = self.settings.forward
        try:
            async with asyncio.timeout(limits.connect_timeout):
                service = await sockets.connect(forward)
        except (OSError, TimeoutError) as exc:
            link.end(f"service {forward} unreachable: {describe(exc)}")
            return
        owned.append(service)
        await self.carry(
            link, conn, service, sock, owned, plain_is_near=False, names=("tunnel", "service")
        )
