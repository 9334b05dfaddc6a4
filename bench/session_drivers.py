"""Which async PostgreSQL driver for PostgresStore: asyncpg or psycopg 3 (+ psycopg_pool)?

Both run the statement a session append runs (one fenced UPDATE ... RETURNING + INSERT in a
single round trip) against a throwaway local server, sequentially and from 200 concurrent
tasks over a 20-connection pool. Prints wall time and client CPU per append.

    .venv/bin/python bench/session_drivers.py
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from swarmlet.testing.postgres import TemporaryPostgres

SETUP = [
    "DROP TABLE IF EXISTS b_msgs, b_sessions",
    "CREATE TABLE b_sessions (id text PRIMARY KEY, token bigint NOT NULL, n bigint NOT NULL)",
    "CREATE TABLE b_msgs (id text, seq bigint, message text, PRIMARY KEY (id, seq))",
]
APPEND = (
    "WITH s AS (UPDATE b_sessions SET n = n + 1 WHERE id = $1 AND token = $2 RETURNING n) "
    "INSERT INTO b_msgs SELECT $1, s.n - 1, $3 FROM s"
)
MESSAGE = json.dumps({"role": "assistant", "content": "x" * 200, "sender": "Agent"})
SEQUENTIAL, TASKS, PER_TASK, POOL = 2000, 200, 20, 20

Append = Callable[[str], Awaitable[None]]


async def measure(label: str, append: Append, ids: list[str]) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(SEQUENTIAL):
        await append(ids[0])
    seq_wall, seq_cpu = time.perf_counter() - wall, time.process_time() - cpu

    async def task(sid: str) -> None:
        for _ in range(PER_TASK):
            await append(sid)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(task(sid) for sid in ids[1:]))
    con_wall, con_cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = TASKS * PER_TASK
    print(
        f"{label:10} sequential: {seq_wall / SEQUENTIAL * 1e6:6.0f} us/append wall, "
        f"{seq_cpu / SEQUENTIAL * 1e6:5.0f} us CPU | concurrent ({TASKS} tasks, pool {POOL}): "
        f"{n / con_wall:6.0f} appends/s, {con_cpu / n * 1e6:5.0f} us CPU/append"
    )


async def with_asyncpg(dsn: str, ids: list[str]) -> None:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=POOL, max_size=POOL)

    async def append(sid: str) -> None:
        async with pool.acquire() as conn:
            await conn.execute(APPEND, sid, 1, MESSAGE)

    await measure("asyncpg", append, ids)
    await pool.close()


async def with_psycopg(dsn: str, ids: list[str]) -> None:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(dsn, min_size=POOL, max_size=POOL, open=False)
    await pool.open(wait=True)
    sql = APPEND.replace("$1", "%(id)s").replace("$2", "%(token)s").replace("$3", "%(m)s")

    async def append(sid: str) -> None:
        async with pool.connection() as conn:
            await conn.execute(sql, {"id": sid, "token": 1, "m": MESSAGE})

    await measure("psycopg", append, ids)
    await pool.close()


async def setup(dsn: str, label: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    for statement in SETUP:
        await conn.execute(statement)
    ids = [f"{label}-{i}" for i in range(TASKS + 1)]
    await conn.executemany("INSERT INTO b_sessions VALUES ($1, 1, 0)", [(i,) for i in ids])
    await conn.close()
    return ids


async def main(dsn: str) -> None:
    for label, run in (("asyncpg", with_asyncpg), ("psycopg", with_psycopg)) * 2:
        runner: Any = run
        await runner(dsn, await setup(dsn, label))


if __name__ == "__main__":
    print(f"uptime: {os.getloadavg()}")
    with TemporaryPostgres() as pg:
        asyncio.run(main(pg.dsn))
