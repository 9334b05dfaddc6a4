"""Lifecycle hooks: order, per-agent hooks, async hooks, and the exception policy."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import Event, RunCompleted, RunFailed
from swarmlet.exceptions import HookError, ModelError
from swarmlet.hooks import RunHooks
from swarmlet.loop import RunSpec, run_events
from swarmlet.running import current_call
from swarmlet.testing import ScriptedModel, tool_call

USER = [{"role": "user", "content": "hi"}]


class Recorder(RunHooks):
    """Records every hook call as (method, agent name, path)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    def _record(self, method: str, agent: Agent | None, event: Any) -> None:
        self.calls.append((method, agent.name if agent else "-", event.path))

    def on_run_start(self, event: Any) -> None:
        self._record("run_start", event.agent, event)

    def on_run_end(self, event: Any) -> None:
        agent = event.response.agent if isinstance(event, RunCompleted) else event.agent
        self._record("run_end", agent, event)

    def on_agent_start(self, event: Any) -> None:
        self._record("agent_start", event.agent, event)

    async def on_model_request(self, event: Any) -> None:  # async hooks are awaited
        await asyncio.sleep(0)
        self._record("model_request", event.agent, event)

    def on_model_response(self, event: Any) -> None:
        self._record("model_response", event.agent, event)

    def on_tool_start(self, event: Any) -> None:
        self._record(f"tool_start:{event.name}", event.agent, event)

    def on_tool_end(self, event: Any) -> None:
        self._record(f"tool_end:{event.name}", event.agent, event)

    def on_handoff(self, event: Any) -> None:
        self._record(f"handoff:{event.from_agent.name}", event.to_agent, event)


def _agents() -> tuple[Agent, ScriptedModel, ScriptedModel]:
    """Triage -> (handoff) Desk; Desk calls two tools in parallel, one of them an agent-tool."""
    model = ScriptedModel()
    sub_model = ScriptedModel(["42"])
    researcher = Agent(name="Researcher", model=sub_model)

    async def research(question: str) -> str:
        """Runs Researcher as a sub-run and forwards its events (what an agent-tool does)."""
        running = current_call()
        assert running is not None
        spec = RunSpec(agent=researcher, messages=[{"role": "user", "content": question}])
        answer = ""
        async for event in run_events(spec, lambda agent: sub_model):
            running.emit(event)
            if isinstance(event, RunCompleted):
                answer = event.response.messages[-1]["content"]
        return answer

    def clock() -> str:
        return "noon"

    desk = Agent(name="Desk", model=model, functions=[research, clock])

    def to_desk() -> Agent:
        return desk

    triage = Agent(name="Triage", model=model, functions=[to_desk])
    model.add(
        tool_call("to_desk"),
        [tool_call("research", {"question": "q"}, id="c_r"), tool_call("clock", id="c_c")],
        "it is noon and the answer is 42",
    )
    return triage, model, sub_model


EXPECTED_HEAD = [
    ("run_start", "Triage", ()),
    ("agent_start", "Triage", ()),
    ("model_request", "Triage", ()),
    ("model_response", "Triage", ()),
    ("tool_start:to_desk", "Triage", ()),
    ("tool_end:to_desk", "Triage", ()),
    ("handoff:Triage", "Desk", ()),
    ("agent_start", "Desk", ()),
    ("model_request", "Desk", ()),
    ("model_response", "Desk", ()),
    ("tool_start:research", "Desk", ()),
    ("tool_start:clock", "Desk", ()),
]
SUB_RUN = [
    ("run_start", "Researcher", ("c_r",)),
    ("agent_start", "Researcher", ("c_r",)),
    ("model_request", "Researcher", ("c_r",)),
    ("model_response", "Researcher", ("c_r",)),
    ("run_end", "Researcher", ("c_r",)),
]
EXPECTED_TAIL = [
    ("model_request", "Desk", ()),
    ("model_response", "Desk", ()),
    ("run_end", "Desk", ()),
]


@pytest.mark.parametrize("stream", [False, True])
async def test_hook_order_with_handoff_parallel_tools_and_an_agent_tool(stream: bool) -> None:
    triage, _, _ = _agents()
    hooks = Recorder()
    events = Swarm().events(triage, USER, stream=stream, hooks=hooks)
    async for _ in events:
        pass
    calls = hooks.calls
    assert calls[: len(EXPECTED_HEAD)] == EXPECTED_HEAD
    assert calls[-len(EXPECTED_TAIL) :] == EXPECTED_TAIL
    middle = calls[len(EXPECTED_HEAD) : -len(EXPECTED_TAIL)]
    # The parallel calls finish in any order; the sub-run's hooks come in its own order,
    # all before the agent-tool's own tool_end.
    assert [c for c in middle if c[2]] == SUB_RUN
    own = [c for c in middle if not c[2]]
    assert sorted(own) == [("tool_end:clock", "Desk", ()), ("tool_end:research", "Desk", ())]
    assert middle.index(("tool_end:research", "Desk", ())) > middle.index(SUB_RUN[-1])


def test_agent_hooks_see_only_their_agents_events() -> None:
    triage, _, _ = _agents()
    desk_hooks = Recorder()
    desk = triage.functions[0]()
    desk.hooks = desk_hooks
    Swarm().run(triage, USER)
    assert {agent for _, agent, _ in desk_hooks.calls} == {"Desk"}
    assert desk_hooks.calls[0] == ("handoff:Triage", "Desk", ())
    assert desk_hooks.calls[-1] == ("run_end", "Desk", ())


def test_run_and_agent_hooks_are_both_called_and_once_when_the_same() -> None:
    hooks = Recorder()
    model = ScriptedModel(["hello"])
    agent = Agent(name="Solo", model=model, hooks=hooks)
    Swarm().run(agent, USER, hooks=hooks)
    assert [c[0] for c in hooks.calls] == [
        "run_start",
        "agent_start",
        "model_request",
        "model_response",
        "run_end",
    ]


class Exploding(RunHooks):
    def on_tool_start(self, event: Any) -> None:
        raise ValueError("audit log unavailable")


def test_a_raising_hook_stops_the_run_with_hook_error() -> None:
    ran: list[str] = []

    def action() -> str:
        ran.append("x")
        return "done"

    model = ScriptedModel([tool_call("action"), "never"])
    with pytest.raises(HookError, match=r"Exploding\.on_tool_start raised ValueError") as caught:
        Swarm().run(Agent(model=model, functions=[action]), USER, hooks=Exploding())
    assert isinstance(caught.value.__cause__, ValueError)
    assert ran == []  # the hook runs before the tool: a failed audit stops the call
    response = caught.value.response
    assert response is not None and response.messages[0]["tool_calls"][0]["function"]["name"] == (
        "action"
    )


class ExplodingAtEnd(RunHooks):
    def __init__(self) -> None:
        self.failures: list[RunFailed] = []

    def on_run_end(self, event: Any) -> None:
        if isinstance(event, RunFailed):
            self.failures.append(event)
        raise RuntimeError("hook broke too")


def test_a_hook_failing_on_a_failing_run_does_not_hide_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = ExplodingAtEnd()
    model = ScriptedModel([RuntimeError("endpoint down")])
    with (
        caplog.at_level(logging.ERROR, logger="swarmlet.run"),
        pytest.raises(ModelError, match="endpoint down"),
    ):
        Swarm().run(Agent(model=model), USER, hooks=hooks)
    assert len(hooks.failures) == 1 and isinstance(hooks.failures[0].error, ModelError)
    assert "a hook raised while the run was failing" in caplog.text


def test_hooks_and_stream_see_the_same_events() -> None:
    seen: list[Event] = []

    class Everything(RunHooks):
        def on_tool_end(self, event: Any) -> None:
            seen.append(event)

    async def go() -> list[Event]:
        model = ScriptedModel([tool_call("ping"), "ok"])

        def ping() -> str:
            return "pong"

        agent = Agent(model=model, functions=[ping])
        return [e async for e in Swarm().stream(agent, USER, hooks=Everything())]

    streamed = asyncio.run(go())
    assert len(seen) == 1 and any(e is seen[0] for e in streamed)  # the very same object


async def test_hook_order_with_agent_as_tool() -> None:
    """The same order with swarmlet's own Agent.as_tool (its sub-run reaches the run hooks)."""
    model = ScriptedModel()
    researcher = Agent(name="Researcher", model=model)

    def clock() -> str:
        return "noon"

    desk = Agent(name="Desk", model=model, functions=[researcher.as_tool(), clock])
    model.add(
        [tool_call("researcher", {"task": "q"}, id="c_r"), tool_call("clock", id="c_c")],
        "42",
        "it is noon and the answer is 42",
    )
    hooks = Recorder()
    async for _ in Swarm().events(desk, USER, hooks=hooks):
        pass
    sub = [c for c in hooks.calls if c[2]]
    assert sub == [
        ("run_start", "Researcher", ("c_r",)),
        ("agent_start", "Researcher", ("c_r",)),
        ("model_request", "Researcher", ("c_r",)),
        ("model_response", "Researcher", ("c_r",)),
        ("run_end", "Researcher", ("c_r",)),
    ]
    own = [c[0] for c in hooks.calls if not c[2]]
    head = ["run_start", "agent_start", "model_request", "model_response", "tool_start:researcher"]
    assert own[:5] == head
    assert hooks.calls.index(("tool_end:researcher", "Desk", ())) > hooks.calls.index(sub[-1])
    assert own[-3:] == ["model_request", "model_response", "run_end"]
