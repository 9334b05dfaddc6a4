"""The SessionStore contract, run against every backend: in memory, a SQLite file, and a real
PostgreSQL server (started by the ``postgres_server`` fixture)."""

from __future__ import annotations

import asyncio
import json

import pytest

from swarmlet.exceptions import UsageError
from swarmlet.sessions import (
    LeaseLost,
    Session,
    SessionBusy,
    SessionStore,
)

pytestmark = pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])

USER = {"role": "user", "content": "Hi ✓ — « »"}
ASSISTANT = {
    "role": "assistant",
    "content": None,
    "sender": "Triage",
    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
}
TOOL = {"role": "tool", "tool_call_id": "c1", "tool_name": "f", "content": '{"n": [1, 2.5]}'}


@pytest.fixture
def store(session_store: SessionStore) -> SessionStore:
    """The backend under test (``session_store`` in conftest.py)."""
    return session_store


async def test_unknown_session_loads_as_none_and_empty(store: SessionStore) -> None:
    assert await store.load("nope") is None
    state = await Session(store, "nope").load()
    assert (state.messages, state.status, state.agent_name, state.context_variables) == (
        [],
        "idle",
        None,
        {},
    )


async def test_round_trip_of_messages_agent_context_and_status(store: SessionStore) -> None:
    token = await store.acquire("s1", "me:1:a", 30)
    assert (await store.load("s1")).status == "running"  # type: ignore[union-attr]
    await store.append("s1", token, [USER])
    await store.append("s1", token, [ASSISTANT, TOOL])
    await store.save("s1", token, agent_name="Sales", context_variables={"user": "Ann", "n": 2})
    await store.release("s1", token, "idle")
    state = await store.load("s1")
    assert state is not None
    assert state.messages == [USER, ASSISTANT, TOOL]
    assert (state.agent_name, state.context_variables, state.status) == (
        "Sales",
        {"user": "Ann", "n": 2},
        "idle",
    )
    assert state.run_state is None
    assert 0 < state.created_at <= state.updated_at


async def test_a_held_session_is_busy_and_names_its_holder(store: SessionStore) -> None:
    token = await store.acquire("s1", "host:1:first", 30)
    with pytest.raises(SessionBusy) as busy:
        await store.acquire("s1", "host:2:second", 30)
    assert busy.value.owner == "host:1:first"
    assert busy.value.session_id == "s1"
    await store.release("s1", token, "idle")
    assert await store.acquire("s1", "host:2:second", 30) > token  # the token is a version


async def test_truncate_keeps_the_first_messages_and_appends_go_on_after_them(
    store: SessionStore,
) -> None:
    token = await store.acquire("s1", "me:1:a", 30)
    await store.append("s1", token, [USER, ASSISTANT, TOOL])
    await store.truncate("s1", token, 1)
    await store.append("s1", token, [TOOL])
    state = await store.load("s1")
    assert state.messages == [USER, TOOL]  # type: ignore[union-attr]
    assert state.info().message_count == 2  # type: ignore[union-attr]
    assert [i.message_count for i in await store.list_sessions()] == [2]
    await store.truncate("s1", token, 5)  # beyond the end: nothing changes
    assert len((await store.load("s1")).messages) == 2  # type: ignore[union-attr]
    await store.release("s1", token, "idle")
    with pytest.raises(LeaseLost):
        await store.truncate("s1", token, 0)


async def test_writes_after_release_are_refused(store: SessionStore) -> None:
    token = await store.acquire("s1", "me:1:a", 30)
    await store.release("s1", token, "idle")
    for write in (
        store.append("s1", token, [USER]),
        store.save("s1", token, agent_name="A", context_variables={}),
        store.renew("s1", token, 30),
        store.release("s1", token, "idle"),
    ):
        with pytest.raises(LeaseLost):
            await write
    assert (await store.load("s1")).messages == []  # type: ignore[union-attr]


async def test_an_expired_lease_is_taken_over_and_the_old_holder_fenced_off(
    store: SessionStore,
) -> None:
    old = await store.acquire("s1", "me:1:old", 0.05)
    await store.append("s1", old, [USER])
    await asyncio.sleep(0.15)
    assert (await store.load("s1")).status == "interrupted"  # type: ignore[union-attr]
    new = await store.acquire("s1", "me:1:new", 30)
    with pytest.raises(LeaseLost):
        await store.append("s1", old, [ASSISTANT])
    await store.append("s1", new, [TOOL])
    assert (await store.load("s1")).messages == [USER, TOOL]  # type: ignore[union-attr]


async def test_steal_from_takes_a_live_lease_only_from_the_named_owner(store: SessionStore) -> None:
    await store.acquire("s1", "host:99:dead", 30)
    with pytest.raises(SessionBusy):
        await store.acquire("s1", "host:2:b", 30, steal_from="host:98:other")
    token = await store.acquire("s1", "host:2:b", 30, steal_from="host:99:dead")
    await store.append("s1", token, [USER])


async def test_paused_run_state_round_trips_and_is_consumed_by_the_next_save(
    store: SessionStore,
) -> None:
    run_state = json.dumps({"$schemaVersion": "1", "pending": [{"call_id": "c1"}]})
    token = await store.acquire("s1", "me:1:a", 30)
    await store.release("s1", token, "paused", run_state)
    state = await store.load("s1")
    assert (state.status, state.run_state) == ("paused", run_state)  # type: ignore[union-attr]
    token = await store.acquire("s1", "me:1:b", 30)
    assert (await store.load("s1")).run_state == run_state  # type: ignore[union-attr]
    await store.save("s1", token, agent_name="A", context_variables={})  # a resume consumes it
    assert (await store.load("s1")).run_state is None  # type: ignore[union-attr]
    await store.release("s1", token, "idle")
    state = await store.load("s1")
    assert (state.status, state.run_state) == ("idle", None)  # type: ignore[union-attr]


async def test_list_newest_first_with_counts_and_paging(store: SessionStore) -> None:
    for sid, count in (("a", 1), ("b", 3), ("c", 0)):
        token = await store.acquire(sid, "me:1:x", 30)
        await store.append(sid, token, [USER] * count)
        await store.release(sid, token, "idle")
        await asyncio.sleep(0.01)  # distinct updated_at
    listed = await store.list_sessions()
    assert [(i.session_id, i.message_count, i.status) for i in listed] == [
        ("c", 0, "idle"),
        ("b", 3, "idle"),
        ("a", 1, "idle"),
    ]
    assert [i.session_id for i in await store.list_sessions(limit=1, offset=1)] == ["b"]
    assert [i.title for i in listed] == [None, USER["content"], USER["content"]]


async def test_the_title_is_the_first_user_message_with_text(store: SessionStore) -> None:
    token = await store.acquire("s1", "me:1:x", 30)
    parts = {"role": "user", "content": [{"type": "text", "text": "an image"}]}
    await store.append("s1", token, [ASSISTANT, parts, {"role": "user", "content": "2nd"}, USER])
    [info] = await store.list_sessions()
    assert (info.title, info.message_count) == ("2nd", 4)
    assert info == (await store.load("s1")).info()  # type: ignore[union-attr]


async def test_create_is_idempotent_and_makes_an_idle_empty_session(store: SessionStore) -> None:
    assert await store.create("s1") is True
    assert await store.create("s1") is False
    listed = await store.list_sessions()
    assert [(i.session_id, i.status, i.message_count) for i in listed] == [("s1", "idle", 0)]


async def test_delete_removes_the_session_and_fences_its_holder(store: SessionStore) -> None:
    token = await store.acquire("s1", "me:1:a", 30)
    await store.append("s1", token, [USER, ASSISTANT])
    assert await store.delete("s1") is True
    assert await store.delete("s1") is False
    assert await store.load("s1") is None
    with pytest.raises(LeaseLost):
        await store.append("s1", token, [TOOL])
    token = await store.acquire("s1", "me:1:b", 30)  # the id can be used again, from empty
    await store.append("s1", token, [TOOL])
    assert (await store.load("s1")).messages == [TOOL]  # type: ignore[union-attr]


async def test_unstorable_values_raise_usage_error_and_store_nothing(store: SessionStore) -> None:
    token = await store.acquire("s1", "me:1:a", 30)
    with pytest.raises(UsageError, match="message 1"):
        await store.append("s1", token, [USER, {"role": "user", "content": object()}])
    with pytest.raises(UsageError, match="context_variables"):
        await store.save("s1", token, agent_name="A", context_variables={"x": float("nan")})
    state = await store.load("s1")
    assert (state.messages, state.context_variables) == ([], {})  # type: ignore[union-attr]


async def test_many_sessions_written_concurrently_keep_their_own_messages(
    store: SessionStore,
) -> None:
    async def conversation(n: int) -> None:
        token = await store.acquire(f"s{n}", f"me:1:{n}", 30)
        for i in range(5):
            await store.append(f"s{n}", token, [{"role": "user", "content": f"{n}-{i}"}])
        await store.release(f"s{n}", token, "idle")

    await asyncio.gather(*(conversation(n) for n in range(20)))
    for n in range(20):
        state = await store.load(f"s{n}")
        assert [m["content"] for m in state.messages] == [  # type: ignore[union-attr]
            f"{n}-{i}" for i in range(5)
        ]


async def test_hold_raise_policy_raises_session_busy_at_once(store: SessionStore) -> None:
    first = Session(store, "s1")
    second = Session(store, "s1", on_busy="raise")
    async with first.hold():
        with pytest.raises(SessionBusy, match="in use"):
            async with second.hold():
                pass


async def test_hold_wait_policy_waits_for_the_holder_then_runs(store: SessionStore) -> None:
    order: list[str] = []

    async def run(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with Session(store, "s1").hold() as lease:
            order.append(f"{name} start")
            await lease.append([{"role": "user", "content": name}])
            await asyncio.sleep(0.1)
            await lease.append([{"role": "assistant", "content": name}])
            order.append(f"{name} end")

    await asyncio.gather(run("a", 0), run("b", 0.02))
    assert order == ["a start", "a end", "b start", "b end"]
    contents = [m["content"] for m in (await store.load("s1")).messages]  # type: ignore[union-attr]
    assert contents == ["a", "a", "b", "b"]


async def test_hold_wait_timeout_raises_session_busy(store: SessionStore) -> None:
    async with Session(store, "s1").hold():
        with pytest.raises(SessionBusy, match=r"still in use after 0\.1s"):
            async with Session(store, "s1", wait_timeout=0.1).hold():
                pass


async def test_hold_releases_with_the_status_of_how_the_block_ended(store: SessionStore) -> None:
    session = Session(store, "s1")
    async with session.hold():
        pass
    assert (await session.load()).status == "idle"
    with pytest.raises(ZeroDivisionError):
        async with session.hold():
            raise ZeroDivisionError
    assert (await session.load()).status == "error"

    async def held_forever() -> None:
        async with session.hold():
            await asyncio.sleep(60)

    task = asyncio.create_task(held_forever())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await session.load()).status == "interrupted"
    async with session.hold() as lease:
        await lease.release("paused", '{"v": 1}')
    assert (await session.load()).status == "paused"


async def test_a_held_lease_is_renewed_past_its_ttl(store: SessionStore) -> None:
    async with Session(store, "s1", lease_ttl=0.3).hold() as lease:
        await asyncio.sleep(0.7)  # more than twice the TTL
        with pytest.raises(SessionBusy):
            await store.acquire("s1", "other:1:x", 30)
        await lease.append([USER])
    assert (await store.load("s1")).messages == [USER]  # type: ignore[union-attr]
