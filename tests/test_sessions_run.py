"""``session=`` on the run entry points, against every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from swarmlet import Agent, Result, Swarm
from swarmlet.events import RunCompleted, TextDelta
from swarmlet.exceptions import (
    InputGuardrailTripped,
    ModelError,
    OutputGuardrailTripped,
    UsageError,
)
from swarmlet.guardrails import GuardrailInput
from swarmlet.sessions import (
    Session,
    SessionBusy,
    SessionStore,
)
from swarmlet.sessions.persist import UNANSWERED
from swarmlet.testing import ScriptedModel, reply, tool_call

pytestmark = pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])

MakeSession = Callable[..., Session]


@pytest.fixture
def store(session_store: SessionStore) -> SessionStore:
    """The backend under test (``session_store`` in conftest.py)."""
    return session_store


def agents() -> tuple[Agent, Agent]:
    """Triage hands off to Sales; Sales' tool counts in the context variables."""
    sales = Agent(name="Sales", instructions="Sell.")

    def add_item(context_variables: dict[str, Any], item: str) -> Result:
        """Add an item to the cart."""
        cart = [*context_variables.get("cart", []), item]
        return Result(value=f"cart: {cart}", context_variables={"cart": cart})

    sales.functions = [add_item]

    def transfer_to_sales() -> Agent:
        """Hand off to sales."""
        return sales

    triage = Agent(name="Triage", instructions="Route.", functions=[transfer_to_sales])
    return triage, sales


async def test_a_conversation_continues_across_runs(store: SessionStore) -> None:
    triage, _ = agents()
    model = ScriptedModel(
        [
            tool_call("transfer_to_sales", id="h1"),
            tool_call("add_item", {"item": "tea"}, id="a1"),
            reply("Added tea."),
            reply("Anything else?"),
        ]
    )
    client = Swarm(client=model)
    first = await client.run_async(
        triage, "I want tea", {"user": "ann"}, session=Session(store, "c1")
    )
    assert first.agent is not None and first.agent.name == "Sales"
    assert [m["role"] for m in first.messages] == [
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]

    # The second run starts with the stored agent, history and context; only new input given.
    second = await client.run_async(triage, "thanks", session=Session(store, "c1"))
    assert model.requests[-1].agent_name == "Sales"
    sent = [m.get("content") for m in model.requests[-1].messages if m["role"] == "user"]
    assert sent == ["I want tea", "thanks"]
    assert second.context_variables == {"user": "ann", "cart": ["tea"]}
    assert [m["content"] for m in second.messages] == ["Anything else?"]

    stored = await Session(store, "c1").load()
    assert stored.messages == [
        {"role": "user", "content": "I want tea"},
        *first.messages,
        {"role": "user", "content": "thanks"},
        *second.messages,
    ]
    assert (stored.agent_name, stored.context_variables, stored.status) == (
        "Sales",
        {"user": "ann", "cart": ["tea"]},
        "idle",
    )


async def test_stream_and_sync_run_persist_too(store: SessionStore) -> None:
    triage, _ = agents()
    client = Swarm(client=ScriptedModel(["Hello there", "Bye"]))
    session = Session(store, "c2")
    texts = []
    async for event in client.stream(triage, "hi", session=session):
        if isinstance(event, TextDelta):
            texts.append(event.text)
        last = event
    assert isinstance(last, RunCompleted) and "".join(texts) == "Hello there"
    # The sync entry point runs on swarmlet's background loop; the store works there too.
    response = await asyncio.to_thread(client.run, triage, "bye", session=session)
    assert response.messages[-1]["content"] == "Bye"
    stored = await session.load()
    assert [m["content"] for m in stored.messages] == ["hi", "Hello there", "bye", "Bye"]


async def test_a_failing_model_leaves_the_completed_messages_and_status_error(
    store: SessionStore,
) -> None:
    triage, _ = agents()
    model = ScriptedModel([tool_call("transfer_to_sales", id="h1"), RuntimeError("endpoint down")])
    session = Session(store, "c3")
    with pytest.raises(ModelError):
        await Swarm(client=model).run_async(triage, "hi", session=session)
    stored = await session.load()
    assert [m["role"] for m in stored.messages] == ["user", "assistant", "tool"]
    assert (stored.status, stored.agent_name) == ("error", "Sales")
    model.add("Recovered")
    again = await Swarm(client=model).run_async(triage, "retry", session=session)
    assert again.messages[-1]["content"] == "Recovered"
    assert (await session.load()).status == "idle"


async def test_unanswered_calls_of_a_crashed_run_are_answered_before_going_on(
    store: SessionStore,
) -> None:
    triage, _ = agents()
    lease_session = Session(store, "c4")
    async with lease_session.hold() as lease:  # what a run killed mid tool phase leaves
        await lease.append(
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": None,
                    "sender": "Triage",
                    "tool_calls": [
                        {
                            "id": "x1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
            ]
        )
    model = ScriptedModel(["ok"])
    await Swarm(client=model).run_async(triage, "again", session=lease_session)
    stored = await lease_session.load()
    assert stored.messages[2] == {
        "role": "tool",
        "tool_call_id": "x1",
        "tool_name": "f",
        "content": UNANSWERED,
    }
    assert [m["role"] for m in model.requests[0].messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
    ]


async def test_busy_policy_raise_and_wait(store: SessionStore) -> None:
    triage, _ = agents()
    model = ScriptedModel([reply("slow", delay=0.3), reply("second")])
    client = Swarm(client=model)
    first = asyncio.create_task(client.run_async(triage, "a", session=Session(store, "c5")))
    await asyncio.sleep(0.1)
    with pytest.raises(SessionBusy):
        await client.run_async(triage, "b", session=Session(store, "c5", on_busy="raise"))
    second = await client.run_async(triage, "b", session=Session(store, "c5"))
    await first
    assert second.messages[-1]["content"] == "second"
    stored = await Session(store, "c5").load()
    assert [m["content"] for m in stored.messages] == ["a", "slow", "b", "second"]


async def test_a_paused_session_refuses_a_plain_run(store: SessionStore) -> None:
    triage, _ = agents()
    session = Session(store, "c6")
    async with session.hold() as lease:
        await lease.release("paused", '{"$schemaVersion": "1"}')
    with pytest.raises(UsageError, match="paused waiting for approval"):
        await Swarm(client=ScriptedModel(["x"])).run_async(triage, "hi", session=session)
    stored = await session.load()
    assert (stored.status, stored.run_state, stored.messages) == (
        "paused",
        '{"$schemaVersion": "1"}',
        [],
    )


async def test_an_unreachable_stored_agent_is_a_clear_error(store: SessionStore) -> None:
    session = Session(store, "c7")
    async with session.hold() as lease:
        await lease.save(agent_name="Ghost", context_variables={})
    with pytest.raises(UsageError, match="last with agent 'Ghost'"):
        await Swarm(client=ScriptedModel(["x"])).run_async(
            Agent(name="Triage"), "hi", session=session
        )


async def test_session_must_be_a_session(store: SessionStore) -> None:
    with pytest.raises(UsageError, match="session must be a swarmlet Session"):
        await Swarm(client=ScriptedModel(["x"])).run_async(
            Agent(),
            "hi",
            session="c8",  # type: ignore[arg-type]
        )


async def test_a_consumer_that_stops_early_leaves_the_session_interrupted(
    store: SessionStore,
) -> None:
    triage, _ = agents()
    session = Session(store, "c9")
    events = Swarm(client=ScriptedModel(["a long answer"])).stream(triage, "hi", session=session)
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()
    stored = await session.load()
    assert (stored.status, stored.messages) == ("interrupted", [{"role": "user", "content": "hi"}])
    # ... and is free for the next run at once.
    await Swarm(client=ScriptedModel(["ok"])).run_async(
        triage, "again", session=Session(store, "c9", on_busy="raise")
    )


async def test_an_input_guardrail_trip_withdraws_the_rejected_input(store: SessionStore) -> None:
    def no_digits(data: GuardrailInput) -> bool:
        return any(c.isdigit() for c in data.text)

    agent = Agent(name="Guarded", input_guardrails=[no_digits])
    session = Session(store, "g1")
    await Swarm(client=ScriptedModel(["hello"])).run_async(agent, "hi", {"k": 1}, session=session)
    with pytest.raises(InputGuardrailTripped):
        await Swarm(client=ScriptedModel(["never"])).run_async(
            agent, "card 4111 1111", {"k": 2}, session=session
        )
    stored = await session.load()
    assert [m["content"] for m in stored.messages] == ["hi", "hello"]
    assert (stored.context_variables, stored.status) == ({"k": 1}, "error")


async def test_an_output_guardrail_trip_withdraws_the_withheld_answer(store: SessionStore) -> None:
    def no_secrets(data: GuardrailInput) -> bool:
        return "secret" in data.text

    agent = Agent(name="Guarded", output_guardrails=[no_secrets])
    session = Session(store, "g2")
    with pytest.raises(OutputGuardrailTripped):
        await Swarm(client=ScriptedModel(["the secret is 42"])).run_async(
            agent, "tell me", session=session
        )
    stored = await session.load()
    assert (stored.messages, stored.status) == ([{"role": "user", "content": "tell me"}], "error")


async def test_sync_runs_from_many_threads_on_one_session_stay_whole(store: SessionStore) -> None:
    agent = Agent(name="Echo")

    def run(n: int) -> None:
        model = ScriptedModel([reply(f"answer {n}", delay=0.01)])
        Swarm(client=model).run(agent, f"question {n}", session=Session(store, "threads"))

    await asyncio.gather(*(asyncio.to_thread(run, n) for n in range(8)))
    stored = await Session(store, "threads").load()
    pairs = [stored.messages[i : i + 2] for i in range(0, len(stored.messages), 2)]
    assert len(pairs) == 8
    for question, answer in pairs:
        assert answer["content"] == question["content"].replace("question", "answer")


async def test_messages_added_without_an_event_are_stored_too(store: SessionStore) -> None:
    """A structured-output retry prompt enters the history with no event of its own."""

    class Order(BaseModel):
        id: str

    agent = Agent(name="Typed", output_type=Order)
    session = Session(store, "typed")
    model = ScriptedModel(["not json", '{"id": "A1"}'])
    response = await Swarm(client=model).run_async(agent, "order?", session=session)
    assert response.output == Order(id="A1")
    stored = await session.load()
    assert stored.messages == [{"role": "user", "content": "order?"}, *response.messages]
    assert [m["role"] for m in stored.messages] == ["user", "assistant", "user", "assistant"]
