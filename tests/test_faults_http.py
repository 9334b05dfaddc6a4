"""Fault injection over real HTTP: the scripted server misbehaves; swarmlet recovers or stops.

Every fault runs against both HTTP providers (the ``connect`` fixture): the official SDK's
``openai.AsyncOpenAI`` / ``openai.OpenAI`` and the lean ``FastHTTPModel``. They must agree on
the outcome; only wording the SDK owns (its "Connection error.") may differ, so messages are
asserted on their stable part.

Every case either recovers (retried by the client, or the model is told and continues) or
raises a precise :class:`~swarmlet.exceptions.RunError` subclass whose ``.response`` holds every
message produced before the fault. The policies asserted here are documented in
``docs/failures.md``; keep the two in step.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest

from swarmlet import Agent, Response, Swarm
from swarmlet.events import RunCompleted, TextDelta
from swarmlet.exceptions import (
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    RunError,
    UsageError,
)
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing import ScriptedModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer

USER = [{"role": "user", "content": "Where is order A1?"}]
FAST_RETRY = {"retry-after": "0.01"}  # the SDK honours sub-second Retry-After values
MODES = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])


def lookup_order(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id}: shipped"


AGENT = Agent(name="Support", model="scripted", functions=[lookup_order])
LOOKUP = ScriptedReply(tool_calls=[{"name": "lookup_order", "arguments": {"order_id": "A1"}}])


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


Connect = Callable[..., Any]
"""``connect(base_url, max_retries=0, timeout=5.0)``: the ``Swarm(client=...)`` under test."""


@pytest.fixture(params=["openai-sdk", "fast-http"])
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """Both HTTP providers, built with the same retry and timeout options.

    The SDK's ``openai.AsyncOpenAI`` (wrapped by swarmlet in ``OpenAIChatModel``) and the lean
    ``FastHTTPModel`` must meet every documented policy identically.
    """
    made: list[FastHTTPModel] = []

    def build(base_url: str, *, max_retries: int = 0, timeout: float = 5.0) -> Any:
        options = {"api_key": "x", "max_retries": max_retries, "timeout": timeout}
        if request.param == "openai-sdk":
            return openai.AsyncOpenAI(base_url=base_url, **options)  # type: ignore[arg-type]
        model = FastHTTPModel(base_url=base_url, **options)  # type: ignore[arg-type]
        made.append(model)
        return model

    yield build
    for model in made:
        await model.aclose()


async def run(
    swarm: Swarm,
    stream: bool,
    agent: Agent = AGENT,
    messages: list[dict[str, Any]] = USER,
    seen: list[str] | None = None,
) -> Response:
    """Run streaming or not; streamed text deltas are appended to ``seen``."""
    if not stream:
        return await swarm.run_async(agent, messages)
    async for event in swarm.stream(agent, messages):
        if isinstance(event, TextDelta) and seen is not None:
            seen.append(event.text)
        if isinstance(event, RunCompleted):
            return event.response
    raise AssertionError("no RunCompleted")


def contents(response: Response) -> list[tuple[str, Any]]:
    return [(m["role"], m.get("content")) for m in response.messages]


def assert_turn_one_tool_messages(messages: list[dict[str, Any]]) -> None:
    """The assistant's lookup call and its tool result, ids matching."""
    call, result = messages
    assert call["role"] == "assistant" and call["sender"] == "Support"
    (tool_call,) = call["tool_calls"]
    assert tool_call["function"] == {"name": "lookup_order", "arguments": '{"order_id":"A1"}'}
    assert result == {
        "role": "tool",
        "tool_call_id": tool_call["id"],
        "tool_name": "lookup_order",
        "content": "order A1: shipped",
    }


# --------------------------------------------------------------------------- retries (429/5xx)


@MODES
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retryable_status_is_retried_and_recovers(
    server: ScriptedServer, stream: bool, status: int, connect: Connect
) -> None:
    server.add(
        ScriptedReply(status=status, headers=FAST_RETRY),
        ScriptedReply(status=status, headers=FAST_RETRY),
        "It has shipped.",
    )
    response = await run(Swarm(client=connect(server.base_url, max_retries=2)), stream)
    assert contents(response) == [("assistant", "It has shipped.")]
    assert len(server.requests) == 3
    assert server.requests[0] == server.requests[2]  # a retry resends the same request


@MODES
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retryable_status_beyond_the_limit_raises_model_error(
    server: ScriptedServer, stream: bool, status: int, connect: Connect
) -> None:
    server.add(*[ScriptedReply(status=status, headers=FAST_RETRY)] * 3, "never reached")
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=2)), stream)
    exc = info.value
    assert type(exc) is ModelError
    assert exc.status_code == status
    assert str(exc).startswith("agent 'Support', turn 1: ")
    assert f"HTTP {status}" in str(exc)
    assert exc.agent_name == "Support" and exc.turn == 1
    assert exc.response is not None and exc.response.messages == []
    assert len(server.requests) == 3  # the first attempt and two retries
    assert server.pending == 1


async def test_backoff_without_retry_after_waits_before_retrying(
    server: ScriptedServer, connect: Connect
) -> None:
    server.add(ScriptedReply(status=503), "ok")
    started = time.monotonic()
    response = await run(Swarm(client=connect(server.base_url, max_retries=1)), False)
    # The SDK's first backoff is 0.5 s less up to 25 % jitter.
    assert time.monotonic() - started >= 0.35
    assert contents(response) == [("assistant", "ok")]
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("headers", "at_least"),
    [
        ({"retry-after": "0.6"}, 0.6),
        ({"retry-after-ms": "600"}, 0.6),
        ({"retry-after": "0"}, 0.35),  # not a usable wait: the 0.5 s backoff (less jitter)
    ],
    ids=["seconds", "milliseconds", "zero"],
)
async def test_retry_after_is_honoured(
    server: ScriptedServer, connect: Connect, headers: dict[str, str], at_least: float
) -> None:
    server.add(ScriptedReply(status=429, headers=headers), "ok")
    started = time.monotonic()
    await run(Swarm(client=connect(server.base_url, max_retries=1)), False)
    assert time.monotonic() - started >= at_least
    assert len(server.requests) == 2


@pytest.mark.parametrize(("status", "hint", "requests"), [(503, "false", 1), (400, "true", 2)])
async def test_x_should_retry_overrides_the_status(
    server: ScriptedServer, connect: Connect, status: int, hint: str, requests: int
) -> None:
    headers = {**FAST_RETRY, "x-should-retry": hint}
    server.add(*[ScriptedReply(status=status, headers=headers)] * 2)
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=1)), False)
    assert info.value.status_code == status
    assert len(server.requests) == requests


async def test_retry_after_beyond_the_sdk_cap_is_not_retried(
    server: ScriptedServer, connect: Connect
) -> None:
    # The openai SDK refuses to sleep more than 120 s: such an answer fails at once.
    server.add(ScriptedReply(status=429, headers={"retry-after": "3600"}), "never reached")
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=3)), False)
    assert type(info.value) is ModelError and info.value.status_code == 429
    assert len(server.requests) == 1


async def test_client_error_status_is_not_retried(server: ScriptedServer, connect: Connect) -> None:
    server.add(ScriptedReply(status=400, content="messages: bad role"), "never reached")
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=3)), False)
    assert info.value.status_code == 400
    assert "HTTP 400: messages: bad role" in str(info.value)
    assert len(server.requests) == 1


@MODES
async def test_fault_on_turn_two_keeps_the_tool_call_and_result(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(LOOKUP, *[ScriptedReply(status=503, headers=FAST_RETRY)] * 2)
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=1)), stream)
    exc = info.value
    assert exc.turn == 2 and exc.status_code == 503
    assert str(exc).startswith("agent 'Support', turn 2: ")
    assert exc.response is not None
    assert_turn_one_tool_messages(exc.response.messages)
    assert exc.response.agent is not None and exc.response.agent.name == "Support"

    # The caller persists the messages and retries once the endpoint is back.
    server.add("It has shipped.")
    resumed = await run(
        Swarm(client=connect(server.base_url)), stream, messages=USER + exc.response.messages
    )
    assert contents(resumed) == [("assistant", "It has shipped.")]
    sent = server.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[3]["content"] == "order A1: shipped"


# --------------------------------------------------------------------------- Swarm(max_retries)


@pytest.fixture
def endpoint_env(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedServer:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    return server


@pytest.mark.parametrize(("max_retries", "requests"), [(0, 1), (1, 2)])
async def test_swarm_max_retries_configures_the_default_client(
    endpoint_env: ScriptedServer, max_retries: int, requests: int
) -> None:
    endpoint_env.add(*[ScriptedReply(status=503, headers=FAST_RETRY)] * 2)
    with pytest.raises(ModelError) as info:
        await Swarm(max_retries=max_retries).run_async(AGENT, USER)
    assert info.value.status_code == 503
    assert len(endpoint_env.requests) == requests


async def test_swarm_timeout_configures_the_default_client(endpoint_env: ScriptedServer) -> None:
    endpoint_env.add(ScriptedReply(fault="hang"))
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError):
        await Swarm(max_retries=0, timeout=0.3).run_async(AGENT, USER)
    assert time.monotonic() - started < 3


async def test_swarm_retry_options_apply_to_a_given_openai_client(server: ScriptedServer) -> None:
    # SDK only: a provider instance (FastHTTPModel included) plus max_retries is a UsageError.
    server.add(*[ScriptedReply(status=500, headers=FAST_RETRY)] * 3)
    given = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=5)
    with pytest.raises(ModelError):
        await Swarm(client=given, max_retries=1).run_async(AGENT, USER)
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "provider",
    [ScriptedModel(["hi"]), FastHTTPModel(base_url="http://127.0.0.1:9/v1")],
    ids=["scripted", "fast-http"],
)
def test_swarm_retry_options_with_a_provider_instance_are_a_usage_error(provider: Any) -> None:
    with pytest.raises(UsageError, match="max_retries"):
        Swarm(client=provider, max_retries=1)


# --------------------------------------------------------------------------- transport faults


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@MODES
async def test_connection_refused_raises_model_error(stream: bool, connect: Connect) -> None:
    refused = connect(f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=refused), stream)
    exc = info.value
    assert type(exc) is ModelError and exc.status_code is None
    assert "turn 1: the connection to the model endpoint failed" in str(exc)
    assert exc.response is not None and exc.response.messages == []


@MODES
async def test_connection_reset_raises_model_error_naming_the_reset(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(LOOKUP, ScriptedReply(fault="reset"))
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url)), stream)
    exc = info.value
    assert type(exc) is ModelError and exc.turn == 2
    assert "connection to the model endpoint failed" in str(exc)
    assert "reset" in str(exc).lower()
    assert exc.response is not None
    assert_turn_one_tool_messages(exc.response.messages)
    assert len(server.requests) == 2


@MODES
async def test_connection_reset_is_retried(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(ScriptedReply(fault="reset"), "recovered")
    response = await run(Swarm(client=connect(server.base_url, max_retries=1)), stream)
    assert contents(response) == [("assistant", "recovered")]
    assert len(server.requests) == 2


@MODES
async def test_read_timeout_raises_model_timeout_error(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(LOOKUP, ScriptedReply(fault="hang"))
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError) as info:
        await run(Swarm(client=connect(server.base_url, timeout=0.3)), stream)
    assert time.monotonic() - started < 3
    exc = info.value
    assert exc.turn == 2 and exc.status_code is None
    assert "turn 2: the model endpoint timed out: Request timed out." in str(exc)
    assert exc.response is not None
    assert_turn_one_tool_messages(exc.response.messages)
    assert len(server.requests) == 2


async def test_read_timeout_is_retried(server: ScriptedServer, connect: Connect) -> None:
    server.add(ScriptedReply(fault="hang"), "recovered")
    response = await run(Swarm(client=connect(server.base_url, max_retries=1, timeout=0.3)), False)
    assert contents(response) == [("assistant", "recovered")]
    assert len(server.requests) == 2


async def test_cut_stream_raises_model_error_after_the_partial_text_was_streamed(
    server: ScriptedServer, connect: Connect
) -> None:
    cut = ScriptedReply(content="Your order A1 has shipped today.", fault="cut_stream")
    server.add(LOOKUP, cut)
    seen: list[str] = []
    with pytest.raises(ModelError) as info:
        # Not retried even with retries left: deltas of the broken reply were already delivered.
        await run(Swarm(client=connect(server.base_url, max_retries=2)), True, seen=seen)
    exc = info.value
    assert type(exc) is ModelError and exc.turn == 2 and exc.status_code is None
    assert "turn 2: the connection to the model endpoint failed" in str(exc)
    assert "incomplete chunked read" in str(exc)
    assert seen and "Your order A1 has shipped today.".startswith("".join(seen))
    assert "".join(seen) != "Your order A1 has shipped today."
    assert exc.response is not None
    assert_turn_one_tool_messages(exc.response.messages)  # the partial reply is not kept
    assert len(server.requests) == 2


async def test_truncated_complete_body_is_retried_then_fails(
    server: ScriptedServer, connect: Connect
) -> None:
    server.add(*[ScriptedReply(content="Your order has shipped.", fault="cut_stream")] * 2)
    with pytest.raises(ModelError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=1)), False)
    assert type(info.value) is ModelError
    assert "the connection to the model endpoint failed" in str(info.value)
    assert "complete message body" in str(info.value)
    assert len(server.requests) == 2


@MODES
async def test_reply_without_finish_reason_is_accepted(
    server: ScriptedServer, stream: bool, caplog: pytest.LogCaptureFixture, connect: Connect
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=[{"name": "lookup_order", "arguments": {"order_id": "A1"}}],
            fault="no_finish_reason",
        ),
        ScriptedReply(content="Your order A1 has shipped.", fault="no_finish_reason"),
    )
    with caplog.at_level(logging.WARNING, logger="swarmlet.models"):
        response = await run(Swarm(client=connect(server.base_url)), stream)
    assert_turn_one_tool_messages(response.messages[:2])
    assert contents(response)[2] == ("assistant", "Your order A1 has shipped.")
    warned = [r for r in caplog.records if "without a finish_reason" in r.getMessage()]
    assert len(warned) == (2 if stream else 0)


@MODES
async def test_non_json_chunk_raises_model_response_error(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(LOOKUP, ScriptedReply(content="Your order has shipped.", fault="bad_json_chunk"))
    with pytest.raises(ModelResponseError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=2)), stream)
    exc = info.value
    assert "turn 2: the endpoint sent a malformed response" in str(exc)
    assert exc.response is not None
    assert_turn_one_tool_messages(exc.response.messages)
    assert len(server.requests) == 2  # malformed answers are not retried


@MODES
async def test_non_json_body_raises_model_response_error(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(ScriptedReply(fault="raw", content="<html><body>Bad gateway</body></html>"))
    with pytest.raises(ModelResponseError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=2)), stream)
    exc = info.value
    assert exc.agent_name == "Support" and exc.turn == 1 and exc.status_code is None
    expected = "streamed no choices" if stream else "the endpoint sent a malformed response"
    assert expected in str(exc)
    assert exc.response is not None and exc.response.messages == []
    assert len(server.requests) == 1


# --------------------------------------------------------------------------- odd replies


@MODES
async def test_empty_choices_raises_model_response_error(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(LOOKUP, ScriptedReply(fault="empty_choices"))
    with pytest.raises(ModelResponseError) as info:
        await run(Swarm(client=connect(server.base_url, max_retries=2)), stream)
    exc = info.value
    assert "turn 2:" in str(exc) and "no choices" in str(exc)
    assert exc.response is not None
    assert_turn_one_tool_messages(exc.response.messages)
    assert len(server.requests) == 2  # not retried


@MODES
async def test_null_content_without_tool_calls_is_an_empty_answer(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(ScriptedReply(content="ignored", fault="null_content"), "Sorry, here it is.")
    swarm = Swarm(client=connect(server.base_url))
    response = await run(swarm, stream)
    assert response.messages == [
        {
            "content": None,
            "refusal": None,
            "role": "assistant",
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": None,
            "sender": "Support",
        }
    ]
    # The empty answer can be sent back: it goes out as content "" (not null).
    await run(swarm, stream, messages=USER + response.messages)
    assert server.requests[1]["messages"][2] == {"role": "assistant", "content": ""}


@MODES
async def test_tool_call_with_empty_name_is_reported_and_the_run_continues(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    server.add(ScriptedReply(tool_calls=[{"name": "", "arguments": {}}]), "Let me retry.")
    response = await run(Swarm(client=connect(server.base_url)), stream)
    call, result, answer = response.messages
    assert call["tool_calls"][0]["function"]["name"] == ""
    assert result["tool_call_id"] == call["tool_calls"][0]["id"]
    assert result["content"] == "Error: Tool '' not found. Available tools: lookup_order."
    assert answer["content"] == "Let me retry."
    assert server.requests[1]["messages"][-1]["content"] == result["content"]


@MODES
async def test_repeated_tool_call_ids_are_made_unique(
    server: ScriptedServer, stream: bool, connect: Connect
) -> None:
    calls = [
        {"name": "lookup_order", "arguments": {"order_id": order}, "id": "call_dup"}
        for order in ("A1", "B2", "C3")
    ]
    server.add(ScriptedReply(tool_calls=calls), "All three shipped.")
    response = await run(Swarm(client=connect(server.base_url)), stream)
    call, *results, answer = response.messages
    ids = [c["id"] for c in call["tool_calls"]]
    assert ids[0] == "call_dup" and len(set(ids)) == 3
    assert [r["tool_call_id"] for r in results] == ids
    assert [r["content"] for r in results] == [f"order {o}: shipped" for o in ("A1", "B2", "C3")]
    assert answer["content"] == "All three shipped."
    sent = server.requests[1]["messages"]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ids


@MODES
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ('{"order_id": "A1"', "Invalid arguments for lookup_order: arguments are not valid JSON"),
        ('["A1"]', "Invalid arguments for lookup_order: arguments must be a JSON object, got list"),
        ('"A1"', "Invalid arguments for lookup_order: arguments must be a JSON object, got str"),
    ],
    ids=["not-json", "json-array", "json-string"],
)
async def test_bad_tool_arguments_are_reported_and_the_run_continues(
    server: ScriptedServer, stream: bool, arguments: str, error: str, connect: Connect
) -> None:
    server.add(
        ScriptedReply(tool_calls=[{"name": "lookup_order", "arguments": arguments}]),
        LOOKUP,
        "It has shipped.",
    )
    response = await run(Swarm(client=connect(server.base_url)), stream)
    roles = [m["role"] for m in response.messages]
    assert roles == ["assistant", "tool", "assistant", "tool", "assistant"]
    bad, fixed = response.messages[1], response.messages[3]
    assert bad["content"].startswith(f"Error: {error}")
    assert fixed["content"] == "order A1: shipped"
    assert server.requests[1]["messages"][-1]["content"] == bad["content"]


# --------------------------------------------------------------------------- sync Swarm.run


@pytest.fixture(params=["openai-sdk", "fast-http"])
def sync_connect(request: pytest.FixtureRequest) -> Connect:
    """The sync SDK client ``openai.OpenAI``, or ``FastHTTPModel`` driven by sync ``Swarm.run``.

    The lean provider is not closed here: its connections belong to the Swarm's private event
    loop, not to this test's.
    """

    def build(base_url: str, *, max_retries: int = 0, timeout: float = 5.0) -> Any:
        options = {"api_key": "x", "max_retries": max_retries, "timeout": timeout}
        if request.param == "openai-sdk":
            return openai.OpenAI(base_url=base_url, **options)  # type: ignore[arg-type]
        return FastHTTPModel(base_url=base_url, **options)  # type: ignore[arg-type]

    return build


@MODES
def test_sync_client_retries_429_and_recovers(
    server: ScriptedServer, stream: bool, sync_connect: Connect
) -> None:
    server.add(ScriptedReply(status=429, headers=FAST_RETRY), LOOKUP, "It has shipped.")
    swarm = Swarm(client=sync_connect(server.base_url, max_retries=1))
    if stream:
        events = list(swarm.run(AGENT, USER, stream=True))
        response = events[-1]["response"]
    else:
        response = swarm.run(AGENT, USER)
    assert_turn_one_tool_messages(response.messages[:2])
    assert response.messages[2]["content"] == "It has shipped."
    assert len(server.requests) == 3


def test_sync_client_timeout_raises_model_timeout_error(
    server: ScriptedServer, sync_connect: Connect
) -> None:
    server.add(LOOKUP, ScriptedReply(fault="hang"))
    swarm = Swarm(client=sync_connect(server.base_url, max_retries=0, timeout=0.3))
    with pytest.raises(ModelTimeoutError) as info:
        swarm.run(AGENT, USER)
    assert info.value.turn == 2 and info.value.response is not None
    assert_turn_one_tool_messages(info.value.response.messages)


def test_sync_client_cut_stream_raises_from_the_swarm_event_iterator(
    server: ScriptedServer, sync_connect: Connect
) -> None:
    server.add(ScriptedReply(content="Your order A1 has shipped today.", fault="cut_stream"))
    swarm = Swarm(client=sync_connect(server.base_url, max_retries=0))
    events: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as info:
        events.extend(swarm.run(AGENT, USER, stream=True))
    assert type(info.value) is ModelError and "incomplete" in str(info.value)
    assert events[0] == {"delim": "start"}
    assert any(e.get("content") for e in events)  # partial text reached the caller first


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (ScriptedReply(content="x", fault="bad_json_chunk"), ModelResponseError),
        (ScriptedReply(fault="empty_choices"), ModelResponseError),
        (ScriptedReply(fault="reset"), ModelError),
        (ScriptedReply(status=500, headers=FAST_RETRY), ModelError),
    ],
    ids=["bad-json", "empty-choices", "reset", "http-500"],
)
@MODES
def test_sync_client_faults_raise_run_errors(
    server: ScriptedServer,
    stream: bool,
    reply: ScriptedReply,
    error: type[RunError],
    sync_connect: Connect,
) -> None:
    server.add(reply)
    swarm = Swarm(client=sync_connect(server.base_url, max_retries=0))
    with pytest.raises(error) as info:
        if stream:
            list(swarm.run(AGENT, USER, stream=True))
        else:
            swarm.run(AGENT, USER)
    assert info.value.agent_name == "Support" and info.value.turn == 1
    assert info.value.response is not None and info.value.response.messages == []


@pytest.mark.parametrize("provider", ["openai-sdk", "fast-http"])
async def test_a_server_echoing_the_api_key_never_puts_it_in_the_error(
    server: ScriptedServer, provider: str
) -> None:
    key = "sk-test-secret-0123456789"
    echo = {"error": {"message": f"Incorrect API key provided: {key}.", "type": "auth"}}
    server.add(ScriptedReply(fault="raw", status=401, content=json.dumps(echo)))
    client: Any = (
        openai.AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0)
        if provider == "openai-sdk"
        else FastHTTPModel(base_url=server.base_url, api_key=key, max_retries=0)
    )
    with pytest.raises(ModelError) as caught:
        await Swarm(client=client).run_async(AGENT, USER)
    message = str(caught.value)
    assert "Incorrect API key provided: [REDACTED]." in message
    assert key not in message and key not in repr(caught.value)
    if provider == "fast-http":
        await client.aclose()
