"""Session benchmarks: write cost per message, and many concurrent runs on one PostgreSQL.

    .venv/bin/python bench/sessions.py            # both parts (~1 min)
    .venv/bin/python bench/sessions.py writes     # write cost per message only
    .venv/bin/python bench/sessions.py runs       # 2 processes x 500 concurrent runs only

*writes*: one run's lease held, N messages appended one at a time (what ``session=`` does as
each message completes), for the in-memory store, SQLite (the stdlib driver on the store's
thread; and aiosqlite running the same statements, for comparison) and PostgreSQL (asyncpg).
Wall and client CPU per message.

*runs*: two processes, each starting 500 runs at once, every run on its own session of one
PostgreSQL server: a tool call, its result, then an answer (ScriptedModel, no latency), so
each run takes a lease, stores 4 messages, saves agent and context, and releases. Reports
errors, runs per second, per-run latency (p50/p99) and each process's CPU.

Numbers go in docs/benchmarks.md (never in tests). Needs the PostgreSQL server binaries.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from swarmlet import Agent, Swarm
from swarmlet.sessions import MemoryStore, PostgresStore, Session, SessionStore, SQLiteStore
from swarmlet.testing import ScriptedModel, reply, tool_call
from swarmlet.testing.postgres import TemporaryPostgres

MESSAGE: dict[str, Any] = {
    "role": "assistant",
    "content": "Your order A1 has shipped and should arrive on Thursday. " * 4,
    "sender": "Sales Agent",
    "tool_calls": None,
}
N_MESSAGES = 2000
RUNS_PER_PROCESS = 500


async def append_cost(store: SessionStore, label: str) -> None:
    async with Session(store, f"bench-{label}").hold() as lease:
        await lease.append([MESSAGE])  # warm-up: connection, migrations, statement cache
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(N_MESSAGES):
            await lease.append([MESSAGE])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await store.close()
    print(
        f"  {label:28} {wall / N_MESSAGES * 1e6:7.0f} us wall/message "
        f"{cpu / N_MESSAGES * 1e6:6.0f} us CPU/message"
    )


async def aiosqlite_cost(path: Path) -> None:
    """The same fenced UPDATE + INSERT per message through aiosqlite (not a dependency)."""
    import aiosqlite

    store = SQLiteStore(path)  # creates the schema
    await store.create("bench-aiosqlite")
    token = await store.acquire("bench-aiosqlite", "me:1:x", 600)
    await store.close()
    text = json.dumps(MESSAGE)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA busy_timeout = 30000")
        await db.execute("PRAGMA synchronous = NORMAL")
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(N_MESSAGES):
            await db.execute("BEGIN IMMEDIATE")
            cursor = await db.execute(
                "UPDATE swarmlet_sessions SET message_count = message_count + 1, updated_at = ? "
                "WHERE session_id = ? AND lease_token = ? AND lease_owner IS NOT NULL "
                "RETURNING message_count",
                (time.time(), "bench-aiosqlite", token),
            )
            (count,) = await cursor.fetchone()  # type: ignore[misc]
            await db.execute(
                "INSERT INTO swarmlet_messages VALUES (?, ?, ?)",
                ("bench-aiosqlite", count - 1, text),
            )
            await db.execute("COMMIT")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"  {'sqlite (aiosqlite, same SQL)':28} {wall / N_MESSAGES * 1e6:7.0f} us wall/message "
        f"{cpu / N_MESSAGES * 1e6:6.0f} us CPU/message"
    )


async def writes(dsn: str) -> None:
    print(
        f"write cost per message ({N_MESSAGES} appends, "
        f"a {len(json.dumps(MESSAGE))}-byte message each):"
    )
    with tempfile.TemporaryDirectory() as tmp:
        await append_cost(MemoryStore(), "memory")
        await append_cost(SQLiteStore(Path(tmp) / "a.db"), "sqlite (stdlib, store thread)")
        await aiosqlite_cost(Path(tmp) / "b.db")
        await append_cost(PostgresStore(dsn), "postgresql (asyncpg)")


def lookup_order(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id}: shipped"


async def one_process(dsn: str, tag: str) -> dict[str, Any]:
    """RUNS_PER_PROCESS concurrent runs, each on its own session; returns the measurements."""
    store = PostgresStore(dsn, max_size=20)
    agent = Agent(name="Sales Agent", functions=[lookup_order])
    await store.create("warm-up")  # open the pool, migrate
    latencies: list[float] = []
    errors: list[str] = []

    async def one(i: int) -> None:
        model = ScriptedModel([tool_call("lookup_order", {"order_id": f"A{i}"}), reply("Shipped.")])
        start = time.perf_counter()
        try:
            response = await Swarm(client=model).run_async(
                agent, "Where is my order?", session=Session(store, f"{tag}-{i}")
            )
            assert response.messages[-1]["content"] == "Shipped."
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - start)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(RUNS_PER_PROCESS)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stored = 0
    for i in range(RUNS_PER_PROCESS):
        state = await store.load(f"{tag}-{i}")
        stored += state is not None and len(state.messages) == 4 and state.status == "idle"
    await store.close()
    latencies.sort()
    return {
        "tag": tag,
        "wall": wall,
        "cpu": cpu,
        "errors": errors[:3],
        "n_errors": len(errors),
        "complete_sessions": stored,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
    }


def runs(dsn: str) -> None:
    print(f"2 processes x {RUNS_PER_PROCESS} concurrent runs, distinct sessions, one PostgreSQL:")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "one-process", dsn, tag],
            stdout=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    results = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    total = time.perf_counter() - start
    for r in results:
        print(
            f"  {r['tag']}: {r['n_errors']} errors, {r['complete_sessions']}/{RUNS_PER_PROCESS} "
            f"sessions with all 4 messages, wall {r['wall']:.2f}s, CPU {r['cpu']:.2f}s "
            f"({r['cpu'] / RUNS_PER_PROCESS * 1e3:.1f} ms/run), "
            f"latency p50 {r['p50'] * 1e3:.0f} ms p99 {r['p99'] * 1e3:.0f} ms {r['errors']}"
        )
    n = 2 * RUNS_PER_PROCESS
    print(f"  both: {n} runs in {total:.2f}s incl. process start ({n / total:.0f} runs/s)")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "one-process":
        print(json.dumps(asyncio.run(one_process(sys.argv[2], sys.argv[3]))))
        return
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    with TemporaryPostgres(max_connections=200) as pg:
        if what in ("all", "writes"):
            asyncio.run(writes(pg.dsn))
        if what in ("all", "runs"):
            runs(pg.dsn)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
