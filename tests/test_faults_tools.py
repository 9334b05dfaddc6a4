"""Fault injection in tools: raising, hanging and unencodable tools become tool messages.

A tool failure never stops a run: the model receives a tool message saying what went wrong and
the run continues with its next turn. See docs/failures.md.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from swarmlet import Agent, Response, Swarm, tool
from swarmlet.events import RunCompleted, ToolCallFinished
from swarmlet.testing import ScriptedModel, tool_call

USER = [{"role": "user", "content": "go"}]


async def run(agent: Agent, model: ScriptedModel, stream: bool = False) -> Response:
    swarm = Swarm(client=model)
    if not stream:
        return await swarm.run_async(agent, USER)
    async for event in swarm.stream(agent, USER):
        if isinstance(event, RunCompleted):
            return event.response
    raise AssertionError("no RunCompleted")


def tool_results(response: Response) -> list[str]:
    return [m["content"] for m in response.messages if m["role"] == "tool"]


def told_to_model(model: ScriptedModel) -> list[str]:
    """The tool messages the model received on its last turn."""
    return [m["content"] for m in model.requests[-1].messages if m["role"] == "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_raising_tool_becomes_a_tool_message_and_the_run_continues(stream: bool) -> None:
    def charge(amount: int) -> str:
        raise ValueError(f"card declined for {amount}")

    model = ScriptedModel([tool_call("charge", {"amount": 5}), "Your card was declined."])
    response = await run(Agent(name="Billing", functions=[charge]), model, stream)
    assert tool_results(response) == ["Error: ValueError: card declined for 5"]
    assert told_to_model(model) == ["Error: ValueError: card declined for 5"]
    assert response.messages[-1]["content"] == "Your card was declined."
    model.assert_all_consumed()


async def test_tool_finished_event_carries_the_error() -> None:
    async def broken() -> str:
        raise KeyError("missing")

    model = ScriptedModel([tool_call("broken"), "ok"])
    events = [e async for e in Swarm(client=model).stream(Agent(functions=[broken]), USER)]
    (finished,) = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.error == "KeyError: 'missing'"
    assert finished.content == "Error: KeyError: 'missing'"


async def test_one_failing_call_does_not_spoil_its_parallel_siblings() -> None:
    def divide(a: int, b: int) -> float:
        return a / b

    calls = [tool_call("divide", {"a": 1, "b": 0}), tool_call("divide", {"a": 6, "b": 3})]
    model = ScriptedModel([calls, "done"])
    response = await run(Agent(functions=[divide]), model)
    assert tool_results(response) == ["Error: ZeroDivisionError: division by zero", "2.0"]
    ids = [c["id"] for c in response.messages[0]["tool_calls"]]
    assert [m["tool_call_id"] for m in response.messages[1:3]] == ids


# --------------------------------------------------------------------------- timeouts


async def test_hung_async_tool_times_out_is_cancelled_and_the_model_is_told() -> None:
    cancelled = asyncio.Event()

    async def fetch_report() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    model = ScriptedModel([tool_call("fetch_report"), "The report service is down."])
    started = time.monotonic()
    response = await run(Agent(functions=[fetch_report], tool_timeout=0.2), model)
    assert time.monotonic() - started < 5  # the run did not wait for the 30 s tool
    assert cancelled.is_set()  # nothing lingers: the coroutine was cancelled
    assert tool_results(response) == ["Error: fetch_report did not finish within 0.2 s."]
    assert told_to_model(model) == tool_results(response)
    assert response.messages[-1]["content"] == "The report service is down."


async def test_per_tool_timeout_overrides_the_agent_setting() -> None:
    @tool(timeout=0.1)
    async def slow() -> str:
        await asyncio.sleep(30)
        return "never"

    async def quick() -> str:
        await asyncio.sleep(0.3)  # longer than slow's own timeout, within the agent's
        return "quick done"

    model = ScriptedModel([[tool_call("slow"), tool_call("quick")], "ok"])
    agent = Agent(functions=[slow, quick], tool_timeout=5)
    response = await run(agent, model, stream=True)
    assert tool_results(response) == ["Error: slow did not finish within 0.1 s.", "quick done"]


async def test_hung_sync_tool_times_out_but_its_thread_keeps_running() -> None:
    release = threading.Event()
    finished = threading.Event()

    def read_device() -> str:
        release.wait(10)  # a blocking call Python cannot interrupt
        finished.set()
        return "late"

    model = ScriptedModel([tool_call("read_device"), "The device is not answering."])
    started = time.monotonic()
    try:
        response = await run(Agent(functions=[read_device], tool_timeout=0.2), model)
        assert time.monotonic() - started < 5
        assert tool_results(response) == ["Error: read_device did not finish within 0.2 s."]
        assert response.messages[-1]["content"] == "The device is not answering."
        # Documented: the worker thread cannot be killed and is still inside the tool.
        assert not finished.is_set()
    finally:
        release.set()
    assert await asyncio.to_thread(finished.wait, 5)


# --------------------------------------------------------------------------- unencodable results


class Opaque:
    """No JSON form and no __str__ of its own."""


class Shown:
    def __str__(self) -> str:
        return "Shown(42)"


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Opaque(), "Error: the tool returned a Opaque, which cannot be encoded as JSON"),
        ({"when": Opaque()}, "Error: the tool returned a dict, which cannot be encoded"),
        (_circular(), "Error: the tool returned a dict, which cannot be encoded"),
        (_deep(100_000), "Error: the tool returned a list nested too deeply"),
        (Shown(), "Shown(42)"),
        (b"\xff\xfe raw", "b'\\xff\\xfe raw'"),
        ({"n": float("nan")}, '{"n": NaN}'),
    ],
    ids=["opaque", "opaque-in-dict", "circular", "deep", "own-str", "bytes", "nan"],
)
async def test_results_json_cannot_encode(value: Any, expected: str) -> None:
    def produce() -> Any:
        return value

    model = ScriptedModel([tool_call("produce"), "ok"])
    response = await run(Agent(functions=[produce]), model)
    (content,) = tool_results(response)
    assert content.startswith(expected)
    assert response.messages[-1]["content"] == "ok"  # the run went on


async def test_integral_float_beyond_int64_for_an_int_is_a_clear_tool_error() -> None:
    # JSON Schema's "integer" admits 1e20, but no Python int conversion of a float that large
    # is exact; the model is told instead of the tool getting a rounded number.
    def count(n: int) -> int:
        return n

    model = ScriptedModel([tool_call("count", {"n": 1e20}), "done"])
    response = await run(Agent(functions=[count]), model)
    [result] = tool_results(response)
    assert result.startswith("Error: Invalid arguments for count:")
    assert "exceeded maximum size" in result
