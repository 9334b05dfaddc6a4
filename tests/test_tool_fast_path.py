"""A single quick sync tool call runs at once, without a task of its own (toolphase._call_here).

The path is taken for one call per turn whose sync tool runs on the loop's thread anyway (the
sync API's "caller" policy, or a tool "auto" has promoted), in a top-level run, without tool
guardrails. What a task gave the call must still hold there: the call is current inside the
tool, the tool's own context changes stay with the call, events it emits come before its
result, errors become tool errors, and a sync tool returning an awaitable is awaited.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import TextDelta, ToolCallFinished
from swarmlet.running import current_call
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.toolphase import _call_here

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


def _run(agent: Agent, turns: int) -> Any:
    """The sync API (caller policy: every sync tool runs on the loop's thread)."""
    return Swarm(client=agent.model).run(agent, "go", max_turns=turns + 1)


def _agent(tool: Any, turns: int) -> Agent:
    calls = [tool_call(tool.__name__, {"n": i}, id=f"call_{i}") for i in range(turns)]
    return Agent(name="A", functions=[tool], model=ScriptedModel([*calls, "done"]))


def test_the_fast_path_is_taken_for_a_quick_call(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []

    async def spy(*args: Any) -> Any:
        taken.append(args[1].id)
        return await _call_here(*args)

    monkeypatch.setattr("swarmlet.toolphase._call_here", spy)

    def look(n: int) -> str:
        """Look."""
        return f"seen {n}"

    response = _run(_agent(look, 2), 2)
    assert taken == ["call_0", "call_1"]
    assert [m["content"] for m in response.messages if m["role"] == "tool"] == ["seen 0", "seen 1"]


def test_the_call_is_current_and_its_context_changes_stay_with_it() -> None:
    seen: list[tuple[str | None, str]] = []

    def look(n: int) -> str:
        """Look."""
        running = current_call()
        seen.append((running.call.id if running else None, MARK.get()))
        MARK.set(f"set by call {n}")
        return "ok"

    _run(_agent(look, 2), 2)
    assert seen == [("call_0", "unset"), ("call_1", "unset")]
    assert MARK.get() == "unset"


def test_events_the_tool_emits_come_before_its_result() -> None:
    agent_ref: list[Agent] = []

    def shout(n: int) -> str:
        """Shout."""
        running = current_call()
        assert running is not None
        running.emit(TextDelta(agent_ref[0], f"progress {n}"))
        return "shouted"

    agent = _agent(shout, 1)
    agent_ref.append(agent)

    async def collect() -> list[Any]:
        client = Swarm(client=agent.model)
        return [e async for e in client.events(agent, "go", sync_tools="caller")]

    events = asyncio.run(collect())
    kinds = [
        (type(e).__name__, e.path) for e in events if isinstance(e, TextDelta | ToolCallFinished)
    ]
    assert kinds[:2] == [("TextDelta", ("call_0",)), ("ToolCallFinished", ())]


def test_a_raising_tool_becomes_a_tool_error() -> None:
    def fail(n: int) -> str:
        """Fail."""
        raise ValueError(f"bad {n}")

    response = _run(_agent(fail, 1), 1)
    tool_messages = [m["content"] for m in response.messages if m["role"] == "tool"]
    assert tool_messages == ["Error: ValueError: bad 0"]


def test_a_sync_tool_returning_an_awaitable_is_awaited() -> None:
    seen: list[str | None] = []

    async def later(n: int) -> str:
        running = current_call()
        seen.append(running.call.id if running else None)
        await asyncio.sleep(0)
        return f"later {n}"

    def defer(n: int) -> Any:
        """Defer."""
        return later(n)

    response = _run(_agent(defer, 1), 1)
    assert [m["content"] for m in response.messages if m["role"] == "tool"] == ["later 0"]
    # On 3.11+ the awaitable runs in the call's context; 3.10's create_task takes none.
    assert seen == (["call_0"] if sys.version_info >= (3, 11) else [None])
