"""The OpenAI-compatible provider against a real HTTP server on 127.0.0.1 (official SDK clients)."""

from __future__ import annotations

import json

import openai
import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import ToolCallDelta
from swarmlet.exceptions import ModelConfigurationError, ModelError
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


def async_model(server: ScriptedServer) -> OpenAIChatModel:
    return OpenAIChatModel(openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0))


async def test_complete_text_and_request_shape(server: ScriptedServer) -> None:
    server.add("Hello!")
    message = await async_model(server).complete(request())
    assert message.content == "Hello!" and message.tool_calls == []
    sent = server.requests[0]
    assert sent["model"] == "scripted" and sent["messages"][1] == USER[0]
    assert "tools" not in sent and "tool_choice" not in sent and "stream" not in sent


async def test_complete_tool_calls(server: ScriptedServer) -> None:
    server.add(two_calls())
    message = await async_model(server).complete(request(tools=TOOLS, parallel_tool_calls=True))
    assert [json.loads(c.arguments)["order_id"] for c in message.tool_calls] == ["A1", "B2"]
    assert (
        server.requests[0]["tools"] == TOOLS and server.requests[0]["parallel_tool_calls"] is True
    )


@pytest.mark.parametrize("per_chunk", [False, True])
async def test_stream_merges_arguments_split_across_chunks(
    server: ScriptedServer, per_chunk: bool
) -> None:
    server.add(two_calls(chunks=6, tool_calls_per_chunk=per_chunk))
    deltas = [d async for d in async_model(server).stream(request(tools=TOOLS))]
    fragments_per_delta = [len(d.tool_calls) for d in deltas if d.tool_calls]
    # Arguments really arrive in pieces; with per_chunk both calls share chunks.
    assert len(fragments_per_delta) >= 6
    assert (max(fragments_per_delta) == 2) is per_chunk
    accumulator = DeltaAccumulator()
    for delta in deltas:
        accumulator.add(delta)
    calls = accumulator.message().tool_calls
    assert [json.loads(c.arguments) for c in calls] == [
        {"order_id": "A1", "note": "x" * 40},
        {"order_id": "B2", "note": "y" * 40},
    ]
    assert server.requests[0]["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_full_run_over_http_with_the_sync_client(server: ScriptedServer, stream: bool) -> None:
    server.add(two_calls(chunks=3, tool_calls_per_chunk=True), "Both shipped.")
    client = Swarm(client=openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0))
    agent = Agent(model="scripted", functions=[lookup_order])
    if stream:
        events = list(client.run(agent, USER, stream=True))
        response = events[-1]["response"]
    else:
        response = client.run(agent, USER)
    assert_two_lookups_answered(response, server)


async def test_async_stream_events_over_http(server: ScriptedServer) -> None:
    server.add(two_calls(chunks=4), "done")
    client = Swarm(client=openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0))
    agent = Agent(model="scripted", functions=[lookup_order])
    events = [e async for e in client.stream(agent, USER)]
    assert sum(isinstance(e, ToolCallDelta) for e in events) >= 8


async def test_http_errors_become_swarmlet_exceptions(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=401, content="bad key"), ScriptedReply(status=500))
    model = async_model(server)
    with pytest.raises(ModelConfigurationError) as refused:
        await model.complete(request())
    assert refused.value.status_code == 401
    with pytest.raises(ModelError) as failed:
        await model.complete(request())
    assert failed.value.status_code == 500 and "HTTP 500" in str(failed.value)


async def test_abandoning_a_stream_closes_the_sdk_stream() -> None:
    closed: list[bool] = []

    class FakeStream:
        def __init__(self) -> None:
            self.items = [chunk_dict("a"), chunk_dict("b"), chunk_dict("c")]

        def __aiter__(self) -> FakeStream:
            return self

        async def __anext__(self) -> dict[str, object]:
            if not self.items:
                raise StopAsyncIteration
            return self.items.pop(0)

        async def close(self) -> None:
            closed.append(True)

    class Completions:
        async def create(self, **kwargs: object) -> FakeStream:
            return FakeStream()

    class Client:
        chat = type("Chat", (), {"completions": Completions()})()

    stream = OpenAIChatModel(Client()).stream(request())
    first = await stream.__anext__()  # type: ignore[attr-defined]
    await stream.aclose()  # type: ignore[attr-defined]
    assert first.content == "a" and closed == [True]


def chunk_dict(text: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
