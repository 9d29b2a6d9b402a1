"""Real Redis behind a tunnel pair: the redis client sets and gets 10,000 keys and a
50 MB value through it, intact."""

from __future__ import annotations

import hashlib
import os

import redis.asyncio as aioredis

from tests.io.tunnel.services import redis_server
from tests.io.tunnel.util import run, tunnel_pair

KEYS = 10_000
BIG = 50 * 1000 * 1000


def test_redis_through_the_tunnel() -> None:
    big = os.urandom(BIG)
    values = {f"key:{i}".encode(): hashlib.sha256(str(i).encode()).digest() for i in range(KEYS)}

    async def main() -> None:
        with redis_server() as service:
            async with tunnel_pair(forward=service) as pair:
                client = aioredis.Redis(host=pair.entry.host, port=pair.entry.port)
                try:
                    assert await client.ping()
                    async with client.pipeline(transaction=False) as pipe:
                        for key, value in values.items():
                            pipe.set(key, value)
                        assert all(await pipe.execute())
                    got = await client.mget(list(values))
                    assert got == list(values.values())
                    assert await client.dbsize() == KEYS
                    assert await client.set("big", big)
                    fetched = await client.get("big")
                    assert fetched is not None and len(fetched) == BIG
                    assert hashlib.sha256(fetched).digest() == hashlib.sha256(big).digest()
                finally:
                    await client.aclose()
            # the same data, straight from the service: it went in as sent
            direct = aioredis.Redis(host=service.host, port=service.port)
            try:
                assert await direct.strlen("big") == BIG
                assert await direct.get("key:9999") == values[b"key:9999"]
            finally:
                await direct.aclose()
        records = pair.server.finished
        assert records and all(r.end == "closed" for r in records)
        assert sum(r.up for r in records) > BIG and sum(r.down for r in records) > BIG

    run(main(), timeout=120)
