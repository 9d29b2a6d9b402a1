"""The client end: plain connections in, each carried over its own session.

The server's identity is pinned: a server that presents another one fails the handshake
(``IdentityRejected``), and the local connection is dropped with that reason logged,
before any of its bytes have left this machine.
"""

from __future__ import annotations

import asyncio

from pqe2ee.io import aio
from pqe2ee.io.tunnel.config import ClientSettings
from pqe2ee.io.tunnel.listener import Listener
from pqe2ee.io.tunnel.pump import Link
from pqe2ee.io.tunnel.record import LOGGER

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
        await super().start()
        LOGGER.info(
            "tunnel client: listening on %s, tunnelling to %s",
            self.address,
            self.settings.connect,
        )

    async def handle(
        self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        limits = self.limits
        target = self.settings.connect
        try:
            async with asyncio.timeout_at(loop.time() + limits.handshake_timeout):
                await self._handshake_slot(link)
                try:
                    async with asyncio.timeout(limits.connect_timeout):
                        r_reader, r_writer = await asyncio.open_connection(target.host, target.port)
                    link.attach(r_writer)
                    secure = await aio.wrap_streams(
                        r_reader, r_writer, self.settings.config, handshake_timeout=None
                    )
                finally:
                    self.slots.release(link)
        except Exception as exc:
            self.handshake_failure(link, exc)
            return
        s_reader, s_writer = secure
        self.note_session(link, s_writer.suite, s_writer.peer_identity)
        await link.splice(reader, s_writer, s_reader, writer, names=("local", "tunnel"))
