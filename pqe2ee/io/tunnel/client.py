"""The client end: plain connections in, each carried over its own session.

The server's identity is pinned: a server that presents another one fails the handshake
(``IdentityRejected``), and the local connection is dropped with that reason logged,
before any of its bytes have left this machine.  A ``kem`` server's key, once a pinned
handshake has proven it, is kept for the connections after: they encapsulate to it in
their first flight and take one round trip (docs/protocol.md §6.2).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket

from pqe2ee.handshake import Connection, PublicIdentity
from pqe2ee.io.tunnel import sockets
from pqe2ee.io.tunnel.config import ClientSettings
from pqe2ee.io.tunnel.connlog import LOGGER
from pqe2ee.io.tunnel.link import Link
from pqe2ee.io.tunnel.listener import Listener

__all__ = ["TunnelClient"]


class TunnelClient(Listener):
    """Accept plain TCP on ``settings.listen``; carry each connection to
    ``settings.connect`` over a hybrid session."""

    role = "client"
    evicting = False

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings.listen, settings.limits)
        self.settings = settings

    async def start(self) -> None:
        """Bind and start accepting; log where the tunnel listens and where it goes."""
        await super().start()
        LOGGER.info(
            "tunnel client: listening on %s, tunnelling to %s",
            self.address,
            self.settings.connect,
        )

    async def handle(self, link: Link, sock: socket.socket, owned: list[socket.socket]) -> None:
        """Serve one local connection: connect to the server, run the client handshake
        (pinning the server's identity), then carry the bytes both ways."""
        loop = asyncio.get_running_loop()
        limits = self.limits
        target = self.settings.connect
        try:
            async with asyncio.timeout_at(loop.time() + limits.handshake_timeout):
                await self._handshake_slot(link)
                try:
                    async with asyncio.timeout(limits.connect_timeout):
                        remote = await sockets.connect(target)
                    owned.append(remote)
                    conn = Connection(self.settings.config, "client")
                    done = await sockets.handshake(remote, conn)
                finally:
                    self._handshake_over(link)
        except Exception as exc:
            self.handshake_failure(link, exc)
            return
        if not self._establish(link):
            return
        self._learn(done.peer_identity)
        self.note_session(link, done.suite, done.peer_identity)
        await self.carry(
            link, conn, sock, remote, owned, plain_is_near=True, names=("local", "tunnel")
        )

    def _learn(self, peer: PublicIdentity | None) -> None:
        """Keep a pinned ``kem`` server's proven key for the next handshakes."""
        config = self.settings.config
        if peer is None or peer.kind.signs or config.server_identity == peer:
            return
        if peer.fingerprint() not in config.peer_fingerprints:  # pragma: no cover - pinned
            return
        config = dataclasses.replace(config, server_identity=peer)
        self.settings = dataclasses.replace(self.settings, config=config)
