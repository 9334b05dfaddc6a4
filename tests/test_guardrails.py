"""Guardrails: input, output and tool, passing and tripping, in sync, async and streamed runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from swarmlet import Agent, Swarm, tool
from swarmlet.events import (
    Event,
    GuardrailChecked,
    MessageCompleted,
    RunFailed,
    TextDelta,
    ToolCallFinished,
)
from swarmlet.exceptions import (
    GuardrailError,
    InputGuardrailTripped,
    OutputGuardrailTripped,
    ToolGuardrailTripped,
)
from swarmlet.guardrails import Guardrail, GuardrailInput, GuardrailResult, ToolCallInput
from swarmlet.testing import Reply, ScriptedModel, structured, tool_call

USER = [{"role": "user", "content": "my card is 4111 1111 1111 1111"}]
CLEAN = [{"role": "user", "content": "hello"}]


def no_card_numbers(data: GuardrailInput) -> GuardrailResult:
    digits = sum(c.isdigit() for c in data.text)
    return GuardrailResult(tripped=digits >= 12, info={"digits": digits})


async def no_card_numbers_async(data: GuardrailInput) -> bool:
    await asyncio.sleep(0)
    return sum(c.isdigit() for c in data.text) >= 12


Mode = Callable[[Swarm, Agent, list[dict[str, Any]]], Any]


def run_sync(client: Swarm, agent: Agent, messages: list[dict[str, Any]], **kw: Any) -> Any:
    return client.run(agent, messages, **kw)


def run_async(client: Swarm, agent: Agent, messages: list[dict[str, Any]], **kw: Any) -> Any:
    return asyncio.run(client.run_async(agent, messages, **kw))


def run_streamed(client: Swarm, agent: Agent, messages: list[dict[str, Any]], **kw: Any) -> Any:
    async def drain() -> list[Event]:
        return [e async for e in client.stream(agent, messages, **kw)]

    return asyncio.run(drain())


MODES = [run_sync, run_async, run_streamed]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("guard", [no_card_numbers, no_card_numbers_async])
def test_input_guardrail_trips_before_the_model_is_called(mode: Mode, guard: Any) -> None:
    model = ScriptedModel(["never sent"])
    agent = Agent(model=model, input_guardrails=[guard])
    with pytest.raises(InputGuardrailTripped) as caught:
        mode(Swarm(), agent, USER)
    assert model.requests == []
    assert caught.value.guardrail == guard.__name__
    assert caught.value.result.tripped
    assert caught.value.response is not None and caught.value.response.messages == []


@pytest.mark.parametrize("mode", MODES)
def test_input_guardrail_passes(mode: Mode) -> None:
    model = ScriptedModel(["hi there"])
    agent = Agent(model=model, input_guardrails=[no_card_numbers_async])
    mode(Swarm(), agent, CLEAN)
    assert len(model.requests) == 1


async def test_streamed_trip_yields_no_text_and_reports_the_verdict() -> None:
    model = ScriptedModel(["never sent"])
    agent = Agent(model=model)
    seen: list[Event] = []
    with pytest.raises(InputGuardrailTripped):
        async for event in Swarm().stream(agent, USER, input_guardrails=[no_card_numbers]):
            seen.append(event)
    assert not any(isinstance(e, (TextDelta, MessageCompleted)) for e in seen)
    verdicts = [e for e in seen if isinstance(e, GuardrailChecked)]
    assert [(v.kind, v.name, v.result.info) for v in verdicts] == [
        ("input", "no_card_numbers", {"digits": 16})
    ]
    assert isinstance(seen[-1], RunFailed)
    assert isinstance(seen[-1].error, InputGuardrailTripped)


async def test_parallel_input_guardrail_trip_cancels_the_streaming_turn() -> None:
    async def slow_guard(data: GuardrailInput) -> bool:
        await asyncio.sleep(0.05)
        return True

    model = ScriptedModel([Reply(content="streamed answer", delay=30)])
    agent = Agent(model=model, input_guardrails=[Guardrail(slow_guard, parallel=True)])
    seen: list[Event] = []
    with pytest.raises(InputGuardrailTripped):
        async for event in Swarm().stream(agent, CLEAN):
            seen.append(event)
    assert len(model.requests) == 1  # the model call had started
    assert not any(isinstance(e, MessageCompleted) for e in seen)  # ...and was cancelled


async def test_parallel_input_guardrail_that_passes_lets_the_answer_through() -> None:
    async def slow_pass(data: GuardrailInput) -> bool:
        await asyncio.sleep(0.01)
        return False

    model = ScriptedModel(["all good"])
    agent = Agent(model=model, input_guardrails=[Guardrail(slow_pass, name="p", parallel=True)])
    events = [e async for e in Swarm().stream(agent, CLEAN)]
    assert any(isinstance(e, GuardrailChecked) and e.name == "p" for e in events)
    assert events[-1].response.messages[-1]["content"] == "all good"  # type: ignore[union-attr]


def polite(data: GuardrailInput) -> GuardrailResult:
    return GuardrailResult(tripped="stupid" in data.text, info="rude")


@pytest.mark.parametrize("mode", MODES)
def test_output_guardrail_trips_on_the_answer(mode: Mode) -> None:
    model = ScriptedModel(["that is a stupid question"])
    agent = Agent(model=model, output_guardrails=[polite])
    with pytest.raises(OutputGuardrailTripped) as caught:
        mode(Swarm(), agent, CLEAN)
    assert caught.value.result.info == "rude"
    response = caught.value.response
    assert response is not None and response.messages[-1]["content"].startswith("that is")


@pytest.mark.parametrize("mode", MODES)
def test_output_guardrail_passes(mode: Mode) -> None:
    model = ScriptedModel(["a fine question"])
    agent = Agent(model=model)
    mode(Swarm(), agent, CLEAN, output_guardrails=[polite])
    assert len(model.requests) == 1


def test_output_guardrail_of_the_answering_agent_applies_after_a_handoff() -> None:
    model = ScriptedModel([tool_call("to_strict"), "stupid"])
    strict = Agent(name="Strict", model=model, output_guardrails=[polite])
    triage = Agent(name="Triage", model=model, functions=[lambda: strict])
    triage.functions[0].__name__ = "to_strict"
    with pytest.raises(OutputGuardrailTripped):
        Swarm().run(triage, CLEAN)


def test_an_agent_can_be_a_guardrail() -> None:
    judge_model = ScriptedModel([json.dumps({"tripped": True, "reason": "card number"})])
    judge = Agent(name="Judge", model=judge_model)
    model = ScriptedModel(["never"])
    with pytest.raises(InputGuardrailTripped) as caught:
        Swarm().run(Agent(model=model), USER, input_guardrails=[judge])
    assert caught.value.guardrail == "Judge"
    assert caught.value.result.info == {"tripped": True, "reason": "card number"}
    assert judge_model.requests[0].messages[-1]["content"] == USER[0]["content"]
    assert model.requests == []


def test_a_guardrail_agent_that_does_not_answer_a_verdict_fails_closed() -> None:
    judge = Agent(name="Judge", model=ScriptedModel(["I think it is fine"]))
    model = ScriptedModel(["never"])
    with pytest.raises(GuardrailError, match="Judge"):
        Swarm().run(Agent(model=model), USER, input_guardrails=[judge])
    assert model.requests == []


def test_a_raising_guardrail_stops_the_run() -> None:
    def broken(data: GuardrailInput) -> bool:
        raise ConnectionError("moderation service down")

    model = ScriptedModel(["never"])
    with pytest.raises(GuardrailError, match="moderation service down") as caught:
        Swarm().run(Agent(model=model, input_guardrails=[broken]), CLEAN)
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert model.requests == []


def test_a_guardrail_returning_nonsense_fails_closed() -> None:
    model = ScriptedModel(["never"])
    with pytest.raises(GuardrailError, match="GuardrailResult or a bool"):
        Swarm().run(Agent(model=model, input_guardrails=[lambda d: "yes"]), CLEAN)


# ---------------------------------------------------------------- tool guardrails

calls_made: list[str] = []


def under_limit(data: ToolCallInput) -> GuardrailResult | None:
    if data.arguments.get("amount", 0) > 100:
        return GuardrailResult.replace("Refused: transfers above 100 need a manager.")
    return GuardrailResult(tripped=False)


def no_fraud(data: ToolCallInput) -> bool:
    return data.arguments.get("to") == "fraudster"


def redact(data: ToolCallInput) -> GuardrailResult:
    if data.result and "secret" in data.result:
        return GuardrailResult.replace("[redacted]")
    return GuardrailResult(tripped=False)


@tool(before=[under_limit, no_fraud], after=redact)
def transfer(amount: int, to: str) -> str:
    calls_made.append(f"{amount}->{to}")
    return f"sent {amount} to {to}; secret ref 42" if to == "bob" else f"sent {amount} to {to}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls_made.clear()


def _transfer_run(mode: Mode, *calls: Any) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel([list(calls), "done"])
    agent = Agent(model=model, functions=[transfer])
    return mode(Swarm(), agent, CLEAN), model


@pytest.mark.parametrize("mode", MODES)
def test_before_guardrail_replaces_the_result_and_the_tool_does_not_run(mode: Mode) -> None:
    _, model = _transfer_run(mode, tool_call("transfer", {"amount": 500, "to": "ann"}))
    assert calls_made == []
    tool_msg = model.requests[1].messages[-1]
    assert tool_msg["role"] == "tool" and "need a manager" in tool_msg["content"]


@pytest.mark.parametrize("mode", MODES)
def test_after_guardrail_replaces_the_result(mode: Mode) -> None:
    _, model = _transfer_run(mode, tool_call("transfer", {"amount": 5, "to": "bob"}))
    assert calls_made == ["5->bob"]
    assert model.requests[1].messages[-1]["content"] == "[redacted]"


@pytest.mark.parametrize("mode", MODES)
def test_tool_guardrail_can_stop_the_run(mode: Mode) -> None:
    with pytest.raises(ToolGuardrailTripped) as caught:
        _transfer_run(
            mode,
            tool_call("transfer", {"amount": 5, "to": "fraudster"}, id="c_bad"),
        )
    assert calls_made == []
    assert caught.value.guardrail == "no_fraud" and "c_bad" in str(caught.value)
    response = caught.value.response
    assert response is not None and [m["role"] for m in response.messages] == ["assistant"]


def test_tool_guardrails_see_the_passing_calls_in_events() -> None:
    async def go() -> list[Event]:
        model = ScriptedModel([tool_call("transfer", {"amount": 5, "to": "ann"}), "done"])
        agent = Agent(model=model, functions=[transfer])
        return [e async for e in Swarm().stream(agent, CLEAN)]

    events = asyncio.run(go())
    kinds = [(e.kind, e.name) for e in events if isinstance(e, GuardrailChecked)]
    assert kinds == [
        ("tool_before", "under_limit"),
        ("tool_before", "no_fraud"),
        ("tool_after", "redact"),
    ]
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert finished.content == "sent 5 to ann"


# ---------------------------------------------------------------- with structured output


class Verdict(BaseModel):
    tripped: bool
    reason: str


class Quote(BaseModel):
    price: int


def test_output_guardrails_see_the_validated_structured_output() -> None:
    seen: list[Any] = []

    def cheap_enough(data: GuardrailInput) -> bool:
        seen.append((data.output, data.text))
        return data.output.price > 100

    model = ScriptedModel([structured(Quote(price=500))])
    agent = Agent(model=model, output_type=Quote, output_guardrails=[cheap_enough])
    with pytest.raises(OutputGuardrailTripped):
        Swarm().run(agent, CLEAN)
    assert seen == [(Quote(price=500), '{"price": 500}')]


def test_a_guardrail_agent_with_an_output_type() -> None:
    judge_model = ScriptedModel([structured(Verdict(tripped=False, reason="fine"))])
    judge = Agent(name="Judge", model=judge_model, output_type=Verdict)
    model = ScriptedModel(["hello back"])
    response = Swarm().run(Agent(model=model), CLEAN, input_guardrails=[judge])
    assert response.messages[-1]["content"] == "hello back"
    assert judge_model.requests[0].response_format is not None
