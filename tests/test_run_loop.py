"""The run loop's structure: tool-emitted events, event paths, crash propagation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from swarmlet import Agent, Response, Swarm
from swarmlet.events import (
    Event,
    RunCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    with_origin,
)
from swarmlet.running import current_call
from swarmlet.testing import ScriptedModel, tool_call

USER = [{"role": "user", "content": "hi"}]


async def _collect(client: Swarm, agent: Agent) -> list[Event]:
    return [event async for event in client.stream(agent, USER)]


async def narrate() -> str:
    """A coroutine tool that reports progress into the run's stream."""
    running = current_call()
    assert running is not None
    running.emit(TextDelta(running.agent, "working..."))
    await asyncio.sleep(0)
    return "done"


def narrate_in_thread() -> str:
    """A sync tool (runs in a worker thread) that reports progress."""
    running = current_call()
    assert running is not None and threading.current_thread() is not threading.main_thread()
    running.emit(TextDelta(running.agent, "from a thread"))
    return "done"


@pytest.mark.parametrize("tool", [narrate, narrate_in_thread])
async def test_a_tool_can_emit_events_into_the_run_stream(tool: object) -> None:
    model = ScriptedModel([tool_call(tool.__name__, id="call_x"), "ok"])  # type: ignore[attr-defined]
    agent = Agent(name="Worker", model=model, functions=[tool])  # type: ignore[list-item]
    events = await _collect(Swarm(), agent)
    emitted = [e for e in events if e.path]
    assert len(emitted) == 1 and isinstance(emitted[0], TextDelta)
    assert emitted[0].path == ("call_x",) and emitted[0].agent is agent
    kinds = [type(e) for e in events]
    started = kinds.index(ToolCallStarted)
    finished = kinds.index(ToolCallFinished)
    assert started < events.index(emitted[0]) < finished


def test_current_call_is_none_outside_tools() -> None:
    assert current_call() is None


async def test_parallel_calls_each_see_their_own_call() -> None:
    seen: list[tuple[str, str]] = []

    async def whoami(tag: str) -> str:
        await asyncio.sleep(0.01)
        running = current_call()
        assert running is not None
        seen.append((tag, running.call.id))
        return tag

    calls = [tool_call("whoami", {"tag": "a"}, id="ca"), tool_call("whoami", {"tag": "b"}, id="cb")]
    model = ScriptedModel([calls, "ok"])
    await Swarm().run_async(Agent(model=model, functions=[whoami]), USER)
    assert sorted(seen) == [("a", "ca"), ("b", "cb")]


async def sub_run_noise() -> str:
    """Emits what a sub-run would: text and its own RunCompleted."""
    running = current_call()
    assert running is not None
    running.emit(TextDelta(running.agent, "SUB-RUN TEXT"))
    running.emit(RunCompleted(Response(messages=[{"role": "assistant", "content": "sub"}])))
    return "sub answer"


def test_sub_run_events_do_not_leak_into_run_or_swarm_stream() -> None:
    def fresh() -> Agent:
        model = ScriptedModel([tool_call("sub_run_noise"), "final"])
        return Agent(name="Lead", model=model, functions=[sub_run_noise])

    response = Swarm().run(fresh(), USER)
    assert response.messages[-1]["content"] == "final"
    chunks = list(Swarm().run(fresh(), USER, stream=True))
    texts = "".join(c.get("content") or "" for c in chunks if "content" in c)
    assert "SUB-RUN" not in texts and "final" in texts
    finals = [c["response"] for c in chunks if "response" in c]
    assert len(finals) == 1 and finals[0].messages[-1]["content"] == "final"


def test_with_origin_prefixes_the_path() -> None:
    event = with_origin(TextDelta(Agent(), "x", path=("inner",)), "outer")
    assert event.path == ("outer", "inner") and event.text == "x"


class _Abort(BaseException):
    """Not an Exception: tools' errors are reported to the model, this must escape."""


async def test_a_base_exception_in_a_tool_escapes_instead_of_hanging() -> None:
    def explode() -> str:
        raise _Abort("stop")

    model = ScriptedModel([tool_call("explode"), "never"])
    with pytest.raises(_Abort):
        await asyncio.wait_for(Swarm().run_async(Agent(model=model, functions=[explode]), USER), 5)


async def test_max_turns_stops_before_the_next_model_call() -> None:
    def ping() -> str:
        return "pong"

    model = ScriptedModel([tool_call("ping"), tool_call("ping"), "unused"])
    response = await Swarm().run_async(Agent(model=model, functions=[ping]), USER, max_turns=2)
    assert [m["role"] for m in response.messages] == ["assistant", "tool", "assistant", "tool"]
    assert model.remaining == 1
