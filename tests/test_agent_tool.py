"""Agent.as_tool: sub-runs as tools — results, errors, concurrency, events, depth, context."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from pydantic import BaseModel

from swarmlet import Agent, Result, Swarm
from swarmlet.events import Event, RunCompleted, TextDelta, ToolCallFinished, ToolCallStarted
from swarmlet.exceptions import ModelError, UsageError
from swarmlet.graph import reachable_agents
from swarmlet.models.base import ModelRequest
from swarmlet.testing import ScriptedModel, reply, structured, tool_call

USER = [{"role": "user", "content": "Analyse the sales."}]


class Finding(BaseModel):
    topic: str
    value: float


def _tool_results(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {m["tool_name"]: m["content"] for m in messages if m["role"] == "tool"}


def test_the_sub_run_answer_is_the_tool_result_and_the_caller_keeps_control() -> None:
    analyst_model = ScriptedModel(["Revenue grew 12%."])
    analyst = Agent(name="Analyst", model=analyst_model, instructions="Crunch numbers.")
    coordinator_model = ScriptedModel(
        [tool_call("analyst", {"task": "How did revenue change?"}), "Summary: revenue +12%."]
    )
    coordinator = Agent(name="Coordinator", model=coordinator_model, functions=[analyst.as_tool()])
    response = Swarm().run(coordinator, USER)
    assert response.output == "Summary: revenue +12%."
    assert response.agent is not None and response.agent.name == "Coordinator"  # no handoff
    assert _tool_results(response.messages) == {"analyst": "Revenue grew 12%."}
    # The sub-run has its own history: the task only, never the caller's conversation.
    sub_request = analyst_model.requests[0]
    assert sub_request.messages == [
        {"role": "system", "content": "Crunch numbers."},
        {"role": "user", "content": "How did revenue change?"},
    ]
    # The outer Response gives each sub-run's messages.
    (path, sub), *rest = response.sub_runs.items()
    assert not rest
    assert path == response.messages[0]["tool_calls"][0]["id"]
    assert sub.messages[-1]["content"] == "Revenue grew 12%."
    assert sub.agent is not None and sub.agent.name == "Analyst"


def test_the_tool_is_described_with_a_task_parameter() -> None:
    analyst = Agent(name="Sales Analyst", instructions="You analyse sales.")
    function = analyst.as_tool()
    model = ScriptedModel(["ok"])
    Swarm().run(Agent(model=model, functions=[function]), USER)
    (schema,) = model.requests[0].tools
    assert schema["function"]["name"] == "sales_analyst"
    assert "You analyse sales." in schema["function"]["description"]
    assert schema["function"]["parameters"]["required"] == ["task"]
    assert "context_variables" not in schema["function"]["parameters"]["properties"]
    named = analyst.as_tool("ask_sales", "Ask sales.")
    assert named.__name__ == "ask_sales"


def test_structured_output_comes_back_as_json_and_can_be_set_per_tool() -> None:
    analyst = Agent(
        name="Analyst",
        model=ScriptedModel([structured(Finding(topic="revenue", value=0.12))]),
        output_type=Finding,
    )
    lister = Agent(name="Lister", model=ScriptedModel([structured([1, 2], list[int])]))
    coordinator = Agent(
        model=ScriptedModel(
            [
                [tool_call("analyst", {"task": "a"}), tool_call("lister", {"task": "b"})],
                "done",
            ]
        ),
        functions=[analyst.as_tool(), lister.as_tool(output_type=list[int])],
    )
    response = Swarm().run(coordinator, USER)
    results = _tool_results(response.messages)
    assert json.loads(results["analyst"]) == {"topic": "revenue", "value": 0.12}
    assert json.loads(results["lister"]) == [1, 2]
    assert lister.output_type is None  # the override applies to the tool only


def test_a_failing_sub_run_is_a_tool_error_and_the_caller_goes_on() -> None:
    broken = Agent(name="Broken", model=ScriptedModel([ModelError("upstream 503")]))
    coordinator = Agent(
        model=ScriptedModel([tool_call("broken", {"task": "x"}), "I could not get that."]),
        functions=[broken.as_tool()],
    )
    response = Swarm().run(coordinator, USER)
    result = _tool_results(response.messages)["broken"]
    assert result.startswith("Error: ModelError:")
    assert "upstream 503" in result and "'Broken'" in result
    assert response.output == "I could not get that."


def test_a_sub_run_without_a_final_answer_within_max_turns_is_a_tool_error() -> None:
    def lookup() -> str:
        """Look something up."""
        return "data"

    looper = Agent(
        name="Looper",
        model=ScriptedModel(responder=lambda _request: tool_call("lookup")),
        functions=[lookup],
    )
    coordinator = Agent(
        model=ScriptedModel([tool_call("looper", {"task": "x"}), "fine"]),
        functions=[looper.as_tool(max_turns=2)],
    )
    response = Swarm().run(coordinator, USER)
    assert "no final answer within 2 turns" in _tool_results(response.messages)["looper"]


async def test_agent_tools_called_in_one_turn_run_concurrently() -> None:
    spans: dict[str, tuple[float, float]] = {}

    def worker(tag: str) -> Agent:
        async def slow_query(context_variables: dict[str, Any]) -> str:
            """Query the data."""
            start = time.monotonic()
            await asyncio.sleep(0.2)
            spans[tag] = (start, time.monotonic())
            return tag

        model = ScriptedModel([tool_call("slow_query"), f"{tag} done"])
        return Agent(name=tag, model=model, functions=[slow_query])

    tags = ["w1", "w2", "w3"]
    coordinator = Agent(
        model=ScriptedModel([[tool_call(t, {"task": "go"}) for t in tags], "all done"]),
        functions=[worker(t).as_tool() for t in tags],
    )
    response = await Swarm().run_async(coordinator, USER)
    assert response.output == "all done"
    # Every sub-run's tool was running while every other one was: the intervals overlap.
    assert max(start for start, _ in spans.values()) < min(end for _, end in spans.values())


def _nested_agents() -> Agent:
    inner = Agent(name="Inner", model=ScriptedModel(["inner answer"]))
    middle = Agent(
        name="Middle",
        model=ScriptedModel([tool_call("inner", {"task": "deeper"}), "middle answer"]),
        functions=[inner.as_tool()],
    )
    return Agent(
        name="Top",
        model=ScriptedModel([tool_call("middle", {"task": "go"}), "top answer"]),
        functions=[middle.as_tool()],
    )


async def test_nested_events_reach_the_typed_stream_tagged_with_their_path() -> None:
    events: list[Event] = [e async for e in Swarm().stream(_nested_agents(), USER)]
    top_call = next(e for e in events if isinstance(e, ToolCallStarted) and not e.path)
    middle_call = next(
        e for e in events if isinstance(e, ToolCallStarted) and e.path == (top_call.call_id,)
    )
    inner_path = (top_call.call_id, middle_call.call_id)
    texts = {e.path: "" for e in events if isinstance(e, TextDelta)}
    for e in events:
        if isinstance(e, TextDelta):
            texts[e.path] += e.text
    assert texts == {
        (): "top answer",
        (top_call.call_id,): "middle answer",
        inner_path: "inner answer",
    }
    # Live: each sub-run's events arrive before the tool call that ran it finishes.
    order = [(type(e).__name__, e.path) for e in events]
    inner_done = order.index(("RunCompleted", inner_path))
    middle_finished = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, ToolCallFinished) and e.call_id == middle_call.call_id
    )
    top_finished = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, ToolCallFinished) and e.call_id == top_call.call_id
    )
    assert inner_done < middle_finished < top_finished
    final = events[-1]
    assert isinstance(final, RunCompleted) and not final.path
    assert set(final.response.sub_runs) == {top_call.call_id, "/".join(inner_path)}


def test_swarms_dict_stream_shows_the_top_level_run_only() -> None:
    chunks = list(Swarm().run(_nested_agents(), USER, stream=True))
    text = "".join(c.get("content") or "" for c in chunks if "content" in c)
    assert text == "top answer"
    assert [c["delim"] for c in chunks if "delim" in c] == ["start", "end", "start", "end"]
    assert chunks[-1]["response"].output == "top answer"


def test_nesting_deeper_than_max_depth_is_a_clear_tool_error() -> None:
    def responder(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last["role"] == "tool":
            return f"gave up: {last['content']}"
        return tool_call("recurse", {"task": "again"})

    recursive = Agent(name="Recursive", model=ScriptedModel(responder=responder))
    recursive.functions.append(recursive.as_tool("recurse", max_depth=2))
    response = Swarm().run(recursive, USER)
    # Depth 1 and 2 ran; the third level was refused and each level reported upwards.
    assert "MaxDepthError" in response.output
    assert "would nest 3 deep; the limit is 2" in response.output


def test_context_variables_are_copied_in_and_nothing_flows_back_by_default() -> None:
    def note(tag: str, context_variables: dict[str, Any]) -> Result:
        """Write a note."""
        context_variables["mutated_in_place"] = tag  # the sub-run's own copy
        return Result(
            value="noted", context_variables={"last": tag, "seen": context_variables["n"]}
        )

    def writer(tag: str, update: bool) -> Any:
        model = ScriptedModel([tool_call("note", {"tag": tag}), f"{tag} ok"])
        agent = Agent(name=tag, model=model, functions=[note])
        return agent.as_tool(update_context=update)

    coordinator = Agent(
        model=ScriptedModel([[tool_call("a", {"task": "x"}), tool_call("b", {"task": "y"})], "ok"]),
        functions=[writer("a", False), writer("b", False)],
    )
    start = {"n": 1}
    response = Swarm().run(coordinator, USER, context_variables=start)
    assert response.context_variables == {"n": 1}
    assert start == {"n": 1}
    for sub in response.sub_runs.values():
        assert sub.context_variables["seen"] == 1  # each started from a copy of the caller's

    coordinator.functions = [writer("a", True), writer("b", True)]
    coordinator.model = ScriptedModel(
        [[tool_call("a", {"task": "x"}), tool_call("b", {"task": "y"})], "ok"]
    )
    response = Swarm().run(coordinator, USER, context_variables=start)
    # Changed keys come back, merged in the model's call order: "b" (the later call) wins.
    assert response.context_variables == {
        "n": 1,
        "last": "b",
        "seen": 1,
        "mutated_in_place": "b",
    }


async def test_calling_an_agent_tool_outside_a_run_is_a_usage_error() -> None:
    function = Agent(name="A").as_tool()
    with pytest.raises(UsageError, match="can only be called by a swarmlet run"):
        await function(task="x", context_variables={})


def test_bad_arguments_and_the_agent_graph() -> None:
    analyst = Agent(name="Analyst")
    with pytest.raises(UsageError):
        analyst.as_tool(max_turns=0)
    coordinator = Agent(name="Coordinator", functions=[analyst.as_tool()])
    assert set(reachable_agents(coordinator)) == {"Coordinator", "Analyst"}


def test_the_sub_run_uses_the_callers_client_and_model_override() -> None:
    shared = ScriptedModel(
        [tool_call("helper", {"task": "t"}), reply("helper says hi"), "top says hi"]
    )
    helper = Agent(name="Helper", model="gpt-4o")  # a model *name*: served by the caller's client
    top = Agent(name="Top", model="gpt-4o", functions=[helper.as_tool()])
    response = Swarm(client=shared).run(top, USER, model_override="small-model")
    assert response.output == "top says hi"
    assert [r.agent_name for r in shared.requests] == ["Top", "Helper", "Top"]
    assert {r.model for r in shared.requests} == {"small-model"}


def test_a_failed_sub_run_is_in_sub_runs_with_its_messages_up_to_the_failure() -> None:
    picky = Agent(
        name="Picky",
        model=ScriptedModel(["not json", "still not json"]),
        output_type=Finding,
        output_retries=1,
    )
    coordinator = Agent(
        model=ScriptedModel([tool_call("picky", {"task": "x"}), "moving on"]),
        functions=[picky.as_tool()],
    )
    response = Swarm().run(coordinator, USER)
    assert "OutputValidationError" in _tool_results(response.messages)["picky"]
    (failed,) = response.sub_runs.values()
    assert [m["content"] for m in failed.messages if m["role"] == "assistant"] == [
        "not json",
        "still not json",
    ]
    assert failed.output is None
