"""A run paused for approval on a session, and ``resume(state, session=...)``, on every backend.

The paused run's state is stored as JSON in the session; resuming takes the session's lease,
checks the session is still paused at that point, consumes the stored state before any
approved call runs, and stores the resumed run's messages. So a pause is resumed at most once,
by whichever process gets there first.
"""

from __future__ import annotations

import asyncio

import pytest

from swarmlet import Agent, Swarm, tool
from swarmlet.exceptions import RunStateError, UsageError
from swarmlet.sessions import Session, SessionStore
from swarmlet.sessions.persist import UNANSWERED, persisted_resume
from swarmlet.state import RunState
from swarmlet.testing import ScriptedModel, tool_call

pytestmark = pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])


@pytest.fixture
def store(session_store: SessionStore) -> SessionStore:
    """The backend under test (``session_store`` in conftest.py)."""
    return session_store


class Bank:
    """A bank agent whose transfers need approval; counts the transfers that ran."""

    def __init__(self) -> None:
        self.transfers: list[int] = []
        self.release = asyncio.Event()
        self.release.set()

        @tool(needs_approval=True)
        async def transfer(amount: int) -> str:
            """Move money."""
            self.transfers.append(amount)
            await self.release.wait()
            return f"sent {amount}"

        self.agent = Agent(name="Bank", functions=[transfer])


async def pause(store: SessionStore, bank: Bank, session_id: str = "b1") -> Session:
    """A run on a new session that pauses on a transfer of 5."""
    session = Session(store, session_id)
    model = ScriptedModel([tool_call("transfer", {"amount": 5}, id="t1")])
    paused = await Swarm(client=model).run_async(bank.agent, "send 5", session=session)
    assert [i.call_id for i in paused.interruptions] == ["t1"]
    return session


async def stored_state(session: Session, bank: Bank) -> RunState:
    text = (await session.load()).run_state
    assert text is not None
    return RunState.from_json(text, bank.agent)


async def test_pause_is_stored_and_resumed_from_the_session(store: SessionStore) -> None:
    bank = Bank()
    session = await pause(store, bank)
    stored = await session.load()
    assert stored.status == "paused"
    assert [m["role"] for m in stored.messages] == ["user", "assistant"]
    with pytest.raises(UsageError, match="paused waiting for approval"):
        await Swarm(client=ScriptedModel(["x"])).run_async(bank.agent, "hi", session=session)

    state = await stored_state(session, bank)
    state.approve("t1")
    client = Swarm(client=ScriptedModel(["Done: sent 5."]))
    response = await client.resume_async(state, session=session)
    assert response.messages[-1]["content"] == "Done: sent 5."
    assert bank.transfers == [5]
    stored = await session.load()
    assert (stored.status, stored.run_state) == ("idle", None)
    assert [(m["role"], m.get("content")) for m in stored.messages] == [
        ("user", "send 5"),
        ("assistant", None),
        ("tool", "sent 5"),
        ("assistant", "Done: sent 5."),
    ]


async def test_a_pause_is_resumed_once_however_many_try(store: SessionStore) -> None:
    bank = Bank()
    session = await pause(store, bank)
    states = [await stored_state(session, bank) for _ in range(3)]
    for state in states:
        state.approve("t1")

    async def resume(state: RunState) -> str:
        client = Swarm(client=ScriptedModel(["ok"]))
        try:
            await client.resume_async(state, session=Session(store, "b1"))
        except RunStateError as exc:
            return str(exc)
        return "resumed"

    outcomes = await asyncio.gather(*(resume(s) for s in states))
    assert outcomes.count("resumed") == 1
    assert sum("is not paused" in o for o in outcomes) == 2
    assert bank.transfers == [5]
    assert (await Session(store, "b1").load()).status == "idle"


async def test_a_resume_that_dies_mid_call_is_not_run_again(store: SessionStore) -> None:
    bank = Bank()
    session = await pause(store, bank)
    state = await stored_state(session, bank)
    state.approve("t1")
    bank.release.clear()  # the transfer starts, then hangs: the "process" dies there
    resuming = asyncio.create_task(
        Swarm(client=ScriptedModel(["never"])).resume_async(state, session=session)
    )
    while not bank.transfers:
        await asyncio.sleep(0.01)
    resuming.cancel()
    with pytest.raises(asyncio.CancelledError):
        await resuming
    assert (await session.load()).status == "interrupted"

    retry = await stored_state_or_none(session)
    assert retry is None  # the paused state was consumed before the call ran
    again = RunState.from_json(state.to_json(), bank.agent)  # an old copy of the JSON
    with pytest.raises(RunStateError, match="is not paused"):
        await Swarm(client=ScriptedModel(["x"])).resume_async(again, session=session)
    # A plain run goes on; the model is told the transfer may not have completed.
    await Swarm(client=ScriptedModel(["Sorry."])).run_async(bank.agent, "well?", session=session)
    stored = await session.load()
    assert [(m["role"], m.get("content")) for m in stored.messages[2:]] == [
        ("tool", UNANSWERED),
        ("user", "well?"),
        ("assistant", "Sorry."),
    ]
    assert bank.transfers == [5]


async def test_a_state_from_an_earlier_pause_is_refused(store: SessionStore) -> None:
    bank = Bank()
    session = await pause(store, bank)
    first = await stored_state(session, bank)
    old = RunState.from_json(first.to_json(), bank.agent)
    first.approve("t1")
    # The resumed run asks for a second transfer and pauses again.
    model = ScriptedModel([tool_call("transfer", {"amount": 7}, id="t2")])
    again = await Swarm(client=model).resume_async(first, session=session)
    assert [i.call_id for i in again.interruptions] == ["t2"]
    old.approve("t1")
    with pytest.raises(RunStateError, match="moved on"):
        await Swarm(client=ScriptedModel(["x"])).resume_async(old, session=session)
    assert bank.transfers == [5]
    assert (await session.load()).status == "paused"


async def stored_state_or_none(session: Session) -> str | None:
    return (await session.load()).run_state


async def test_persisted_resume_decides_under_the_lease_once(store: SessionStore) -> None:
    bank = Bank()
    session = await pause(store, bank)
    client = Swarm(client=ScriptedModel(["sent"]))
    paused_json = (await session.load()).run_state

    def bad(state: RunState) -> None:
        state.approve("no-such-call")

    with pytest.raises(RunStateError):
        async for _ in persisted_resume(session, bank.agent, bad, client.resume_stream):
            pass
    stored = await session.load()
    assert (stored.status, stored.run_state) == ("paused", paused_json)

    def approve(state: RunState) -> None:
        state.approve("t1")

    async for _ in persisted_resume(session, bank.agent, approve, client.resume_stream):
        pass
    with pytest.raises(RunStateError, match="no paused run"):
        async for _ in persisted_resume(session, bank.agent, approve, client.resume_stream):
            pass
    assert bank.transfers == [5]
    assert (await session.load()).status == "idle"
