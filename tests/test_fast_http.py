"""FastHTTPModel (the lean HTTP provider) against the real ScriptedServer on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import RunCompleted, ToolCallDelta
from swarmlet.exceptions import (
    ModelConfigurationError,
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    RunError,
)
from swarmlet.models import Model
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.models.merge import DeltaAccumulator
from swarmlet.models.openai_compat import OpenAIChatModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer
from tests.http_support import (
    TOOLS,
    USER,
    assert_two_lookups_answered,
    lookup_order,
    request,
    two_calls,
)


@pytest.fixture
async def model(server: ScriptedServer) -> AsyncIterator[FastHTTPModel]:
    provider = FastHTTPModel(base_url=server.base_url, api_key="k", max_retries=0)
    yield provider
    await provider.aclose()


def test_is_a_model() -> None:
    assert isinstance(FastHTTPModel(base_url="http://127.0.0.1:9/v1"), Model)


def test_does_not_import_the_openai_sdk() -> None:
    # The point of the lean path: the SDK's import (and request path) is never paid for.
    code = (
        "import sys\n"
        "from swarmlet import Swarm\n"
        "from swarmlet.models.fast_http import FastHTTPModel\n"
        "Swarm(client=FastHTTPModel(base_url='http://127.0.0.1:9/v1'))\n"
        "print('openai' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


async def test_complete_text_and_request_shape(
    server: ScriptedServer, model: FastHTTPModel
) -> None:
    server.add("Hello!")
    message = await model.complete(request())
    assert message.content == "Hello!" and message.tool_calls == []
    assert message.finish_reason == "stop"
    sent = server.requests[0]
    assert sent["model"] == "scripted" and sent["messages"][1] == USER[0]
    assert "tools" not in sent and "tool_choice" not in sent and "stream" not in sent
    assert server.request_headers[0]["authorization"] == "Bearer k"


async def test_sends_the_same_body_as_the_sdk_provider(
    server: ScriptedServer, model: FastHTTPModel
) -> None:
    req = request(tools=TOOLS, tool_choice="auto", parallel_tool_calls=True, settings={"seed": 1})
    server.add("one")
    await model.complete(req)
    sdk_params = OpenAIChatModel(client=object.__new__(_FakeClient)).params(req, stream=False)
    assert server.requests[0] == json.loads(json.dumps(sdk_params))


class _FakeClient:
    class chat:
        class completions:
            @staticmethod
            async def create(**kwargs: object) -> None:
                return None


async def test_complete_tool_calls(server: ScriptedServer, model: FastHTTPModel) -> None:
    server.add(two_calls())
    message = await model.complete(request(tools=TOOLS, parallel_tool_calls=True))
    assert [json.loads(c.arguments)["order_id"] for c in message.tool_calls] == ["A1", "B2"]
    assert all(c.id and c.name == "lookup_order" for c in message.tool_calls)
    assert message.finish_reason == "tool_calls"


@pytest.mark.parametrize("per_chunk", [False, True])
async def test_stream_merges_split_arguments_and_several_calls_per_chunk(
    server: ScriptedServer, model: FastHTTPModel, per_chunk: bool
) -> None:
    server.add(two_calls(chunks=6, tool_calls_per_chunk=per_chunk))
    deltas = [d async for d in model.stream(request(tools=TOOLS))]
    # Chunks that arrive in one read come as one delta (sse.read_deltas), so how many deltas
    # there are depends on the reads; fragments of both calls are passed on either way.
    assert {f.index for d in deltas for f in d.tool_calls} == {0, 1}
    accumulator = DeltaAccumulator()
    for delta in deltas:
        accumulator.add(delta)
    merged = accumulator.message()
    assert [json.loads(c.arguments) for c in merged.tool_calls] == [
        {"order_id": "A1", "note": "x" * 40},
        {"order_id": "B2", "note": "y" * 40},
    ]
    assert merged.finish_reason == "tool_calls"
    assert server.requests[0]["stream"] is True


async def test_stream_text_and_the_usage_chunk_without_choices(
    server: ScriptedServer, model: FastHTTPModel
) -> None:
    server.add(ScriptedReply(content="Hello there, streaming world", chunks=5))
    deltas = [d async for d in model.stream(request())]
    assert "".join(d.content or "" for d in deltas) == "Hello there, streaming world"
    assert deltas[-2].finish_reason == "stop"
    usage = deltas[-1].usage  # the usage chunk (no choices) is a delta of its own
    assert usage is not None and usage.output_tokens > 0 and not deltas[-1].content
    assert server.requests[0]["stream_options"] == {"include_usage": True}


async def test_http_errors_become_swarmlet_exceptions(
    server: ScriptedServer, model: FastHTTPModel
) -> None:
    server.add(
        ScriptedReply(status=401, content="bad key"),
        ScriptedReply(status=404, content="no such model"),
        ScriptedReply(status=500),
        ScriptedReply(status=429, content="slow down"),
    )
    with pytest.raises(ModelConfigurationError) as refused:
        await model.complete(request())
    assert refused.value.status_code == 401 and "bad key" in str(refused.value)
    with pytest.raises(ModelConfigurationError) as missing:
        await model.complete(request())
    assert missing.value.status_code == 404
    with pytest.raises(ModelError) as failed:
        await model.complete(request())
    assert failed.value.status_code == 500 and "HTTP 500" in str(failed.value)
    with pytest.raises(ModelError) as limited:
        [d async for d in model.stream(request())]
    assert limited.value.status_code == 429 and "slow down" in str(limited.value)


async def test_retries_retryable_statuses_honouring_retry_after(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=503, headers={"retry-after": "0.01"}), "recovered")
    provider = FastHTTPModel(base_url=server.base_url, api_key="k", max_retries=1)
    try:
        assert (await provider.complete(request())).content == "recovered"
    finally:
        await provider.aclose()
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("bad_json_chunk", ModelResponseError),
        ("reset", ModelError),
    ],
)
async def test_broken_streams_become_swarmlet_exceptions(
    server: ScriptedServer, model: FastHTTPModel, fault: str, error: type[Exception]
) -> None:
    server.add(ScriptedReply(content="partial answer here", fault=fault, chunks=4))
    with pytest.raises(error):
        [d async for d in model.stream(request())]


async def test_malformed_body_and_empty_choices(
    server: ScriptedServer, model: FastHTTPModel
) -> None:
    server.add(ScriptedReply(content="not json", fault="raw"), ScriptedReply(fault="empty_choices"))
    with pytest.raises(ModelResponseError):
        await model.complete(request())
    with pytest.raises(ModelResponseError, match="no choices"):
        await model.complete(request())


async def test_timeout_and_unreachable_endpoint() -> None:
    with ScriptedServer([ScriptedReply(fault="hang")]) as srv:
        slow = FastHTTPModel(base_url=srv.base_url, timeout=0.3, max_retries=0)
        started = time.perf_counter()
        with pytest.raises(ModelTimeoutError):
            await slow.complete(request())
        assert time.perf_counter() - started < 5
        await slow.aclose()
    closed = FastHTTPModel(base_url=srv.base_url, max_retries=0)
    with pytest.raises(ModelError, match="connection to the model endpoint failed"):
        await closed.complete(request())
    await closed.aclose()


@pytest.mark.parametrize("stream", [False, True])
async def test_full_run_through_swarm(server: ScriptedServer, stream: bool) -> None:
    server.add(two_calls(chunks=3, tool_calls_per_chunk=True), "Both shipped.")
    provider = FastHTTPModel(base_url=server.base_url, api_key="k", max_retries=0)
    client = Swarm(client=provider)
    agent = Agent(model="scripted", functions=[lookup_order])
    if stream:
        events = [e async for e in client.stream(agent, USER)]
        assert sum(isinstance(e, ToolCallDelta) for e in events) >= 4
        last = events[-1]
        assert isinstance(last, RunCompleted)
        response = last.response
    else:
        response = await client.run_async(agent, USER)
    await provider.aclose()
    assert_two_lookups_answered(response, server)


async def test_run_error_carries_position(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=400, content="bad request"))
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0)
    with pytest.raises(RunError) as failed:
        await Swarm(client=provider).run_async(Agent(name="A", model="scripted"), USER)
    await provider.aclose()
    assert "agent 'A', turn 1" in str(failed.value) and "bad request" in str(failed.value)
