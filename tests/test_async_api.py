"""The async API: run_async, typed event streams, async tools in sync and async runs."""

from __future__ import annotations

import asyncio

import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import (
    AgentStarted,
    Handoff,
    MessageCompleted,
    RunCompleted,
    RunStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from swarmlet.exceptions import ModelError, ScriptExhaustedError
from swarmlet.testing import ScriptedModel, tool_call

USER = [{"role": "user", "content": "hi"}]


async def fetch_price(item: str) -> str:
    """An async tool."""
    await asyncio.sleep(0)
    return f"{item}: 3 EUR"


def make_agents(model: ScriptedModel) -> tuple[Agent, Agent]:
    shop = Agent(name="Shop", model=model, functions=[fetch_price])

    def transfer_to_shop() -> Agent:
        return shop

    return Agent(name="Triage", model=model, functions=[transfer_to_shop]), shop


async def test_run_async_returns_the_response() -> None:
    model = ScriptedModel(
        [tool_call("transfer_to_shop"), tool_call("fetch_price", {"item": "tea"}), "3 EUR"]
    )
    triage, shop = make_agents(model)
    response = await Swarm().run_async(triage, USER)
    assert response.agent is shop
    assert [m["role"] for m in response.messages] == [
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert response.messages[3]["content"] == "tea: 3 EUR"
    model.assert_all_consumed()


def test_async_tools_work_in_sync_runs() -> None:
    model = ScriptedModel([tool_call("fetch_price", {"item": "milk"}), "ok"])
    response = Swarm().run(Agent(model=model, functions=[fetch_price]), USER)
    assert response.messages[1]["content"] == "milk: 3 EUR"


async def test_stream_yields_typed_events_in_order() -> None:
    model = ScriptedModel([tool_call("transfer_to_shop"), "Hello from the shop"], chunk_size=5)
    triage, shop = make_agents(model)
    events = [e async for e in Swarm().stream(triage, USER)]
    kinds = [type(e) for e in events]
    assert kinds[:3] == [RunStarted, AgentStarted, TurnStarted] and kinds[-1] is RunCompleted
    assert ToolCallDelta in kinds
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    handoff = next(e for e in events if isinstance(e, Handoff))
    assert kinds.index(ToolCallStarted) < kinds.index(ToolCallFinished) < kinds.index(Handoff)
    assert (started.name, finished.error) == ("transfer_to_shop", None)
    assert (handoff.from_agent, handoff.to_agent) == (triage, shop)
    text = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(e.text for e in text) == "Hello from the shop" and len(text) == 4
    assert all(e.agent is shop for e in text)
    completed = [e for e in events if isinstance(e, MessageCompleted)]
    assert completed[-1].message["content"] == "Hello from the shop"
    assert [e.turn for e in events if isinstance(e, TurnStarted)] == [1, 2]


async def test_model_failure_names_agent_and_turn_and_keeps_messages() -> None:
    model = ScriptedModel([tool_call("transfer_to_shop"), RuntimeError("endpoint down")])
    triage, _ = make_agents(model)
    with pytest.raises(ModelError) as caught:
        await Swarm().run_async(triage, USER)
    error = caught.value
    assert "agent 'Shop', turn 2" in str(error) and "endpoint down" in str(error)
    assert (error.agent_name, error.turn) == ("Shop", 2)
    assert error.response is not None
    assert [m["role"] for m in error.response.messages] == ["assistant", "tool"]
    assert error.response.agent is not None and error.response.agent.name == "Shop"


async def test_exhausted_script_is_a_run_error_with_context() -> None:
    model = ScriptedModel([])
    with pytest.raises(ScriptExhaustedError, match=r"agent 'Agent', turn 1: .*no reply left"):
        await Swarm().run_async(Agent(model=model), USER)


async def test_stream_can_be_abandoned_early() -> None:
    model = ScriptedModel(["a long answer " * 10])
    stream = Swarm().stream(Agent(model=model), USER)
    first = await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    assert isinstance(first, RunStarted)
    assert model.requests == []  # closed before the model was called


def test_debug_flag_turns_on_debug_logging_for_the_run(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.WARNING)  # the root stays quiet; only the run's flag may enable DEBUG
    caplog.handler.setLevel(logging.DEBUG)  # ...and the capture handler sees whatever gets through
    model = ScriptedModel(["quiet", "loud"])
    Swarm(client=model).run(Agent(), USER)
    assert not [r for r in caplog.records if r.levelno == logging.DEBUG]
    Swarm(client=model).run(Agent(), USER, debug=True)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("turn 1: calling model for agent 'Agent'" in m for m in messages)
    assert logging.getLogger("swarmlet").level == logging.NOTSET  # restored afterwards


def test_agent_strict_and_model_settings_reach_the_request() -> None:
    def lookup(order_id: str, verbose: bool = False) -> str:
        """Find an order."""
        return order_id

    model = ScriptedModel(["ok"])
    agent = Agent(functions=[lookup], strict=True, model_settings={"temperature": 0.1})
    Swarm(client=model).run(agent, USER, model_override="small-model")
    request = model.requests[0]
    function = request.tools[0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["additionalProperties"] is False
    assert function["parameters"]["required"] == ["order_id", "verbose"]
    assert request.settings == {"temperature": 0.1} and request.model == "small-model"


def test_sync_api_inside_an_async_tool_is_a_clear_error_not_a_deadlock() -> None:
    from swarmlet.exceptions import UsageError

    swarm = Swarm(client=ScriptedModel([tool_call("nested"), "after"]))

    async def nested() -> str:
        with pytest.raises(UsageError, match="run_async"):
            swarm.run(Agent(), USER)  # would block the loop it runs on
        return "refused"

    response = swarm.run(Agent(functions=[nested]), USER)
    assert response.messages[1]["content"] == "refused"


async def test_model_errors_keep_their_underlying_cause() -> None:
    import openai

    from swarmlet.testing.server import ScriptedReply, ScriptedServer

    with ScriptedServer([ScriptedReply(status=500)]) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        with pytest.raises(ModelError) as caught:
            await Swarm(client=client).run_async(Agent(model="scripted"), USER)
    assert isinstance(caught.value.__cause__, openai.InternalServerError)
