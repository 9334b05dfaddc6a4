"""Token usage: per call, summed per agent and in total, streamed and not, over real HTTP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import openai
import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import Event, ModelResponded, RunCompleted
from swarmlet.exceptions import ModelError
from swarmlet.models.base import Model, ModelRequest
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.models.openai_compat import OpenAIChatModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer
from swarmlet.usage import ModelUsage, Usage, model_usage

USER = [{"role": "user", "content": "what does tea cost?"}]
REJECTION = "Unrecognized request argument supplied: stream_options"


def fast(server: ScriptedServer) -> Model:
    return FastHTTPModel(server.base_url, "sk-test", max_retries=0)


def sdk(server: ScriptedServer) -> Model:
    return OpenAIChatModel(openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test"))


PROVIDERS = [fast, sdk]


def price(item: str) -> str:
    return f"{item}: 3 EUR"


def _agents(model: Model) -> Agent:
    shop = Agent(name="Shop", model=model, functions=[price])

    def to_shop() -> Agent:
        return shop

    return Agent(name="Triage", model=model, functions=[to_shop])


def _script(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(tool_calls=[{"name": "to_shop", "arguments": {}}]),
        ScriptedReply(tool_calls=[{"name": "price", "arguments": {"item": "tea"}}]),
        ScriptedReply(content="Tea costs 3 EUR."),
    )


async def _run(model: Model, stream: bool) -> list[Event]:
    client = Swarm(client=model)
    return [e async for e in client.events(_agents(model), USER, stream=stream)]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_usage_is_summed_per_agent_and_in_total(
    server: ScriptedServer, provider: Callable[[ScriptedServer], Model], stream: bool
) -> None:
    _script(server)
    events = await _run(provider(server), stream)
    calls = [e for e in events if isinstance(e, ModelResponded)]
    assert [c.agent.name for c in calls] == ["Triage", "Shop", "Shop"]
    reported = [c.usage for c in calls]
    assert all(u is not None and u.input_tokens > 0 and u.output_tokens > 0 for u in reported)
    usage = events[-1].response.usage  # type: ignore[union-attr]
    assert usage.requests == 3
    assert usage.input_tokens == sum(u.input_tokens for u in reported if u)
    assert usage.output_tokens == sum(u.output_tokens for u in reported if u)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert set(usage.by_agent) == {"Triage", "Shop"}
    assert usage.by_agent["Shop"].requests == 2
    assert usage.by_agent["Shop"].output_tokens == sum(u.output_tokens for u in reported[1:] if u)
    if stream:
        assert all(r["stream_options"] == {"include_usage": True} for r in server.requests)


async def test_a_call_reports_what_the_endpoint_sent(server: ScriptedServer) -> None:
    """The provider's numbers are the server's, read here with a plain HTTP client."""
    model = FastHTTPModel(server.base_url, "sk-test", max_retries=0)
    request = ModelRequest(model="m", messages=USER)
    body = json.dumps(model.params(request, stream=False), separators=(",", ":"))
    server.add(ScriptedReply(content="one two three"), ScriptedReply(content="one two three"))
    raw = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=body.encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(raw, timeout=10) as answer:  # loopback only
        sent = json.loads(answer.read())["usage"]
    message = await model.complete(request)
    assert message.usage == model_usage(sent)
    assert message.usage is not None and message.usage.output_tokens == sent["completion_tokens"]
    assert message.usage.input_tokens == sent["prompt_tokens"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_server_that_rejects_stream_options_is_asked_once(
    provider: Callable[[ScriptedServer], Model],
) -> None:
    replies = [
        ScriptedReply(tool_calls=[{"name": "to_shop", "arguments": {}}]),
        ScriptedReply(tool_calls=[{"name": "price", "arguments": {"item": "tea"}}]),
        ScriptedReply(content="Tea costs 3 EUR."),
    ] * 2

    def strict(body: dict[str, Any]) -> ScriptedReply:
        if "stream_options" in body:
            return ScriptedReply(status=400, content=REJECTION)
        return replies.pop(0)

    with ScriptedServer(responder=strict) as server:
        model = provider(server)
        first = await _run(model, stream=True)
        second = await _run(model, stream=True)  # the same provider: it remembers
        sent = list(server.requests)
    final = first[-1]
    assert isinstance(final, RunCompleted) and final.response.messages[-1]["content"] == (
        "Tea costs 3 EUR."
    )
    assert isinstance(second[-1], RunCompleted)
    assert ["stream_options" in r for r in sent] == [True] + [False] * 6
    assert final.response.usage.requests == 3  # counted, though no tokens were reported
    assert final.response.usage.total_tokens == 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_other_400s_are_not_retried(
    server: ScriptedServer, provider: Callable[[ScriptedServer], Model]
) -> None:
    server.add(ScriptedReply(status=400, content="This model's maximum context length is 8"))
    with pytest.raises(ModelError, match="maximum context length"):
        await _run(provider(server), stream=True)
    assert len(server.requests) == 1


async def test_agent_tool_sub_runs_count_in_the_callers_usage(server: ScriptedServer) -> None:
    model = fast(server)
    researcher = Agent(name="Researcher", model=model)
    lead = Agent(name="Lead", model=model, functions=[researcher.as_tool()])
    server.add(
        ScriptedReply(tool_calls=[{"name": "researcher", "arguments": {"task": "find it"}}]),
        ScriptedReply(content="found"),
        ScriptedReply(content="The researcher found it."),
    )
    response = await Swarm(client=model).run_async(lead, USER)
    assert response.usage.requests == 3
    assert {k: v.requests for k, v in response.usage.by_agent.items()} == {
        "Lead": 2,
        "Researcher": 1,
    }
    [sub_run] = response.sub_runs.values()
    assert sub_run.usage.requests == 1 and sub_run.usage.by_agent.keys() == {"Researcher"}


def test_usage_arithmetic() -> None:
    usage = Usage()
    usage.add("A", ModelUsage(10, 5, 15, cached_tokens=4, reasoning_tokens=2))
    usage.add("B", None)  # an endpoint that reported nothing still counts as a request
    other = Usage()
    other.add("A", ModelUsage(1, 1, 2))
    usage.merge(other)
    assert (usage.requests, usage.input_tokens, usage.total_tokens) == (3, 11, 17)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (4, 2)
    assert usage.by_agent["A"].requests == 2 and usage.by_agent["B"].total_tokens == 0
    assert "3 requests" in usage.summary() and "A: 2 req" in usage.summary()
    assert model_usage({"prompt_tokens": 3, "completion_tokens": 4}) == ModelUsage(3, 4, 7)
    assert model_usage(None) is None


def test_swarmlet_run_debug_prints_usage(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from swarmlet.cli import app

    (tmp_path / "usage_app.py").write_text(
        'from swarmlet import Agent\nagent = Agent(name="Helper", model="m1")\n'
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ScriptedServer([ScriptedReply(content="hello there")]) as server:
        result = CliRunner().invoke(
            app,
            ["run", f"{tmp_path}/usage_app.py:agent", "--base-url", server.base_url, "--debug"],
            input="hi\n",
        )
    assert result.exit_code == 0, result.output
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "run usage ('Helper'): 1 requests," in text
    assert "[Helper: 1 req," in text
