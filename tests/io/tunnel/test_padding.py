"""Record padding through a tunnel pair (docs/protocol.md §10, docs/tunnel.md), on the C
data path and on the asyncio one: a relay between the two ends sees only padded records,
and the bytes arrive intact."""

from __future__ import annotations

import dataclasses

import pytest

from pqe2ee.hazmat.padding import MAX_INNER, Padding, padme
from pqe2ee.io.tunnel import Endpoint, TunnelClient, TunnelServer
from pqe2ee.io.tunnel.listener import DATA_PATH_ENV
from tests.cli.test_pad import Relay, encrypted_payloads
from tests.io.tunnel.util import EchoService, client_settings, roundtrip, run, server_settings

TAG = 16


@pytest.mark.parametrize("data_path", ["auto", "python"])
def test_both_ends_pad_what_they_send(data_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_PATH_ENV, data_path)
    payload = bytes(range(256)) * 700 + b"end"  # 179203 bytes: full records and a last one
    relay: list[Relay] = []

    async def main() -> None:
        service = EchoService()
        server_side = server_settings(await service.start())
        server_side = dataclasses.replace(
            server_side, config=dataclasses.replace(server_side.config, padding="block:512")
        )
        server = TunnelServer(server_side)
        await server.start()
        relay.append(Relay(server.address.port))
        client_side = client_settings(Endpoint("127.0.0.1", relay[0].port))
        client_side = dataclasses.replace(
            client_side, config=dataclasses.replace(client_side.config, padding=Padding("padme"))
        )
        client = TunnelClient(client_side)
        await client.start()
        try:
            assert await roundtrip(client.address, payload) == payload
        finally:
            await client.shutdown(grace=5)
            await server.shutdown(grace=5)
            await service.close()

    run(main())
    relay[0].thread.join(30)
    s2c = encrypted_payloads(bytes(relay[0].seen["s2c"]))
    c2s = encrypted_payloads(bytes(relay[0].seen["c2s"]))
    # every record either end sealed, handshake flight and close included; a full record
    # is padded to the frame maximum, never beyond (§10.3)
    assert s2c and all((n - TAG) % 512 == 0 or n - TAG == MAX_INNER for n in s2c), s2c
    assert c2s and all(padme(n - TAG) == n - TAG or n - TAG == MAX_INNER for n in c2s), c2s
