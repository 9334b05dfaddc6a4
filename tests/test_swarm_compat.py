"""A Swarm program runs after changing only its imports: Swarm's API, shapes and semantics."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from swarmlet import Agent, Response, Result, Swarm
from swarmlet.exceptions import ConfigurationError
from tests.mock_openai import MockOpenAIClient, chunk, completion

USER = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def mock_client() -> MockOpenAIClient:
    client = MockOpenAIClient()
    client.set_response(completion("Hi there"))
    return client


def test_public_names_match_swarm() -> None:
    import swarmlet.types as types
    from swarmlet.repl import run_demo_loop
    from swarmlet.util import function_to_json

    for name in ("Agent", "Response", "Result", "AgentFunction"):
        assert hasattr(types, name)
    assert types.ChatCompletionMessage is openai.types.chat.ChatCompletionMessage
    assert types.Function.__module__.startswith("openai.")
    assert types.ChatCompletionMessageToolCall.__module__.startswith("openai.")
    assert callable(function_to_json) and callable(run_demo_loop)


def test_agent_defaults_match_swarm() -> None:
    agent = Agent()
    assert (agent.name, agent.model, agent.instructions) == (
        "Agent",
        "gpt-4o",
        "You are a helpful agent.",
    )
    assert agent.functions == [] and agent.tool_choice is None and agent.parallel_tool_calls is True
    assert Result().value == "" and Response().messages == []


def test_simple_message(mock_client: MockOpenAIClient) -> None:
    response = Swarm(client=mock_client).run(agent=Agent(), messages=USER)
    assert response.messages[-1]["role"] == "assistant"
    assert response.messages[-1]["content"] == "Hi there"
    assert response.messages[-1]["sender"] == "Agent"
    assert response.agent is not None and response.agent.name == "Agent"
    sent = mock_client.calls[0]
    assert sent["model"] == "gpt-4o"
    assert sent["messages"] == [{"role": "system", "content": "You are a helpful agent."}, *USER]


def test_tool_call_runs_function_and_records_tool_message(mock_client: MockOpenAIClient) -> None:
    seen: list[str] = []

    def get_weather(location):  # type: ignore[no-untyped-def]
        seen.append(location)
        return "sunny"

    mock_client.set_sequential_responses(
        [completion(None, [("get_weather", {"location": "Seoul"})]), completion("It is sunny")]
    )
    agent = Agent(functions=[get_weather])
    response = Swarm(client=mock_client).run(agent=agent, messages=USER)
    assert seen == ["Seoul"]
    tool_msg = response.messages[1]
    assert tool_msg == {
        "role": "tool",
        "tool_call_id": "mock_tc_0",
        "tool_name": "get_weather",
        "content": "sunny",
    }
    assert response.messages[-1]["content"] == "It is sunny"
    assert mock_client.calls[0]["tools"][0]["function"]["name"] == "get_weather"


def test_execute_tools_false_returns_the_tool_call_unexecuted(
    mock_client: MockOpenAIClient,
) -> None:
    called = []
    mock_client.set_response(completion(None, [("f", {})]))
    agent = Agent(functions=[lambda: called.append(1)])
    agent.functions[0].__name__ = "f"
    response = Swarm(client=mock_client).run(agent=agent, messages=USER, execute_tools=False)
    assert called == []
    assert len(response.messages) == 1
    assert response.messages[0]["tool_calls"][0]["function"]["name"] == "f"


def test_function_returning_agent_hands_off(mock_client: MockOpenAIClient) -> None:
    sales = Agent(name="Sales")

    def transfer_to_sales():  # type: ignore[no-untyped-def]
        return sales

    mock_client.set_sequential_responses(
        [completion(None, [("transfer_to_sales", {})]), completion("Sales here")]
    )
    response = Swarm(client=mock_client).run(
        agent=Agent(functions=[transfer_to_sales]), messages=USER
    )
    assert response.agent is sales
    assert json.loads(response.messages[1]["content"]) == {"assistant": "Sales"}
    assert response.messages[-1]["sender"] == "Sales"
    assert mock_client.calls[1]["messages"][0]["content"] == sales.instructions


def test_result_sets_value_agent_and_context(mock_client: MockOpenAIClient) -> None:
    other = Agent(name="Other")

    def login(context_variables):  # type: ignore[no-untyped-def]
        return Result(value="logged in", agent=other, context_variables={"user": "kim"})

    mock_client.set_sequential_responses([completion(None, [("login", {})]), completion("done")])
    response = Swarm(client=mock_client).run(
        Agent(functions=[login]), USER, context_variables={"a": 1}
    )
    assert response.messages[1]["content"] == "logged in"
    assert response.agent is other
    assert response.context_variables == {"a": 1, "user": "kim"}


def test_context_variables_are_copied_in_and_returned_updated(
    mock_client: MockOpenAIClient,
) -> None:
    received: list[dict[str, Any]] = []

    def remember(context_variables):  # type: ignore[no-untyped-def]
        received.append(dict(context_variables))
        return Result(value="ok", context_variables={"count": context_variables["count"] + 1})

    mock_client.set_sequential_responses([completion(None, [("remember", {})]), completion("done")])
    original = {"count": 1, "nested": {"k": "v"}}
    messages = list(USER)
    response = Swarm(client=mock_client).run(Agent(functions=[remember]), messages, original)
    assert received == [{"count": 1, "nested": {"k": "v"}}]
    assert response.context_variables["count"] == 2
    assert original == {"count": 1, "nested": {"k": "v"}}
    assert messages == USER  # the caller's list is not extended


def test_context_parameter_is_hidden_from_the_schema(mock_client: MockOpenAIClient) -> None:
    def lookup(order_id: str, context_variables: dict) -> str:  # type: ignore[type-arg]
        return f"{order_id} for {context_variables['user']}"

    mock_client.set_sequential_responses(
        [completion(None, [("lookup", {"order_id": "A1"})]), completion("ok")]
    )
    response = Swarm(client=mock_client).run(Agent(functions=[lookup]), USER, {"user": "kim"})
    parameters = mock_client.calls[0]["tools"][0]["function"]["parameters"]
    assert list(parameters["properties"]) == ["order_id"] and parameters["required"] == ["order_id"]
    assert response.messages[1]["content"] == "A1 for kim"


def test_callable_instructions_receive_context_variables(mock_client: MockOpenAIClient) -> None:
    def instructions(context_variables):  # type: ignore[no-untyped-def]
        return f"Help {context_variables['name']}{context_variables['missing']}."

    Swarm(client=mock_client).run(Agent(instructions=instructions), USER, {"name": "Kim"})
    # Like Swarm, a missing key reads as "" (instructions get a defaultdict(str)).
    assert mock_client.calls[0]["messages"][0] == {"role": "system", "content": "Help Kim."}


def test_model_override_replaces_the_agent_model(mock_client: MockOpenAIClient) -> None:
    Swarm(client=mock_client).run(Agent(model="gpt-4o"), USER, model_override="gpt-4o-mini")
    assert mock_client.calls[0]["model"] == "gpt-4o-mini"


def test_stream_yields_swarm_events(mock_client: MockOpenAIClient) -> None:
    mock_client.set_response(
        [chunk("", role="assistant"), chunk("Hel"), chunk("lo"), chunk(finish="stop")]
    )
    events = list(Swarm(client=mock_client).run(Agent(name="Bot"), USER, stream=True))
    assert events[0] == {"delim": "start"}
    deltas = events[1:-2]
    assert [d["content"] for d in deltas] == ["Hel", "lo"]
    assert deltas[0]["sender"] == "Bot" and deltas[0]["role"] == "assistant"
    assert events[-2] == {"delim": "end"}
    response = events[-1]["response"]
    assert isinstance(response, Response)
    assert response.messages[-1]["content"] == "Hello"
    assert mock_client.calls[0]["stream"] is True


def test_no_client_and_no_key_is_a_clear_configuration_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client = Swarm()  # constructing is fine: the client is built on first use
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        client.run(Agent(), USER)


def test_default_client_reads_the_dotenv_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # restored to "unset" after the test
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(
        "OPENAI_API_KEY=sk-from-dotenv\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n"
    )
    monkeypatch.chdir(tmp_path)
    from swarmlet.models.openai_compat import client_from_env

    client = client_from_env()
    assert isinstance(client, openai.AsyncOpenAI)
    assert client.api_key == "sk-from-dotenv"
    assert str(client.base_url).startswith("http://127.0.0.1:9/v1")
