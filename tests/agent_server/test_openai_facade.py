"""The OpenAI-compatible facade, driven by the official ``openai`` client over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from swarmlet import Swarm
from swarmlet.server import ServerSettings, TokenAuth, create_app
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.testing.server import ScriptedServer, conversation_responder
from tests.agent_server.support import TOKEN, live_server, order_swarm, two_agent_swarm

USER = [{"role": "user", "content": "Where is order A1?"}]


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def base_url(model: ScriptedModel) -> Iterator[str]:
    triage, _ = two_agent_swarm()
    settings = ServerSettings(auth=TokenAuth(frozenset({TOKEN})))
    with live_server(create_app(triage, swarm=Swarm(client=model), settings=settings)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=TOKEN, timeout=10)


def test_models_lists_the_swarm(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["swarmlet-triage"]
    assert client.models.retrieve("swarmlet-triage").owned_by == "swarmlet"


def test_completion_is_the_swarms_final_answer(client: openai.OpenAI, model: ScriptedModel) -> None:
    model.add(tool_call("transfer_to_sales"), tool_call("lookup", {"order_id": "A1"}), "Shipped.")
    completion = client.chat.completions.create(model="swarmlet-triage", messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "Shipped."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model_extra and completion.model_extra["swarmlet"]["agent"] == "Sales"
    # The swarm saw the client's conversation.
    assert model.requests[0].messages[-1] == {"role": "user", "content": "Where is order A1?"}


def test_streamed_completion_yields_the_text(client: openai.OpenAI, model: ScriptedModel) -> None:
    model.add(tool_call("transfer_to_sales"), "Your order A1 has shipped.")
    stream = client.chat.completions.create(
        model="swarmlet-triage",
        messages=USER,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Your order A1 has shipped."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]


def test_wrong_key_is_an_authentication_error(base_url: str) -> None:
    bad = openai.OpenAI(base_url=f"{base_url}/v1", api_key="not-the-token-xxxxxxxx")
    with pytest.raises(openai.AuthenticationError, match="invalid API token"):
        bad.models.list()


def test_model_failure_is_an_api_error_without_retries(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    model.add(RuntimeError("upstream exploded"))
    with pytest.raises(openai.InternalServerError, match="upstream exploded"):
        client.chat.completions.create(model="swarmlet-triage", messages=USER)  # type: ignore[arg-type]
    assert len(model.requests) == 1  # x-should-retry: false kept the SDK from re-running it


def test_model_failure_mid_stream_raises_in_the_client(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    model.add(tool_call("transfer_to_sales"), RuntimeError("upstream exploded"))
    stream = client.chat.completions.create(
        model="swarmlet-triage",
        messages=USER,  # type: ignore[arg-type]
        stream=True,
    )
    with pytest.raises(openai.APIError, match="upstream exploded"):
        list(stream)


def test_malformed_request_is_a_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError, match="messages"):
        client.chat.completions.create(model="swarmlet-triage", messages=[])


def test_usage_is_the_whole_runs(server: ScriptedServer) -> None:
    """Against a real (scripted) endpoint that reports usage: every call of the run is counted."""
    server.responder = conversation_responder
    triage, _ = order_swarm()
    upstream = openai.AsyncOpenAI(base_url=server.base_url, api_key="x")
    settings = ServerSettings(auth=TokenAuth(frozenset({TOKEN})))
    with live_server(create_app(triage, swarm=Swarm(client=upstream), settings=settings)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=TOKEN, timeout=20)
        completion = client.chat.completions.create(model="swarmlet-triage", messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "Your order A1 has shipped."
    usage = completion.usage
    assert usage is not None and usage.total_tokens > 0
    assert usage.prompt_tokens + usage.completion_tokens == usage.total_tokens
    assert usage.prompt_tokens >= 3  # three model calls, each reported
