"""A tunnel with ``kem`` identities at both ends (docs/protocol.md §6.2, §6.3): the client
learns the pinned server's key in the first handshake and encapsulates to it after."""

from __future__ import annotations

from pqe2ee.handshake import Config, Identity
from pqe2ee.io.tunnel import ClientSettings, Endpoint, ServerSettings, TunnelClient, TunnelServer
from tests.io.tunnel.util import LOOPBACK, EchoService, marker, roundtrip, run


def test_kem_tunnel_carries_data_and_keeps_the_proven_server_key() -> None:
    server_id, client_id = Identity.generate("kem"), Identity.generate("kem")

    async def main() -> None:
        service = EchoService()
        forward = await service.start()
        server = TunnelServer(
            ServerSettings(
                listen=Endpoint(LOOPBACK, 0),
                forward=forward,
                config=Config(
                    identity=server_id,
                    peer_fingerprints=frozenset({client_id.public().fingerprint()}),
                    require_client_identity=True,
                ),
            )
        )
        await server.start()
        client = TunnelClient(
            ClientSettings(
                listen=Endpoint(LOOPBACK, 0),
                connect=server.address,
                config=Config(
                    identity=client_id,
                    peer_fingerprints=frozenset({server_id.public().fingerprint()}),
                ),
            )
        )
        await client.start()
        try:
            assert client.settings.config.server_identity is None
            first = marker("first")
            assert await roundtrip(client.address, first) == first
            # the pinned handshake proved the key: the next ones encapsulate to it
            assert client.settings.config.server_identity == server_id.public()
            for i in range(3):
                payload = marker(f"again {i}") * 1000
                assert await roundtrip(client.address, payload) == payload
            assert service.everything().count(b"again") == 3000
        finally:
            await client.shutdown(grace=5)
            await server.shutdown(grace=5)
            await service.close()

    run(main())
