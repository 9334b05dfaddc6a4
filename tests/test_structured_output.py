"""Structured output: Agent(output_type=...), response_format, validation, retries, errors."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

import openai
import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from swarmlet import Agent, Swarm
from swarmlet.events import RunCompleted, TextDelta
from swarmlet.exceptions import OutputValidationError, RunError
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.output import output_schema
from swarmlet.testing import ScriptedModel, output_json, reply, structured, tool_call
from swarmlet.testing.server import ScriptedReply, ScriptedServer

USER = [{"role": "user", "content": "Summarise the sales."}]


class Finding(BaseModel):
    """One finding of an analysis."""

    title: str
    value: float
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


def _run(agent: Agent, model: ScriptedModel) -> Any:
    return Swarm(client=model).run(agent, USER)


# ----------------------------------------------------------------------------- each type


@pytest.mark.parametrize(
    ("output_type", "value"),
    [
        (Finding, Finding(title="growth", value=0.25, tags=["q1"])),
        (Point, Point(x=1, y=-2)),
        (Movie, Movie(title="Alien", year=1979)),
        (list[Finding], [Finding(title="a", value=1.0), Finding(title="b", value=2.0)]),
        (int, 42),
        (Literal["up", "down"], "down"),
        (dict[str, int], {"a": 1}),
    ],
)
def test_each_supported_type_comes_back_validated_and_typed(output_type: Any, value: Any) -> None:
    model = ScriptedModel([structured(value, output_type)])
    response = _run(Agent(output_type=output_type), model)
    assert response.output == value
    assert type(response.output) is type(value)
    sent = model.requests[0].response_format
    assert sent is not None and sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"] == output_schema(output_type).json_schema


def test_non_object_types_are_wrapped_in_an_object_schema() -> None:
    schema = output_schema(list[Finding]).json_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["result"]
    assert schema["properties"]["result"]["type"] == "array"
    assert output_schema(Finding).wrapped is False
    assert json.loads(output_json([1, 2])) == {"result": [1, 2]}


def test_strict_mode_closes_objects_and_requires_every_property() -> None:
    schema = output_schema(Finding)
    assert schema.strict
    assert schema.json_schema["additionalProperties"] is False
    assert schema.json_schema["required"] == ["title", "value", "tags"]
    assert "default" not in json.dumps(schema.json_schema)
    # An open mapping cannot be strict: it is sent non-strict instead of being refused.
    assert output_schema(dict[str, int]).strict is False


def test_without_output_type_output_is_the_final_text_and_no_format_is_sent() -> None:
    model = ScriptedModel(["plain answer"])
    response = _run(Agent(), model)
    assert response.output == "plain answer"
    assert model.requests[0].response_format is None


def test_an_unusable_output_type_fails_when_the_agent_is_built() -> None:
    import typing

    class Legacy(typing.TypedDict):  # pydantic needs typing_extensions' TypedDict before 3.12
        a: int

    with pytest.raises(Exception, match="output_type"):
        Agent(output_type=Legacy)


# ----------------------------------------------------------------------------- retries


def test_invalid_answer_is_sent_back_with_the_error_then_a_valid_one_is_accepted() -> None:
    model = ScriptedModel(['{"title": "growth"}', structured(Finding(title="growth", value=3))])
    response = _run(Agent(output_type=Finding), model)
    assert response.output == Finding(title="growth", value=3)
    retry = model.requests[1].messages[-1]
    assert retry["role"] == "user"
    assert "value: Field required" in retry["content"]
    # The retry prompt is part of the history (an honest audit trail of the run).
    assert [m["role"] for m in response.messages] == ["assistant", "user", "assistant"]


def test_answer_that_is_not_json_is_retried_too() -> None:
    model = ScriptedModel(["Sure! Here it is.", structured(7, int)])
    assert _run(Agent(output_type=int), model).output == 7
    assert "Invalid JSON" in model.requests[1].messages[-1]["content"]


def test_out_of_retries_raises_output_validation_error_with_the_response() -> None:
    model = ScriptedModel(['{"title": 1}', "still wrong", "nope"])
    with pytest.raises(OutputValidationError) as caught:
        _run(Agent(name="Analyst", output_type=Finding, output_retries=2), model)
    error = caught.value
    assert isinstance(error, RunError)
    assert error.content == "nope"
    assert error.agent_name == "Analyst" and error.turn == 3
    assert error.response is not None
    assert error.response.messages[-1]["content"] == "nope"
    assert "3 attempts" in str(error)
    assert len(model.requests) == 3


def test_zero_retries_fails_on_the_first_invalid_answer() -> None:
    model = ScriptedModel(["[]"])
    with pytest.raises(OutputValidationError, match="1 attempt"):
        _run(Agent(output_type=Point, output_retries=0), model)


def test_a_refusal_counts_as_an_invalid_answer() -> None:
    class Refusing(ScriptedModel):
        async def complete(self, request: Any) -> Any:
            message = await super().complete(request)
            message.refusal, message.content = "I can't help with that.", None
            return message

    with pytest.raises(OutputValidationError, match="refused"):
        _run(Agent(output_type=Point, output_retries=0), Refusing(["x"]))


def test_tools_then_structured_answer() -> None:
    def total_sales(region: str) -> float:
        """Sum of sales in a region."""
        return 12.5

    model = ScriptedModel(
        [tool_call("total_sales", {"region": "EU"}), structured(Finding(title="EU", value=12.5))]
    )
    agent = Agent(functions=[total_sales], output_type=Finding)
    response = _run(agent, model)
    assert response.output.value == 12.5
    assert model.requests[0].tools and model.requests[0].response_format is not None


def test_max_turns_without_a_final_answer_leaves_output_none() -> None:
    model = ScriptedModel([reply(None, tool_call("f"))])
    response = Swarm(client=model).run(Agent(output_type=Point), USER, execute_tools=False)
    assert response.output is None


# ----------------------------------------------------------------------------- streaming


async def test_streamed_run_validates_the_assembled_answer_and_retries() -> None:
    good = structured(Point(x=3, y=4))
    model = ScriptedModel(['{"x": 3', good], chunk_size=3)
    events = [e async for e in Swarm(client=model).stream(Agent(output_type=Point), USER)]
    assert sum(isinstance(e, TextDelta) for e in events) > 2  # really streamed in pieces
    final = events[-1]
    assert isinstance(final, RunCompleted)
    assert final.response.output == Point(x=3, y=4)


async def test_streamed_run_out_of_retries_raises() -> None:
    model = ScriptedModel(["{", "{"])
    with pytest.raises(OutputValidationError):
        async for _ in Swarm(client=model).stream(Agent(output_type=Point), USER):
            pass


# ----------------------------------------------------------------------------- real HTTP


def _finding_reply() -> ScriptedReply:
    return ScriptedReply(content=output_json(Finding(title="t", value=1.5)))


@pytest.mark.parametrize("provider", ["fast_http", "openai_sdk"])
@pytest.mark.parametrize("stream", [False, True])
def test_response_format_is_sent_to_a_real_http_server(
    server: ScriptedServer, provider: str, stream: bool
) -> None:
    server.add('{"title": "t"}', _finding_reply())
    if provider == "fast_http":
        client = Swarm(client=FastHTTPModel(base_url=server.base_url, api_key="k", max_retries=0))
    else:
        client = Swarm(client=openai.AsyncOpenAI(base_url=server.base_url, api_key="k"))
    agent = Agent(model="scripted", output_type=Finding)
    if stream:
        chunks = list(client.run(agent, USER, stream=True))
        response = chunks[-1]["response"]
    else:
        response = client.run(agent, USER)
    assert response.output == Finding(title="t", value=1.5)
    first, second = server.requests
    assert first["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "Finding",
            "strict": True,
            "schema": output_schema(Finding).json_schema,
        },
    }
    assert second["messages"][-1]["role"] == "user"  # the retry prompt went over the wire
    assert "value" in second["messages"][-1]["content"]
