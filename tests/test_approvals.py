"""Human approval: pausing on a call, RunState as JSON, approve/reject, resume (any process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from swarmlet import Agent, Swarm, tool
from swarmlet.events import (
    ApprovalRequested,
    Event,
    RunCompleted,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
)
from swarmlet.exceptions import RunStateError
from swarmlet.hooks import RunHooks
from swarmlet.loop import RunSpec, run_events
from swarmlet.running import ToolInterrupted, current_call
from swarmlet.state import Interruption, RunState
from swarmlet.testing import ScriptedModel, tool_call

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "run_state_v1.json"
USER = [{"role": "user", "content": "pay"}]
ran: list[str] = []


@pytest.fixture(autouse=True)
def _reset() -> None:
    ran.clear()


@tool(needs_approval=True)
def wire(amount: int) -> str:
    """Needs approval every time."""
    ran.append(f"wire {amount}")
    return f"wired {amount}"


@tool(needs_approval=lambda args: args["amount"] > 100)
def pay(amount: int) -> str:
    """Needs approval above 100."""
    ran.append(f"pay {amount}")
    return f"paid {amount}"


def lookup() -> str:
    ran.append("lookup")
    return "balance 1000"


def _bank(*replies: Any) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(list(replies))
    return Agent(name="Bank", model=model, functions=[wire, pay, lookup]), model


def _paused(agent: Agent) -> Any:
    response = Swarm().run(agent, USER)
    assert response.interruptions and response.state is not None
    return response


def test_a_call_needing_approval_pauses_the_run_and_the_others_of_its_turn_run() -> None:
    turn = [tool_call("wire", {"amount": 5}, id="c_wire"), tool_call("lookup", id="c_look")]
    agent, model = _bank(turn)
    response = _paused(agent)
    assert response.interruptions == [Interruption("c_wire", "wire", '{"amount": 5}', "Bank", ())]
    assert ran == ["lookup"]  # the other call ran; its result is held with the turn
    assert [m["role"] for m in response.messages] == ["assistant"]  # nothing of the turn applied
    assert response.state.pending.results["c_look"].content == "balance 1000"
    model.assert_all_consumed()


def test_approve_then_resume_runs_the_call_once_and_applies_the_turn_in_order() -> None:
    turn = [tool_call("wire", {"amount": 5}, id="c_wire"), tool_call("lookup", id="c_look")]
    agent, _model = _bank(turn, "done")
    state = _paused(agent).state
    state.approve("c_wire")
    response = Swarm().resume(state)
    assert ran == ["lookup", "wire 5"]
    assert [(m["role"], m.get("tool_call_id")) for m in response.messages] == [
        ("assistant", None),
        ("tool", "c_wire"),
        ("tool", "c_look"),
        ("assistant", None),
    ]
    assert response.interruptions == [] and response.state is None
    assert response.messages[-1]["content"] == "done"


def test_reject_tells_the_model_the_call_was_declined() -> None:
    agent, model = _bank(tool_call("wire", {"amount": 5}, id="c1"), "ok, I will not")
    state = _paused(agent).state
    state.reject("c1", message="Not today: the account is frozen.")
    response = Swarm().resume(state)
    assert ran == []
    seen_by_model = model.requests[1].messages[-1]
    assert seen_by_model == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "Not today: the account is frozen.",
    }
    assert response.messages[-1]["content"] == "ok, I will not"


def test_reject_without_a_message_uses_a_default() -> None:
    agent, model = _bank(tool_call("wire", {"amount": 5}, id="c1"), "fine")
    state = _paused(agent).state
    state.reject("c1")
    Swarm().resume(state)
    assert "declined" in model.requests[1].messages[-1]["content"]


def test_a_predicate_decides_per_call() -> None:
    turn = [
        tool_call("pay", {"amount": 50}, id="small"),
        tool_call("pay", {"amount": 500}, id="big"),
    ]
    agent, _ = _bank(turn)
    response = _paused(agent)
    assert [i.call_id for i in response.interruptions] == ["big"]
    assert ran == ["pay 50"]


def test_undecided_calls_keep_the_run_paused_and_never_run() -> None:
    turn = [tool_call("wire", {"amount": 1}, id="a"), tool_call("wire", {"amount": 2}, id="b")]
    agent, model = _bank(turn, "done")
    state = _paused(agent).state
    state.approve("a")
    response = Swarm().resume(state)
    assert ran == ["wire 1"]
    assert [i.call_id for i in response.interruptions] == ["b"]
    assert len(model.requests) == 1  # no model call while the turn is incomplete
    response.state.approve("b")
    final = Swarm().resume(response.state)
    assert ran == ["wire 1", "wire 2"] and final.messages[-1]["content"] == "done"


def test_approve_or_reject_of_a_call_that_is_not_pending_fails_closed() -> None:
    turn = [tool_call("wire", {"amount": 5}, id="c_wire"), tool_call("lookup", id="c_look")]
    agent, _ = _bank(turn)
    state = _paused(agent).state
    with pytest.raises(RunStateError, match="'c_look' is not waiting for approval"):
        state.approve("c_look")
    with pytest.raises(RunStateError, match="'nope' is not waiting"):
        state.reject("nope")


def test_a_state_is_resumed_once() -> None:
    agent, _ = _bank(tool_call("wire", {"amount": 5}, id="c1"), "done")
    state = _paused(agent).state
    state.approve("c1")
    Swarm().resume(state)
    with pytest.raises(RunStateError, match="already resumed"):
        Swarm().resume(state)
    assert ran == ["wire 5"]


def test_a_handoff_that_fired_before_the_pause_is_applied_on_resume() -> None:
    model = ScriptedModel()
    sales = Agent(name="Sales", model=model)

    def to_sales() -> Agent:
        return sales

    desk = Agent(name="Desk", model=model, functions=[to_sales, wire])
    model.add([tool_call("to_sales", id="h"), tool_call("wire", {"amount": 9}, id="w")])
    state = _paused(desk).state
    assert state.agent is desk and state.pending.results["h"].agent is sales
    loaded = RunState.from_json(state.to_json(), desk)  # the handoff survives JSON
    loaded.approve("w")
    model.add("Sales here")
    response = Swarm().resume(loaded)
    assert response.agent is sales
    assert model.requests[-1].agent_name == "Sales"
    assert ran == ["wire 9"]


async def test_resume_async_and_streamed_resume() -> None:
    agent, _ = _bank(
        tool_call("wire", {"amount": 5}, id="c1"),
        "done",
        tool_call("wire", {"amount": 6}, id="x"),
        "ok",
    )
    client = Swarm()
    paused = await client.run_async(agent, USER)
    paused.state.approve("c1")
    events: list[Event] = [e async for e in client.resume_stream(paused.state)]
    assert isinstance(events[0], RunStarted) and events[0].resumed
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [e.call_id for e in started] == ["c1"]
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].response.messages[-1]["content"] == "done"
    again = await client.run_async(agent, USER)
    again.state.approve("x")
    assert (await client.resume_async(again.state)).interruptions == []


async def test_the_stream_announces_approval_requests() -> None:
    agent, _ = _bank([tool_call("wire", {"amount": 5}, id="c1"), tool_call("lookup", id="c2")])
    events = [e async for e in Swarm().stream(agent, USER)]
    requested = [e for e in events if isinstance(e, ApprovalRequested)]
    assert [(e.call_id, e.name) for e in requested] == [("c1", "wire")]
    assert [e.call_id for e in events if isinstance(e, ToolCallStarted)] == ["c2"]
    assert [e.call_id for e in events if isinstance(e, ToolCallFinished)] == ["c2"]
    final = events[-1]
    assert isinstance(final, RunCompleted) and final.response.interruptions


def test_hooks_see_the_resume() -> None:
    starts: list[bool] = []

    class Hooks(RunHooks):
        def on_run_start(self, event: Any) -> None:
            starts.append(event.resumed)

    agent, _ = _bank(tool_call("wire", {"amount": 5}, id="c1"), "done")
    response = Swarm().run(agent, USER, hooks=Hooks())
    response.state.approve("c1")
    Swarm().resume(response.state, hooks=Hooks())
    assert starts == [False, True]


# ------------------------------------------------------------------------- JSON


def _state_json(*replies: Any) -> tuple[str, Agent]:
    agent, _ = _bank(*replies)
    return _paused(agent).state.to_json(), agent


def test_tampered_states_are_refused() -> None:
    text, agent = _state_json(tool_call("wire", {"amount": 5}, id="c1"))
    tampered = text.replace('{\\"amount\\": 5}', '{\\"amount\\": 5000}')
    assert tampered != text
    with pytest.raises(RunStateError, match="digest does not match"):
        RunState.from_json(tampered, agent)


def test_unknown_agents_incompatible_versions_and_garbage_are_refused() -> None:
    text, agent = _state_json(tool_call("wire", {"amount": 5}, id="c1"))
    with pytest.raises(RunStateError, match="names agent 'Bank'"):
        RunState.from_json(text, Agent(name="Other"))
    document = json.loads(text)
    document["version"] = 99
    with pytest.raises(RunStateError, match="version 99 is not supported"):
        RunState.from_json(json.dumps(document), agent)
    with pytest.raises(RunStateError, match="not valid JSON"):
        RunState.from_json("{", agent)
    with pytest.raises(RunStateError, match="not a swarmlet run state"):
        RunState.from_json('{"hello": 1}', agent)


def test_a_signed_state_needs_its_key() -> None:
    agent, _ = _bank(tool_call("wire", {"amount": 5}, id="c1"))
    state = _paused(agent).state
    signed = state.to_json(key="s3cret")
    assert RunState.from_json(signed, agent, key="s3cret").interruptions()[0].call_id == "c1"
    with pytest.raises(RunStateError, match="signed with a key"):
        RunState.from_json(signed, agent)
    with pytest.raises(RunStateError, match="digest does not match"):
        RunState.from_json(signed, agent, key="wrong")
    with pytest.raises(RunStateError, match="not signed"):
        RunState.from_json(state.to_json(), agent, key="s3cret")


def test_context_variables_that_json_cannot_hold_are_refused_at_save() -> None:
    agent, _ = _bank(tool_call("wire", {"amount": 5}, id="c1"))
    response = Swarm().run(agent, USER, context_variables={"lock": object()})
    with pytest.raises(RunStateError, match="JSON values; no pickling"):
        response.state.to_json()


def test_the_fixture_of_the_current_version_loads_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import approval_app as app

    log = tmp_path / "log.txt"
    monkeypatch.setenv("TRANSFER_LOG", str(log))
    state = RunState.from_json(FIXTURE.read_text(encoding="utf-8"), app.triage)
    assert state.agent is app.payments
    state.approve("call_transfer")
    app.model.add(*app.RESUME)
    response = Swarm().resume(state)
    assert log.read_text(encoding="utf-8") == "500->bob\n"
    assert response.messages[-1]["content"] == "Sent 500 EUR to Bob."


def test_the_format_is_stable(tmp_path: Path) -> None:
    """Writing the fixture's run today gives the fixture byte for byte: bump VERSION if not."""
    out = tmp_path / "state.json"
    _app("start", out, tmp_path / "log.txt")
    assert out.read_text(encoding="utf-8") == FIXTURE.read_text(encoding="utf-8")


def _app(command: str, path: Path, log: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "approval_app.py"), command, str(path)],
        env={**os.environ, "TRANSFER_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_approval_survives_a_new_process_and_the_tool_runs_exactly_once(tmp_path: Path) -> None:
    state, log = tmp_path / "state.json", tmp_path / "transfers.log"
    assert _app("start", state, log) == '["call_transfer"]'
    assert not log.exists()  # nothing was transferred before the approval
    assert _app("resume", state, log) == "Sent 500 EUR to Bob."
    assert log.read_text(encoding="utf-8") == "500->bob\n"


# ------------------------------------------------------------- approvals in sub-runs


def _agent_tool(inner: Agent, model: ScriptedModel) -> Any:
    """A hand-made agent-tool (what Agent.as_tool does): runs ``inner`` as a sub-run."""

    async def ask_treasury(question: str) -> str:
        """Ask the treasury agent."""
        running = current_call()
        assert running is not None
        spec = RunSpec(agent=inner, messages=[{"role": "user", "content": question}])
        sub = running.resume_state
        events = run_events(spec, lambda _: model, None, sub, resumed=sub is not None)
        response = None
        async for event in events:
            running.emit(event)
            if isinstance(event, RunCompleted) and not event.path:
                response = event.response
        assert response is not None
        if response.interruptions:
            raise ToolInterrupted(response.state)
        return str(response.messages[-1]["content"])

    return ask_treasury


def test_an_approval_inside_an_agent_tool_surfaces_outside_and_resumes_inside() -> None:
    model = ScriptedModel()
    treasury = Agent(name="Treasury", model=model, functions=[wire])
    lead = Agent(name="Lead", model=model, functions=[_agent_tool(treasury, model), lookup])
    model.add(
        [tool_call("ask_treasury", {"question": "wire 70"}, id="outer"), tool_call("lookup")],
        tool_call("wire", {"amount": 70}, id="inner"),
    )
    paused = Swarm().run(lead, USER)
    assert paused.interruptions == [
        Interruption("inner", "wire", '{"amount": 70}', "Treasury", ("outer",))
    ]
    assert ran == ["lookup"]
    text = paused.state.to_json()
    state = RunState.from_json(text, [lead, treasury])
    state.approve("inner")
    model.add("wired 70 as asked", "Treasury wired 70.")
    response = Swarm().resume(state)
    assert ran == ["lookup", "wire 70"]
    outer_result = next(m for m in response.messages if m.get("tool_call_id") == "outer")
    assert outer_result["content"] == "wired 70 as asked"
    assert response.messages[-1]["content"] == "Treasury wired 70."


def test_an_approval_inside_agent_as_tool_surfaces_outside_and_resumes_inside() -> None:
    model = ScriptedModel()
    treasury = Agent(name="Treasury", model=model, functions=[wire])
    lead = Agent(name="Lead", model=model, functions=[treasury.as_tool()])
    model.add(
        tool_call("treasury", {"task": "wire 70"}, id="outer"),
        tool_call("wire", {"amount": 70}, id="inner"),
    )
    paused = Swarm().run(lead, USER)
    assert [(i.call_id, i.agent, i.path) for i in paused.interruptions] == [
        ("inner", "Treasury", ("outer",))
    ]
    state = RunState.from_json(paused.state.to_json(), lead)  # Treasury found via the tool
    state.approve("inner")
    model.add("wired 70", "Done: Treasury wired 70.")
    response = Swarm().resume(state)
    assert ran == ["wire 70"]
    assert next(m for m in response.messages if m.get("tool_call_id") == "outer")["content"] == (
        "wired 70"
    )
    assert response.messages[-1]["content"] == "Done: Treasury wired 70."
