"""Drop-in gaps found by writing Swarm-style code: bare mock clients, named partials."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import MagicMock, Mock

import pytest

from swarmlet import Agent, Swarm
from swarmlet.exceptions import UsageError
from swarmlet.models import AssistantMessage, MessageDelta, Model, ModelRequest
from swarmlet.models.openai_compat import OpenAIChatModel
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.util import function_to_json
from tests.mock_openai import chunk, completion

USER = [{"role": "user", "content": "Weather in Seoul?"}]


def _weather(location: str) -> str:
    return f"sunny in {location}"


def _replies(stream: bool) -> list[Any]:
    """A tool call, then an answer: ChatCompletions, or lists of chunks when streaming."""
    if not stream:
        return [completion(None, [("_weather", {"location": "Seoul"})]), completion("Sunny.")]
    call = chunk(role="assistant", calls=[(0, "c1", "_weather", '{"location": "Seoul"}')])
    return [
        [call, chunk(finish="tool_calls")],
        [chunk("Sun", role="assistant"), chunk("ny."), chunk(finish="stop")],
    ]


def _client(factory: type[Mock], stream: bool) -> Mock:
    client = factory()
    client.chat.completions.create.side_effect = _replies(stream)
    return client


def _check(messages: list[dict[str, Any]]) -> None:
    assert messages[1]["content"] == "sunny in Seoul"
    assert messages[-1]["content"] == "Sunny."


@pytest.mark.parametrize("factory", [MagicMock, Mock])
def test_a_bare_mock_client_works_in_run(factory: type[Mock]) -> None:
    client = _client(factory, stream=False)
    response = Swarm(client=client).run(Agent(functions=[_weather]), USER)
    _check(response.messages)
    assert client.chat.completions.create.call_args.kwargs["model"] == "gpt-4o"


@pytest.mark.parametrize("factory", [MagicMock, Mock])
def test_a_bare_mock_client_works_in_a_streamed_run(factory: type[Mock]) -> None:
    client = _client(factory, stream=True)
    events = list(Swarm(client=client).run(Agent(functions=[_weather]), USER, stream=True))
    _check(events[-1]["response"].messages)
    assert client.chat.completions.create.call_args.kwargs["stream"] is True


@pytest.mark.parametrize("factory", [MagicMock, Mock])
async def test_a_bare_mock_client_works_in_run_async(factory: type[Mock]) -> None:
    client = _client(factory, stream=False)
    response = await Swarm(client=client).run_async(Agent(functions=[_weather]), USER)
    _check(response.messages)


def test_a_mock_client_on_an_agent_is_wrapped_as_a_client() -> None:
    client = _client(MagicMock, stream=False)
    agent = Agent(model=client, functions=[_weather])
    assert isinstance(agent.model, OpenAIChatModel) and agent.model.client is client
    _check(Swarm(client=ScriptedModel([])).run(agent, USER).messages)


class _DuckProvider:
    """Has a provider's methods but does not subclass Model."""

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        return AssistantMessage(content="duck")

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        yield MessageDelta(content="duck")


def test_objects_that_are_neither_provider_nor_client_are_refused_clearly() -> None:
    for bad in (_DuckProvider(), object(), "not a client"):
        with pytest.raises(UsageError, match=r"swarmlet\.models\.Model"):
            Swarm(client=bad)
    with pytest.raises(UsageError, match=r"chat\.completions\.create"):
        Agent(model=_DuckProvider())


def test_a_registered_provider_class_is_a_provider() -> None:
    class Registered(_DuckProvider):
        pass

    Model.register(Registered)
    response = Swarm(client=Registered()).run(Agent(), USER)
    assert response.messages[-1]["content"] == "duck"
    assert isinstance(Agent(model=Registered()).model, Registered)


def _base(query: str, context_variables: dict[str, Any]) -> str:
    """The wrapped function's own description."""
    return f"{query} for {context_variables['user']}"


def _named_partial() -> functools.partial[str]:
    lookup = functools.partial(_base)
    lookup.__name__ = "lookup"  # type: ignore[attr-defined]
    lookup.__doc__ = "Look an order up."
    return lookup


def test_a_partials_own_name_and_doc_win_in_the_schema() -> None:
    schema = function_to_json(_named_partial())["function"]
    assert schema["name"] == "lookup"
    assert schema["description"] == "Look an order up."
    assert list(schema["parameters"]["properties"]) == ["query"]  # context stays hidden


def test_the_model_calls_a_partial_by_its_own_name_with_context_injected() -> None:
    model = ScriptedModel([tool_call("lookup", {"query": "order 7"}), "done"])
    agent = Agent(functions=[_named_partial()])
    response = Swarm(client=model).run(agent, USER, context_variables={"user": "kim"})
    assert response.messages[1]["content"] == "order 7 for kim"
    assert response.messages[1]["tool_name"] == "lookup"
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["lookup"]


def test_an_unnamed_partial_keeps_the_wrapped_name_and_a_named_callable_object_its_own() -> None:
    class Finder:
        """Class description."""

        def __call__(self, q: str) -> str:
            return q

    finder = Finder()
    finder.__name__ = "find_it"  # type: ignore[attr-defined]
    finder.__doc__ = "Instance description."
    described = function_to_json(finder)["function"]
    assert (described["name"], described["description"]) == ("find_it", "Instance description.")
    plain = function_to_json(functools.partial(_base, "q"))["function"]
    assert plain["name"] == "_base" and plain["description"] == _base.__doc__
    assert json.dumps(plain["parameters"]["properties"]) == "{}"


def test_swarms_module_paths_and_attributes_exist() -> None:
    import subprocess
    import sys

    code = (
        "import sys, swarmlet\n"
        "assert 'openai' not in sys.modules\n"  # import swarmlet stays light
        "assert swarmlet.types.Agent is swarmlet.Agent and swarmlet.util.function_to_json\n"
        "from swarmlet.core import (Swarm, Agent, AgentFunction, ChatCompletionMessage,\n"
        "    ChatCompletionMessageToolCall, Function, Response, Result, __CTX_VARS_NAME__,\n"
        "    debug_print, function_to_json, merge_chunk)\n"
        "assert __CTX_VARS_NAME__ == 'context_variables'\n"
        "from swarmlet.repl.repl import (run_demo_loop, pretty_print_messages,\n"
        "    process_and_print_streaming_response)\n"
        "import swarmlet.repl as r; assert r.repl.run_demo_loop is r.run_demo_loop\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_swarms_print_helpers_show_who_said_and_called_what(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from swarmlet.repl.repl import pretty_print_messages, process_and_print_streaming_response

    model = ScriptedModel([tool_call("_weather", {"location": "Seoul"}), "Sunny."])
    events = Swarm(client=model).run(Agent(functions=[_weather]), USER, stream=True)
    response = process_and_print_streaming_response(events)
    assert response is not None and response.messages[-1]["content"] == "Sunny."
    streamed = capsys.readouterr().out
    assert "Agent: \033[95m_weather" in streamed and "Agent:\033[0m Sunny.\n" in streamed
    pretty_print_messages(response.messages)
    printed = capsys.readouterr().out
    assert '_weather\033[0m(location="Seoul")' in printed and "Sunny." in printed


def test_assistant_messages_keep_swarms_keys_which_are_not_sent_back() -> None:
    model = ScriptedModel(["first", "second"])
    swarm = Swarm(client=model)
    first = swarm.run(Agent(), USER).messages[-1]
    assert first == {
        "content": "first",
        "refusal": None,
        "role": "assistant",
        "annotations": None,
        "audio": None,
        "function_call": None,
        "tool_calls": None,
        "sender": "Agent",
    }
    swarm.run(Agent(), [*USER, first, {"role": "user", "content": "again"}])
    assert model.requests[1].messages[2] == {"role": "assistant", "content": "first"}
