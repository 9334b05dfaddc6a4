"""History filters: what an agent's model sees, while the run's history stays whole."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.exceptions import UsageError
from swarmlet.history import last_turns, without_tool_traffic
from swarmlet.testing import ScriptedModel, tool_call

CONVERSATION = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": "second question"},
    {"role": "assistant", "content": "second answer"},
    {"role": "user", "content": "third question"},
]


def _sent(model: ScriptedModel, index: int = -1) -> list[tuple[str, Any]]:
    """(role, content or tool call names/ids) of the messages a request sent, system prompt off."""
    return [
        (m["role"], m.get("content") or [c["function"]["name"] for c in m.get("tool_calls", [])])
        for m in model.requests[index].messages[1:]
    ]


def test_last_turns_keeps_the_last_user_turns_and_system_messages() -> None:
    model = ScriptedModel(["third answer"])
    agent = Agent(model=model, history_filter=last_turns(2))
    response = Swarm().run(agent, CONVERSATION)
    assert _sent(model) == [
        ("system", "be brief"),
        ("user", "second question"),
        ("assistant", "second answer"),
        ("user", "third question"),
    ]
    assert (
        response.messages
        == [{"role": "assistant", "content": "third answer", "tool_calls": None, "sender": "Agent"}]
        or response.messages[-1]["content"] == "third answer"
    )


def test_the_runs_history_is_unchanged() -> None:
    model = ScriptedModel([tool_call("ping"), "done"])

    def ping() -> str:
        return "pong"

    agent = Agent(model=model, functions=[ping], history_filter=last_turns(1))
    messages = [dict(m) for m in CONVERSATION]
    response = Swarm().run(agent, messages)
    assert messages == CONVERSATION  # the caller's list is untouched
    assert [m["role"] for m in response.messages] == ["assistant", "tool", "assistant"]
    # the second call still sees the current turn's tool traffic
    assert _sent(model) == [
        ("system", "be brief"),
        ("user", "third question"),
        ("assistant", ["ping"]),
        ("tool", "pong"),
    ]


def test_without_tool_traffic_hides_earlier_agents_calls_only() -> None:
    model = ScriptedModel()

    def lookup() -> str:
        return "in stock"

    shop = Agent(
        name="Shop", model=model, functions=[lookup], history_filter=without_tool_traffic()
    )

    def to_shop() -> Agent:
        return shop

    triage = Agent(name="Triage", model=model, functions=[to_shop])
    model.add(
        [tool_call("to_shop")],
        tool_call("lookup"),
        "It is in stock.",
    )
    response = Swarm().run(triage, [{"role": "user", "content": "do you have tea?"}])
    assert _sent(model, 1) == [("user", "do you have tea?")]  # triage's routing is hidden
    assert _sent(model, 2) == [
        ("user", "do you have tea?"),
        ("assistant", ["lookup"]),
        ("tool", "in stock"),
    ]
    assert [m.get("sender") for m in response.messages if m["role"] == "assistant"] == [
        "Triage",
        "Shop",
        "Shop",
    ]


def test_a_user_function_can_summarise_and_filters_compose() -> None:
    async def summarise(messages: list[dict[str, Any]], agent: Agent) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        older, recent = messages[:-1], messages[-1:]
        summary = f"Summary for {agent.name}: {len(older)} earlier messages."
        return [{"role": "system", "content": summary}, *recent]

    def shout(messages: list[dict[str, Any]], agent: Agent) -> list[dict[str, Any]]:
        for message in messages:  # editing the view is fine: the run's history is a copy
            if message["role"] == "user":
                message["content"] = message["content"].upper()
        return messages

    model = ScriptedModel(["ok"])
    agent = Agent(name="Sum", model=model, history_filter=[summarise, shout])
    response = Swarm().run(agent, CONVERSATION)
    assert _sent(model) == [
        ("system", "Summary for Sum: 5 earlier messages."),
        ("user", "THIRD QUESTION"),
    ]
    assert response.messages[-1]["content"] == "ok"


def test_filtered_history_stays_protocol_clean() -> None:
    def drop_calls(messages: list[dict[str, Any]], agent: Agent) -> list[dict[str, Any]]:
        return [m for m in messages if not (m["role"] == "assistant" and m.get("tool_calls"))]

    model = ScriptedModel([tool_call("ping", id="p1"), "done"])

    def ping() -> str:
        return "pong"

    agent = Agent(model=model, functions=[ping], history_filter=drop_calls)
    Swarm().run(agent, [{"role": "user", "content": "hi"}])
    assert _sent(model) == [("user", "hi")]  # the orphaned tool result went too


def test_a_filter_must_return_a_list() -> None:
    agent = Agent(model=ScriptedModel(["never"]), history_filter=lambda m, a: None)
    with pytest.raises(UsageError, match="not a list"):
        Swarm().run(agent, CONVERSATION)


def test_last_turns_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        last_turns(0)
