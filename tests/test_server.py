"""The scripted Chat Completions server, over real loopback HTTP.

The official ``openai`` clients check that what we send parses as the real API; raw
``http.client`` and socket clients check what is actually on the wire (faults, framing).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from swarmlet.testing.server import (
    ScriptedReply,
    ScriptedServer,
    conversation_responder,
)

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
CHAT = {"model": "scripted", "messages": MESSAGES}
STREAM = {**CHAT, "stream": True}


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    """Start ScriptedServers for a test and always stop them."""
    started: list[ScriptedServer] = []

    def start(*replies: ScriptedReply | str, **options: Any) -> ScriptedServer:
        server = ScriptedServer(replies, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def client(server: ScriptedServer, **options: Any) -> openai.OpenAI:
    # No retries: a retry would silently consume the next scripted reply.
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, **options)


def post(
    server: ScriptedServer, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def raw_exchange(server: ScriptedServer, request: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    received = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        while data := sock.recv(65536):
            received.append(data)
    return b"".join(received)


def raw_post(body: dict[str, Any], path: str = "/v1/chat/completions") -> bytes:
    payload = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(payload)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + payload


def sse_data(text: bytes | str) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode()
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


def chunks_of(text: bytes) -> list[dict[str, Any]]:
    return [json.loads(d) for d in sse_data(text) if d != "[DONE]"]


# --- the openai SDK understands every normal reply --------------------------------------------


def test_text_reply_parses_as_chat_completion(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("Hello there!")
    completion = client(server).chat.completions.create(model="gpt-x", messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-x"
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello there!"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_tool_call_arguments_and_ids_round_trip(serve: Callable[..., ScriptedServer]) -> None:
    calls = [
        {"name": "lookup", "arguments": {"order_id": "A1", "n": [1, 2]}},
        {"name": "broken", "arguments": '{"not json'},
        {"name": "again", "arguments": {}},
        {"name": "fixed", "arguments": "{}", "id": "dup"},
        {"name": "fixed", "arguments": "{}", "id": "dup"},
    ]
    server = serve(ScriptedReply(tool_calls=calls))
    completion = client(server).chat.completions.create(**CHAT)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    tool_calls = choice.message.tool_calls or []
    assert [c.function.name for c in tool_calls] == ["lookup", "broken", "again", "fixed", "fixed"]
    assert json.loads(tool_calls[0].function.arguments) == {"order_id": "A1", "n": [1, 2]}
    assert tool_calls[1].function.arguments == '{"not json'
    generated = [tool_calls[0].id, tool_calls[2].id]
    assert all(i.startswith("call_") for i in generated) and len(set(generated)) == 2
    assert [tool_calls[3].id, tool_calls[4].id] == ["dup", "dup"]


def test_generated_call_ids_stay_unique_when_a_reply_is_reused(
    serve: Callable[..., ScriptedServer],
) -> None:
    reply = ScriptedReply(tool_calls=[{"name": "f", "arguments": {}}])
    server = serve(default_reply=reply)
    sdk = client(server)
    ids = set()
    for _ in range(3):
        calls = sdk.chat.completions.create(**CHAT).choices[0].message.tool_calls or []
        ids.update(c.id for c in calls)
    assert len(ids) == 3


def test_stream_text_reassembles_with_role_first_and_finish_last(
    serve: Callable[..., ScriptedServer],
) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    server = serve(text, stream_chunks=5)
    stream = client(server).chat.completions.create(**STREAM)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) == 5
    assert "".join(pieces) == text
    finishes = [c.choices[0].finish_reason for c in chunks]
    assert finishes[-1] == "stop" and not any(finishes[:-1])
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_stream_include_usage_sends_a_final_usage_chunk(
    serve: Callable[..., ScriptedServer],
) -> None:
    server = serve("counted", "not counted")
    sdk = client(server)
    with_usage = list(sdk.chat.completions.create(**STREAM, stream_options={"include_usage": True}))
    assert with_usage[-1].choices == []
    assert with_usage[-1].usage is not None and with_usage[-1].usage.completion_tokens > 0
    without = list(sdk.chat.completions.create(**STREAM))
    assert all(c.choices and c.usage is None for c in without)


def test_stream_tool_call_arguments_split_and_reassemble(
    serve: Callable[..., ScriptedServer],
) -> None:
    args = [{"order_id": "A1", "note": "x" * 40}, {"q": "second call"}]
    reply = ScriptedReply(
        tool_calls=[{"name": "lookup", "arguments": args[0]}, {"name": "g", "arguments": args[1]}],
        chunks=3,
    )
    server = serve(reply)
    chunks = list(client(server).chat.completions.create(**STREAM))
    fragments: dict[int, list[str]] = {0: [], 1: []}
    names: dict[int, str] = {}
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            assert delta.function is not None
            if delta.function.name:
                names[delta.index] = delta.function.name
            if delta.function.arguments:
                fragments[delta.index].append(delta.function.arguments)
    assert names == {0: "lookup", 1: "g"}
    assert [len(f) for f in fragments.values()] == [3, 3]
    assert [json.loads("".join(f)) for f in fragments.values()] == args
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_calls_per_chunk_puts_several_calls_in_one_chunk(
    serve: Callable[..., ScriptedServer],
) -> None:
    calls = [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": 2}}]
    server = serve(
        ScriptedReply(tool_calls=calls, tool_calls_per_chunk=True),
        ScriptedReply(tool_calls=calls),
    )
    _, together = post(server, STREAM)
    _, apart = post(server, STREAM)

    def widest(body: bytes) -> int:
        deltas = [c["choices"][0]["delta"].get("tool_calls") or [] for c in chunks_of(body)]
        return max(len(d) for d in deltas)

    assert widest(together) == 2
    assert widest(apart) == 1
    first = next(c for c in chunks_of(together) if c["choices"][0]["delta"].get("tool_calls"))
    starts = first["choices"][0]["delta"]["tool_calls"]
    assert [(t["index"], t["function"]["name"]) for t in starts] == [(0, "a"), (1, "b")]


async def test_async_client_plain_and_streamed(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("async hello", "async stream")
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    completion = await sdk.chat.completions.create(**CHAT)
    assert completion.choices[0].message.content == "async hello"
    stream = await sdk.chat.completions.create(**STREAM)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "async stream"
    await sdk.close()


async def test_serve_forever_inside_a_running_loop() -> None:
    server = ScriptedServer(["in loop"])
    listening = asyncio.Event()
    task = asyncio.create_task(server.serve_forever(on_listening=lambda _url: listening.set()))
    await asyncio.wait_for(listening.wait(), 5)
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    completion = await sdk.chat.completions.create(**CHAT)
    await sdk.close()
    server.stop()
    await asyncio.wait_for(task, 5)
    assert completion.choices[0].message.content == "in loop"


def test_models_endpoint_lists_configured_models(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(models=["alpha", "beta"])
    assert [m.id for m in client(server).models.list()] == ["alpha", "beta"]


# --- script handling ---------------------------------------------------------------------------


def test_requests_and_headers_are_recorded(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("one")
    server.add("two")
    sdk = client(server)
    sdk.chat.completions.create(model="m1", messages=[{"role": "user", "content": "first"}])
    second = sdk.chat.completions.create(model="m2", messages=MESSAGES, temperature=0.5)
    assert second.choices[0].message.content == "two"
    assert [r["model"] for r in server.requests] == ["m1", "m2"]
    assert server.requests[0]["messages"] == [{"role": "user", "content": "first"}]
    assert server.requests[1]["temperature"] == 0.5
    assert server.request_headers[0]["authorization"] == "Bearer x"


def test_exhausted_script_answers_500(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("only one")
    sdk = client(server)
    sdk.chat.completions.create(**CHAT)
    with pytest.raises(openai.InternalServerError) as info:
        sdk.chat.completions.create(**CHAT)
    assert info.value.status_code == 500
    assert "exhausted" in info.value.message
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "script_exhausted"


def test_default_reply_is_used_when_the_queue_is_empty(
    serve: Callable[..., ScriptedServer],
) -> None:
    server = serve("first", default_reply="fallback")
    sdk = client(server)
    answers = [sdk.chat.completions.create(**CHAT).choices[0].message.content for _ in "abc"]
    assert answers == ["first", "fallback", "fallback"]


def test_responder_decides_from_the_request(serve: Callable[..., ScriptedServer]) -> None:
    def echo(body: dict[str, Any]) -> ScriptedReply | str:
        return "echo: " + body["messages"][-1]["content"]

    server = serve("queued, never used", responder=echo)
    sdk = client(server)
    completion = sdk.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "ping"}]
    )
    assert completion.choices[0].message.content == "echo: ping"
    assert server.pending == 1


def test_conversation_responder_runs_the_benchmark_conversation(
    serve: Callable[..., ScriptedServer],
) -> None:
    transfer = {"type": "function", "function": {"name": "transfer_to_sales", "parameters": {}}}
    lookup = {"type": "function", "function": {"name": "lookup_order", "parameters": {}}}
    server = serve(responder=conversation_responder)
    sdk = client(server)
    messages: list[Any] = [{"role": "user", "content": "where is my order?"}]

    def step(tools: list[Any]) -> Any:
        message = sdk.chat.completions.create(model="m", messages=messages, tools=tools)
        reply = message.choices[0].message
        messages.append(reply.model_dump(exclude_none=True))
        return reply

    first = step([transfer])
    assert first.tool_calls[0].function.name == "transfer_to_sales"
    assert json.loads(first.tool_calls[0].function.arguments) == {}
    messages.append({"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "{}"})
    second = step([lookup])
    assert second.tool_calls[0].function.name == "lookup_order"
    assert json.loads(second.tool_calls[0].function.arguments) == {"order_id": "A1"}
    messages.append({"role": "tool", "tool_call_id": second.tool_calls[0].id, "content": "ok"})
    assert step([lookup]).content == "Your order A1 has shipped."
    assert conversation_responder({"messages": MESSAGES}).content == "ok"


def test_unknown_fault_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        ScriptedReply(fault="explode")


# --- errors and faults, seen by raw clients -----------------------------------------------------


def test_error_status_carries_retry_after_and_openai_error_body(
    serve: Callable[..., ScriptedServer],
) -> None:
    server = serve(
        ScriptedReply(status=429, headers={"Retry-After": "0"}, content="slow down"),
        ScriptedReply(status=429, headers={"Retry-After": "0"}),
    )
    response, data = post(server, CHAT)
    assert response.status == 429
    assert response.getheader("Retry-After") == "0"
    assert json.loads(data)["error"] == {
        "message": "slow down",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    with pytest.raises(openai.RateLimitError):
        client(server).chat.completions.create(**CHAT)


def test_reset_fault_sends_a_tcp_reset(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(ScriptedReply(fault="reset"), ScriptedReply(fault="reset"))
    with pytest.raises(ConnectionResetError):
        raw_exchange(server, raw_post(CHAT))
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        post(server, CHAT)


def test_hang_fault_never_answers_but_the_server_keeps_serving(
    serve: Callable[..., ScriptedServer],
) -> None:
    server = serve(ScriptedReply(fault="hang"), ScriptedReply(fault="hang"), "after the hang")
    with pytest.raises(socket.timeout):
        raw_exchange(server, raw_post(CHAT), timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client(server, timeout=0.3).chat.completions.create(**CHAT)
    assert client(server).chat.completions.create(**CHAT).choices[0].message.content == (
        "after the hang"
    )


def test_cut_stream_closes_without_done(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(ScriptedReply(content="a long answer cut short", fault="cut_stream"))
    received = raw_exchange(server, raw_post(STREAM))
    head, _, body = received.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    data = sse_data(body)
    assert len(data) >= 2 and "[DONE]" not in data
    assert not body.endswith(b"0\r\n\r\n")  # the chunked body was never terminated
    assert json.loads(data[0])["choices"][0]["delta"]["role"] == "assistant"


def test_cut_stream_breaks_the_sdk_stream(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(ScriptedReply(content="abcdefgh", fault="cut_stream"))
    stream = client(server).chat.completions.create(**STREAM)
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received.append(chunk)
    assert received and received[0].choices[0].delta.role == "assistant"


def test_no_finish_reason_fault(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(ScriptedReply(content="no end", fault="no_finish_reason"))
    _, body = post(server, STREAM)
    assert sse_data(body)[-1] == "[DONE]"
    chunks = chunks_of(body)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "no end"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


def test_bad_json_chunk_fault(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(ScriptedReply(content="some text here", fault="bad_json_chunk"))
    _, body = post(server, STREAM)
    data = sse_data(body)
    assert data[-1] == "[DONE]"
    broken = []
    for line in data[:-1]:
        try:
            json.loads(line)
        except ValueError:
            broken.append(line)
    assert len(broken) == 1


def test_empty_choices_fault(serve: Callable[..., ScriptedServer]) -> None:
    server = serve(
        ScriptedReply(content="x", fault="empty_choices"),
        ScriptedReply(content="x", fault="empty_choices"),
    )
    assert client(server).chat.completions.create(**CHAT).choices == []
    _, body = post(server, STREAM)
    assert sse_data(body)[-1] == "[DONE]"
    chunks = chunks_of(body)
    assert chunks and all(c["choices"] == [] for c in chunks)


def test_null_content_fault(serve: Callable[..., ScriptedServer]) -> None:
    calls = [{"name": "f", "arguments": {}}]
    server = serve(
        ScriptedReply(content="dropped", tool_calls=calls, fault="null_content"),
        ScriptedReply(content="dropped", fault="null_content"),
    )
    message = client(server).chat.completions.create(**CHAT).choices[0].message
    assert message.content is None and message.tool_calls is None
    _, body = post(server, STREAM)
    deltas = [c["choices"][0]["delta"] for c in chunks_of(body)]
    assert not any(d.get("content") or d.get("tool_calls") for d in deltas)


def test_raw_fault_sends_the_body_verbatim(serve: Callable[..., ScriptedServer]) -> None:
    payload = '{"choices": [{"message": oops'
    server = serve(ScriptedReply(content=payload, fault="raw"))
    response, data = post(server, CHAT)
    assert response.status == 200
    assert data == payload.encode()


# --- HTTP behaviour -----------------------------------------------------------------------------


def test_keep_alive_serves_two_requests_on_one_connection(
    serve: Callable[..., ScriptedServer],
) -> None:
    server = serve("first", "second")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    answers = []
    sockets = []
    for _ in range(2):
        conn.request("POST", "/v1/chat/completions", json.dumps(CHAT))
        response = conn.getresponse()
        answers.append(json.loads(response.read())["choices"][0]["message"]["content"])
        sockets.append(conn.sock)
    conn.close()
    assert answers == ["first", "second"]
    assert sockets[0] is not None and sockets[0] is sockets[1]


def test_connection_close_is_honoured(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("bye")
    # raw_exchange reads until EOF: it only returns because the server closed the socket.
    received = raw_exchange(server, raw_post(CHAT), timeout=2)
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["choices"][0]["message"]["content"] == "bye"


def test_chunked_request_body_and_routes(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("chunked ok")
    payload = json.dumps(CHAT).encode()
    half = len(payload) // 2
    body = b"%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n" % (
        half,
        payload[:half],
        len(payload) - half,
        payload[half:],
    )
    head = b"POST /chat/completions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
    received = raw_exchange(server, head + b"Connection: close\r\n\r\n" + body)
    assert b"chunked ok" in received
    assert server.requests[-1] == CHAT
    assert raw_exchange(server, raw_post(CHAT, "/v1/nope")).startswith(b"HTTP/1.1 404")


def test_invalid_json_body_is_a_400(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("unused")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", b"{x]")
    response = conn.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["error"]["type"] == "invalid_request_error"
    conn.close()
    assert server.pending == 1 and server.requests == []


def test_latency_delays_the_answer(serve: Callable[..., ScriptedServer]) -> None:
    server = serve("late", latency=0.2)
    started = time.monotonic()
    post(server, CHAT)
    assert time.monotonic() - started >= 0.2


def test_cli_prints_its_url_and_serves() -> None:
    command = [sys.executable, "-m", "swarmlet.testing.server", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        sdk = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=10)
        transfer = {"type": "function", "function": {"name": "transfer_to_b", "parameters": {}}}
        completion = sdk.chat.completions.create(model="m", messages=MESSAGES, tools=[transfer])
        calls = completion.choices[0].message.tool_calls or []
        assert [c.function.name for c in calls] == ["transfer_to_b"]
    finally:
        process.terminate()
        process.wait(timeout=10)
