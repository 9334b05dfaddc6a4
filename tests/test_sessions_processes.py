"""Sessions shared by real processes: SQLite files and a real PostgreSQL server.

- Two processes hammering one session never interleave their holds or lose a message, both
  at the lease level and with whole runs (``session=``).
- A process SIGKILLed while holding a session leaves exactly what it had written, and its
  lease is taken over at once (its pid is gone) by the next run; a *run* SIGKILLed while a
  tool runs loses only that tool call, which the next run answers before going on.
- Migrations: created once, recorded, and a newer schema is refused.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from swarmlet import Agent, Swarm
from swarmlet.exceptions import ConfigurationError
from swarmlet.sessions import PostgresStore, Session, SessionBusy, SQLiteStore, open_store
from swarmlet.sessions.persist import UNANSWERED
from swarmlet.testing import ScriptedModel

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_dsn"))


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.session_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_two_processes_on_one_session_never_interleave(url: str) -> None:
    workers = [_worker("holds", url, "shared", tag, "15") for tag in ("p", "q")]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    store = open_store(url)
    state = await Session(store, "shared").load()
    await store.close()
    contents = [m["content"] for m in state.messages]
    assert len(contents) == 2 * 15 * 3
    # Each hold's three messages are contiguous and in order; every hold is there once.
    holds = [contents[i : i + 3] for i in range(0, len(contents), 3)]
    for hold in holds:
        tag, i, _ = hold[0].split("-")
        assert hold == [f"{tag}-{i}-{part}" for part in range(3)]
    assert sorted(h[0] for h in holds) == sorted(f"{t}-{i}-0" for t in "pq" for i in range(15))
    assert state.status == "idle"


async def test_runs_from_two_processes_on_one_session_stay_whole(url: str) -> None:
    workers = [_worker("runs", url, "chat", tag, "8") for tag in ("p", "q")]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    store = open_store(url)
    state = await Session(store, "chat").load()
    await store.close()
    # Each run is user, assistant (call), tool, assistant (answer): four in a row, never mixed.
    runs = [state.messages[i : i + 4] for i in range(0, len(state.messages), 4)]
    assert len(runs) == 16
    for user, call, result, answer in runs:
        text = user["content"]
        assert call["tool_calls"][0]["function"]["arguments"] == f'{{"text": "{text}"}}'
        assert (result["content"], answer["content"]) == (text, f"said {text}")
    assert sorted(r[0]["content"] for r in runs) == sorted(
        f"{t}-{i}" for t in "pq" for i in range(8)
    )
    assert state.status == "idle"


async def test_sigkilled_holder_leaves_exactly_its_writes_and_is_taken_over(url: str) -> None:
    worker = _worker("hang", url, "victim", "4")
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready", worker.stderr
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)  # reaped: its pid is gone
    store = open_store(url)
    state = await Session(store, "victim").load()
    assert [m["content"] for m in state.messages] == ["m0", "m1", "m2", "m3"]
    assert state.status == "running"  # its 30 s lease has not run out yet
    # on_busy="raise" would raise if the dead holder's lease were not taken over at once.
    async with Session(store, "victim", on_busy="raise").hold() as lease:
        await lease.append([{"role": "user", "content": "after"}])
    state = await Session(store, "victim").load()
    assert [m["content"] for m in state.messages][-2:] == ["m3", "after"]
    assert state.status == "idle"
    await store.close()


async def test_a_run_sigkilled_mid_tool_loses_only_the_call_in_flight(url: str) -> None:
    worker = _worker("run", url, "run1")
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready", worker.stderr
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    store = open_store(url)
    state = await Session(store, "run1").load()
    assert [(m["role"], m.get("content"), m.get("tool_call_id")) for m in state.messages] == [
        ("user", "go", None),
        ("assistant", None, None),
        ("tool", "fast done", "f1"),
        ("assistant", None, None),
    ]
    assert [c["id"] for c in state.messages[3]["tool_calls"]] == ["s1"]
    # The context update of the finished tool turn was stored before the next model call.
    assert (state.agent_name, state.context_variables, state.status) == (
        "Worker",
        {"n": 1, "fast": True},
        "running",
    )
    # The next run takes the dead run's lease at once, answers the lost call, and goes on.
    agent = Agent(name="Worker", functions=[])
    model = ScriptedModel(["done"])
    session = Session(store, "run1", on_busy="raise")
    await Swarm(client=model).run_async(agent, "next", session=session)
    state = await session.load()
    assert [(m["role"], m.get("content")) for m in state.messages[4:]] == [
        ("tool", UNANSWERED),
        ("user", "next"),
        ("assistant", "done"),
    ]
    assert state.status == "idle"
    await store.close()


async def test_a_live_holder_in_another_process_is_not_taken_over(url: str) -> None:
    worker = _worker("hang", url, "alive", "1")
    assert worker.stdout is not None
    try:
        assert worker.stdout.readline().strip() == "ready"
        store = open_store(url)
        with pytest.raises(SessionBusy) as busy:
            async with Session(store, "alive", on_busy="raise").hold():
                pass
        assert busy.value.owner is not None and f":{worker.pid}:" in busy.value.owner
        await store.close()
    finally:
        worker.kill()
        worker.wait(timeout=30)


async def test_stores_opened_together_migrate_once(url: str) -> None:
    stores = [open_store(url) for _ in range(4)]
    await asyncio.gather(*(s.create(f"s{i}") for i, s in enumerate(stores)))
    for s in stores:
        await s.close()
    versions = await _schema_versions(url)
    assert versions == [1]


async def test_a_newer_schema_is_refused(url: str) -> None:
    store = open_store(url)
    await store.create("s")
    await store.close()
    await _execute(url, "INSERT INTO swarmlet_schema_version (version) VALUES (99)")
    store = open_store(url)
    with pytest.raises(ConfigurationError, match="schema version 99 is newer"):
        await store.create("t")
    await store.close()


async def test_sqlite_in_a_missing_directory_is_a_clear_configuration_error(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "no" / "such" / "dir.db")
    with pytest.raises(ConfigurationError, match=r"cannot open session database .*dir\.db"):
        await store.create("s")
    await store.close()


async def test_an_unreachable_postgres_is_a_configuration_error_without_the_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = PostgresStore(f"postgresql://app:s3cret-pw@127.0.0.1:{port}/app")
    assert "s3cret-pw" not in repr(store)
    with pytest.raises(ConfigurationError, match="cannot connect to the session database") as err:
        await store.create("s")
    assert "s3cret-pw" not in str(err.value)
    assert f"postgresql://app:***@127.0.0.1:{port}/app" in str(err.value)
    await store.close()


async def _schema_versions(url: str) -> list[int]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute("SELECT version FROM swarmlet_schema_version").fetchall()
        return [r[0] for r in rows]
    import asyncpg

    conn = await asyncpg.connect(url)
    rows = await conn.fetch("SELECT version FROM swarmlet_schema_version ORDER BY version")
    await conn.close()
    return [r["version"] for r in rows]


async def _execute(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        sql = sql.replace("(version)", "").replace("(99)", "(99, 0)")
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql)
        return
    import asyncpg

    conn = await asyncpg.connect(url)
    await conn.execute(sql)
    await conn.close()


async def test_many_stores_opening_one_new_sqlite_file_at_once_all_succeed(
    tmp_path: Path,
) -> None:
    # Eight connections switching a new file to WAL together: SQLite may refuse one of them
    # with "database is locked" without waiting. Before the store retried the switch itself,
    # this test failed on every one of three runs here.
    for round_ in range(40):
        path = tmp_path / f"race{round_}.db"
        stores = [SQLiteStore(path) for _ in range(8)]
        created = await asyncio.gather(*(s.create(f"s{i}") for i, s in enumerate(stores)))
        for s in stores:
            await s.close()
        assert created == [True] * 8
