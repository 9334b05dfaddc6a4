"""Each Swarm defect listed in docs/DESIGN.md, with a test that fails on Swarm's behaviour."""

from __future__ import annotations

import functools
import json
from typing import Any, Literal, Optional

from swarmlet import Agent, Result, Swarm
from swarmlet.testing import ScriptedModel, reply, tool_call
from swarmlet.util import function_to_json
from tests.mock_openai import MockOpenAIClient, chunk, completion

USER = [{"role": "user", "content": "hi"}]


def test_a_streamed_runs_response_names_the_agent_that_sent_each_message() -> None:
    second = Agent(name="Second")
    first = Agent(name="First", functions=[lambda: second])
    first.functions[0].__name__ = "transfer"
    model = ScriptedModel([tool_call("transfer"), "I am the second agent"])
    first.model = second.model = model
    events = list(Swarm().run(first, USER, stream=True))
    # The deltas name the agent speaking, in Swarm too (it tags them with the active agent).
    assert [e["sender"] for e in events if "sender" in e] == ["First", "Second"]
    # Swarm's streamed loop builds each assistant message with the agent the run *started*
    # with (run_and_stream's ``"sender": agent.name``), so its Response says "First" twice.
    response = events[-1]["response"]
    senders = [m["sender"] for m in response.messages if m["role"] == "assistant"]
    assert senders == ["First", "Second"]


def test_malformed_arguments_are_reported_to_the_model_and_the_run_continues() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    model = ScriptedModel([tool_call("add", "{not json"), tool_call("add", {"x": 1}), "sorry"])
    response = Swarm(client=model).run(Agent(functions=[add]), USER)
    errors = [m["content"] for m in response.messages if m["role"] == "tool"]
    assert errors[0].startswith("Error: Invalid arguments for add: arguments are not valid JSON")
    assert "a: Field required" in errors[1] and "x: Extra inputs are not permitted" in errors[1]
    assert response.messages[-1]["content"] == "sorry"
    # The model saw the error messages on its next turns.
    assert model.requests[1].messages[-1]["content"] == errors[0]


def test_a_raising_tool_is_reported_without_traceback() -> None:
    def explode() -> str:
        raise ValueError("the flux capacitor is empty")

    model = ScriptedModel([tool_call("explode"), "recovered"])
    response = Swarm(client=model).run(Agent(functions=[explode]), USER)
    assert response.messages[1]["content"] == "Error: ValueError: the flux capacitor is empty"
    assert "Traceback" not in response.messages[1]["content"]
    assert response.messages[-1]["content"] == "recovered"


class Greeter:
    """A callable object whose __call__ takes context_variables."""

    def __call__(self, greeting: str, context_variables: dict[str, Any]) -> str:
        return f"{greeting}, {context_variables['name']}"


def test_context_injection_works_for_partials_and_callable_objects() -> None:
    def greet(greeting: str, punctuation: str, context_variables: dict[str, Any]) -> str:
        return f"{greeting}, {context_variables['name']}{punctuation}"

    partial = functools.partial(greet, punctuation="!")
    model = ScriptedModel(
        [[tool_call("greet", {"greeting": "Hi"}), tool_call("Greeter", {"greeting": "Yo"})], "ok"]
    )
    response = Swarm(client=model).run(Agent(functions=[partial, Greeter()]), USER, {"name": "Kim"})
    assert [m["content"] for m in response.messages[1:3]] == ["Hi, Kim!", "Yo, Kim"]
    properties = [t["function"]["parameters"]["properties"] for t in model.requests[0].tools]
    assert all("context_variables" not in p for p in properties)


def test_non_string_results_are_encoded_as_json() -> None:
    def order() -> dict[str, Any]:
        return {"id": "A1", "shipped": True, "items": None}

    model = ScriptedModel([tool_call("order"), "ok"])
    response = Swarm(client=model).run(Agent(functions=[order]), USER)
    # Swarm sends str(dict): "{'id': 'A1', 'shipped': True, 'items': None}"
    assert json.loads(response.messages[1]["content"]) == {
        "id": "A1",
        "shipped": True,
        "items": None,
    }


def test_swarm_only_keys_and_nulls_are_not_sent_back_to_the_api() -> None:
    client = MockOpenAIClient()
    client.set_sequential_responses([completion(None, [("ping", {})]), completion("done")])

    def ping() -> str:
        return "pong"

    Swarm(client=client).run(Agent(functions=[ping]), USER)
    second_request = client.calls[1]["messages"]
    assistant, tool = second_request[2], second_request[3]
    assert "sender" not in assistant and "tool_name" not in tool
    assert all(value is not None for message in second_request for value in message.values())
    assert set(assistant) == {"role", "tool_calls"}
    assert set(tool) == {"role", "tool_call_id", "content"}


def noop() -> None:
    """Does nothing."""


def test_tool_choice_is_sent_only_when_set_and_tools_exist() -> None:
    client = MockOpenAIClient()
    client.set_response(completion("hi"))
    swarm = Swarm(client=client)
    swarm.run(Agent(), USER)
    swarm.run(Agent(tool_choice="required"), USER)  # no tools: nothing to choose from
    swarm.run(Agent(tool_choice="required", functions=[noop]), USER)
    assert "tool_choice" not in client.calls[0] and "tools" not in client.calls[0]
    assert "tool_choice" not in client.calls[1] and "parallel_tool_calls" not in client.calls[1]
    assert client.calls[2]["tool_choice"] == "required"
    assert client.calls[2]["parallel_tool_calls"] is True


def test_max_turns_counts_model_calls_not_messages() -> None:
    def step() -> str:
        return "again"

    model = ScriptedModel([tool_call("step"), tool_call("step"), tool_call("step")])
    response = Swarm(client=model).run(Agent(functions=[step]), USER, max_turns=2)
    # Swarm stops after 2 *messages* (one model call); swarmlet makes 2 model calls.
    assert len(model.requests) == 2
    assert [m["role"] for m in response.messages] == ["assistant", "tool", "assistant", "tool"]
    assert model.remaining == 1


def test_stream_merge_skips_chunks_without_choices_and_merges_every_tool_call_delta() -> None:
    client = MockOpenAIClient()
    client.set_sequential_responses(
        [
            [
                chunk(role="assistant"),
                chunk(calls=[(0, "c1", "echo", '{"text": '), (1, "c2", "echo", '{"te')]),
                chunk(calls=[(0, None, None, '"a"}'), (1, None, None, 'xt": "b"}')]),
                chunk(finish="tool_calls"),
                chunk(no_choices=True),  # a usage chunk
            ],
            [chunk("done", role="assistant"), chunk(no_choices=True)],
        ]
    )

    def echo(text: str) -> str:
        return text.upper()

    events = list(Swarm(client=client).run(Agent(functions=[echo]), USER, stream=True))
    response = events[-1]["response"]
    calls = response.messages[0]["tool_calls"]
    assert [(c["id"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("c1", {"text": "a"}),
        ("c2", {"text": "b"}),
    ]
    assert [m["content"] for m in response.messages[1:3]] == ["A", "B"]


def test_types_beyond_swarms_seven_are_described() -> None:
    def f(a: Optional[int], b: Literal["x", "y"], c: list[int]) -> None: ...  # noqa: UP045

    properties = function_to_json(f)["function"]["parameters"]["properties"]
    assert properties["b"] == {"type": "string", "enum": ["x", "y"]}
    assert properties["c"] == {"type": "array", "items": {"type": "integer"}}
    assert properties["a"] != {"type": "string"}


def test_results_can_update_context_without_handoff() -> None:
    def set_flag() -> Result:
        return Result(value="set", context_variables={"flag": True})

    model = ScriptedModel([tool_call("set_flag"), reply("ok")])
    response = Swarm(client=model).run(Agent(functions=[set_flag]), USER)
    assert response.context_variables == {"flag": True} and response.agent is not None
