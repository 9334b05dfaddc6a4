"""client.map / map_async: input forms, order, per-item errors, bounded concurrency, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from swarmlet import Agent, Response, Swarm
from swarmlet.exceptions import ModelError, RunError, UsageError
from swarmlet.fanout import MapProgress
from swarmlet.models.base import AssistantMessage, MessageDelta, Model, ModelRequest
from swarmlet.testing import Reply, ScriptedModel


def _last_user(request: ModelRequest) -> str:
    return str([m for m in request.messages if m["role"] == "user"][-1]["content"])


def echo_model(delay_of: dict[str, float] | None = None) -> ScriptedModel:
    """Answers 'echo: <last user message>', after a per-message delay; 'boom' fails."""

    def respond(request: ModelRequest) -> Any:
        text = _last_user(request)
        if text == "boom":
            return ModelError("scripted failure for 'boom'", status_code=500)
        return Reply(content=f"echo: {text}", delay=(delay_of or {}).get(text, 0.0))

    return ScriptedModel(responder=respond)


class GatedModel(Model):
    """A model that records how many calls are in flight and waits on a gate before answering."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.started = 0
        self.cancelled = 0
        self.gate = asyncio.Event()

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        self.started += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.gate.wait()
            await asyncio.sleep(0)
            return AssistantMessage(content=f"done: {_last_user(request)}")
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        raise NotImplementedError


def test_results_come_back_in_input_order_whatever_the_finishing_order() -> None:
    # The first inputs are the slowest, so they finish last.
    delays = {"a": 0.08, "b": 0.04, "c": 0.0, "d": 0.0}
    results = Swarm(client=echo_model(delays)).map(Agent(), ["a", "b", "c", "d"], concurrency=4)
    assert [r.output for r in results if isinstance(r, Response)] == [
        "echo: a",
        "echo: b",
        "echo: c",
        "echo: d",
    ]


def test_a_failing_input_gives_its_run_error_and_the_others_their_responses() -> None:
    results = Swarm(client=echo_model()).map(Agent(name="E"), ["x", "boom", "y"])
    assert isinstance(results[0], Response) and results[0].output == "echo: x"
    assert isinstance(results[1], ModelError) and results[1].status_code == 500
    assert results[1].agent_name == "E"
    assert isinstance(results[2], Response) and results[2].output == "echo: y"


def test_every_input_form_and_context_overlay() -> None:
    seen: list[dict[str, Any]] = []

    def instructions(context: dict[str, Any]) -> str:
        seen.append(dict(context))
        return f"You serve {context['customer']}."

    inputs: list[Any] = [
        "text",
        [{"role": "user", "content": "list"}],
        {"messages": "dict text", "context_variables": {"customer": "Bo"}},
        {"messages": [{"role": "user", "content": "dict list"}]},
    ]
    results = Swarm(client=echo_model()).map(
        Agent(instructions=instructions), inputs, context_variables={"customer": "Al"}
    )
    assert [r.output for r in results if isinstance(r, Response)] == [
        "echo: text",
        "echo: list",
        "echo: dict text",
        "echo: dict list",
    ]
    assert sorted(c["customer"] for c in seen) == ["Al", "Al", "Al", "Bo"]
    third = results[2]
    assert isinstance(third, Response) and third.context_variables == {"customer": "Bo"}


@pytest.mark.parametrize("bad", [42, [{"content": "no role"}], {"context_variables": {}}])
def test_a_malformed_input_raises_usage_error_before_any_run(bad: Any) -> None:
    model = echo_model()
    with pytest.raises(UsageError):
        Swarm(client=model).map(Agent(), ["fine", bad])
    assert model.requests == []


def test_an_exception_that_is_not_a_run_error_is_wrapped_per_item() -> None:
    def instructions(context: dict[str, Any]) -> str:
        return {"ok": "fine"}[context["key"]]  # KeyError for the second input

    inputs = [{"messages": "a", "context_variables": {"key": "ok"}}, {"messages": "b"}]
    results = Swarm(client=echo_model()).map(Agent(instructions=instructions), inputs)
    assert isinstance(results[0], Response)
    assert isinstance(results[1], RunError)
    assert isinstance(results[1].__cause__, KeyError)
    assert "KeyError" in str(results[1])


async def test_concurrency_is_bounded_and_progress_is_reported() -> None:
    model = GatedModel()
    reports: list[MapProgress] = []
    client = Swarm(client=model)
    task = asyncio.ensure_future(
        client.map_async(
            Agent(), [str(i) for i in range(20)], concurrency=5, progress=reports.append
        )
    )
    while model.started < 5:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.02)
    assert model.in_flight == 5  # no sixth run started while five wait
    model.gate.set()
    results = await task
    assert model.peak == 5
    assert len(results) == 20
    assert sorted(r.index for r in reports) == list(range(20))
    assert [r.done for r in reports] == list(range(1, 21))
    assert all(r.total == 20 for r in reports)


async def test_an_async_progress_callback_is_awaited() -> None:
    seen: list[int] = []

    async def progress(update: MapProgress) -> None:
        await asyncio.sleep(0)
        seen.append(update.index)

    await Swarm(client=echo_model()).map_async(Agent(), ["a", "b"], progress=progress)
    assert sorted(seen) == [0, 1]


async def test_cancelling_map_cancels_every_run_and_leaves_none_running() -> None:
    model = GatedModel()
    task = asyncio.ensure_future(
        Swarm(client=model).map_async(Agent(), [str(i) for i in range(50)], concurrency=8)
    )
    while model.started < 8:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert model.cancelled == 8
    assert model.in_flight == 0
    await asyncio.sleep(0.02)
    assert model.started == 8  # nothing new started after the cancellation


async def test_a_raising_progress_callback_stops_everything() -> None:
    model = GatedModel()
    model.gate.set()

    def progress(update: MapProgress) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await Swarm(client=model).map_async(Agent(), ["a"] * 10, concurrency=2, progress=progress)
    await asyncio.sleep(0.01)
    assert model.in_flight == 0
    assert model.started <= 3


def test_empty_inputs_and_bad_concurrency() -> None:
    client = Swarm(client=echo_model())
    assert client.map(Agent(), []) == []
    with pytest.raises(UsageError, match="concurrency"):
        client.map(Agent(), ["a"], concurrency=0)
