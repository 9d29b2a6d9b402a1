"""Real PostgreSQL behind a tunnel pair: psycopg through it creates a table, COPYs
100,000 rows in, reads them back and checks the sum."""

from __future__ import annotations

import psycopg

from tests.io.tunnel.services import postgres_server
from tests.io.tunnel.util import run, tunnel_pair

ROWS = 100_000


def test_postgres_through_the_tunnel() -> None:
    expected = sum(i * 7 + 3 for i in range(ROWS))

    async def main() -> None:
        with postgres_server() as service:
            async with tunnel_pair(forward=service) as pair:
                dsn = (
                    f"host={pair.entry.host} port={pair.entry.port} user=postgres "
                    "dbname=postgres sslmode=disable gssencmode=disable connect_timeout=30"
                )
                async with (
                    await psycopg.AsyncConnection.connect(dsn) as conn,
                    conn.cursor() as cur,
                ):
                    await cur.execute("CREATE TABLE t (id integer PRIMARY KEY, v bigint)")
                    async with cur.copy("COPY t (id, v) FROM STDIN") as copy:
                        for i in range(ROWS):
                            await copy.write_row((i, i * 7 + 3))
                    await conn.commit()
                    await cur.execute("SELECT id, v FROM t ORDER BY id")
                    rows = await cur.fetchall()
                    assert len(rows) == ROWS
                    assert [r[0] for r in rows] == list(range(ROWS))
                    assert sum(r[1] for r in rows) == expected
                    await cur.execute("SELECT count(*), sum(v) FROM t")
                    assert await cur.fetchone() == (ROWS, expected)
        assert pair.server.finished and all(r.end == "closed" for r in pair.server.finished)

    run(main(), timeout=120)
