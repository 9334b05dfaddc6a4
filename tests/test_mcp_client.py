"""MCP tools against real MCP servers (tests/mcp_test_server.py) over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.events import ToolCallFinished
from swarmlet.exceptions import MCPServerError
from swarmlet.mcp import MCPServer
from swarmlet.testing import ScriptedModel, tool_call
from tests.mcp_support import bounded, free_port, http_server_process, stdio_server

USER = [{"role": "user", "content": "go"}]


@pytest.fixture
async def tools_server() -> AsyncIterator[MCPServer]:
    """A server of the test's own (for tests that crash, close or count connections)."""
    server = stdio_server()
    yield server
    await bounded(server.close())


@pytest.fixture(scope="module")
def shared_server() -> Iterator[MCPServer]:
    """One server for the tests that only call tools (an MCPServer is not tied to a loop)."""
    with stdio_server() as server:
        yield server


def _tool_messages(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "tool"]


async def _run(server: MCPServer, *replies: Any, **agent_options: Any) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel([*replies, "done"])
    agent = Agent(name="Worker", mcp_servers=[server], **agent_options)
    response = await bounded(Swarm(client=model).run_async(agent, USER))
    return response, model


def _offered(model: ScriptedModel, turn: int) -> dict[str, dict[str, Any]]:
    return {tool["function"]["name"]: tool["function"] for tool in model.requests[turn].tools}


# --------------------------------------------------------------------------- tools in runs


async def test_stdio_tools_are_offered_with_their_schemas_and_called(
    shared_server: MCPServer,
) -> None:
    listed = {tool.name: tool for tool in await bounded(shared_server.list_tools())}
    response, model = await _run(shared_server, tool_call("add", {"a": 2, "b": 40}))

    offered = _offered(model, 0)
    assert offered["add"]["parameters"] == listed["add"].input_schema  # sent as it is
    assert offered["add"]["description"] == "Add two integers."
    assert "strict" not in offered["add"]
    assert _tool_messages(response.messages) == ["42"]


async def test_strict_mode_only_where_the_schema_already_fits(shared_server: MCPServer) -> None:
    _, model = await _run(shared_server, strict=True)
    offered = _offered(model, 0)

    assert offered["add"]["strict"] is True  # a and b are both required
    assert offered["add"]["parameters"]["additionalProperties"] is False
    assert "strict" not in offered["greet"]  # punctuation is optional: left as it is
    assert "additionalProperties" not in offered["greet"]["parameters"]


async def test_tool_errors_become_tool_messages(shared_server: MCPServer) -> None:
    response, _ = await _run(
        shared_server,
        tool_call("fail", {"message": "disk full"}),
        tool_call("add", {"a": "not a number", "b": 1}),
        tool_call("no_such_tool", {}),
    )
    fail, bad_arguments, unknown = _tool_messages(response.messages)
    assert fail.startswith("Error: MCPToolError:") and "disk full" in fail
    assert bad_arguments.startswith("Error: MCPToolError:") and "a" in bad_arguments
    assert unknown.startswith("Error: Tool 'no_such_tool' not found") and "add" in unknown


async def test_tool_failure_is_marked_as_an_error_event(shared_server: MCPServer) -> None:
    model = ScriptedModel([tool_call("fail", {"message": "nope"}), "done"])
    agent = Agent(name="Worker", mcp_servers=[shared_server])
    finished = [
        event
        async for event in Swarm(client=model).stream(agent, USER)
        if isinstance(event, ToolCallFinished)
    ]
    assert finished[0].error is not None and "nope" in finished[0].error


async def test_functions_keep_their_names_over_mcp_tools(shared_server: MCPServer) -> None:
    def add(a: int, b: int) -> str:
        """The local add."""
        return "local"

    model = ScriptedModel([tool_call("add", {"a": 1, "b": 1}), "done"])
    agent = Agent(name="Worker", functions=[add], mcp_servers=[shared_server])
    response = await bounded(Swarm(client=model).run_async(agent, USER))
    assert _tool_messages(response.messages) == ["local"]
    assert [t["function"]["name"] for t in model.requests[0].tools].count("add") == 1


async def test_the_server_process_gets_a_minimal_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWARMLET_TEST_SECRET", "s3cret")
    server = stdio_server(env={"GIVEN": "yes"})
    try:
        secret = await bounded(server.call_tool("env", {"name": "SWARMLET_TEST_SECRET"}))
        given = await bounded(server.call_tool("env", {"name": "GIVEN"}))
    finally:
        await bounded(server.close())
    assert secret.content[0].text == "<unset>"  # type: ignore[union-attr]
    assert given.content[0].text == "yes"  # type: ignore[union-attr]


def test_agent_rejects_things_that_are_not_servers() -> None:
    with pytest.raises(ValueError, match=r"mcp_servers takes swarmlet\.mcp\.MCPServer"):
        Agent(mcp_servers=["python server.py"])


# --------------------------------------------------------------------------- lifecycle


async def test_one_connection_is_shared_by_concurrent_runs(shared_server: MCPServer) -> None:
    async def one_run() -> str:
        response, _ = await _run(shared_server, tool_call("slow", {"seconds": 0.3}))
        return _tool_messages(response.messages)[0]

    connections = shared_server.connections
    results = await bounded(asyncio.gather(*(one_run() for _ in range(12))))
    assert shared_server.connections == connections
    # The calls overlapped on the server: they were not queued one by one.
    assert max(json.loads(text)["in_flight"] for text in results) > 1


def test_sync_runs_from_many_threads_share_the_connection() -> None:
    server = stdio_server()
    answers: list[str] = []

    def one_run(index: int) -> None:
        model = ScriptedModel([tool_call("add", {"a": index, "b": 1}), "done"])
        agent = Agent(name="Worker", mcp_servers=[server])
        response = Swarm(client=model).run(agent, USER)  # the sync API, on its own loop
        answers.append(_tool_messages(response.messages)[0])

    with server:  # sync lifecycle: connect now, close at the end
        threads = [threading.Thread(target=one_run, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert server.connections == 1
    assert sorted(answers) == [str(i + 1) for i in range(6)]
    assert not server.connected


async def test_async_context_manager_connects_and_closes() -> None:
    server = stdio_server()
    async with server:
        assert server.connected
        pid = await bounded(server.call_tool("pid"))
    assert not server.connected
    process_id = int(pid.content[0].text)  # type: ignore[union-attr]
    with pytest.raises(ProcessLookupError):  # the stdio server was stopped
        _wait_gone(process_id)
        os.kill(process_id, 0)


def _wait_gone(process_id: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(process_id, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


async def test_a_closed_server_reconnects_on_next_use(tools_server: MCPServer) -> None:
    await bounded(tools_server.call_tool("pid"))
    await bounded(tools_server.close())
    result = await bounded(tools_server.call_tool("add", {"a": 1, "b": 2}))
    assert result.content[0].text == "3"  # type: ignore[union-attr]
    assert tools_server.connections == 2


# --------------------------------------------------------------------------- failures


async def test_crash_mid_call_is_a_tool_error_and_the_next_call_reconnects(
    tools_server: MCPServer,
) -> None:
    response, _ = await _run(tools_server, tool_call("pid"), tool_call("crash"), tool_call("pid"))
    first_pid, crashed, second_pid = _tool_messages(response.messages)
    assert tools_server.name == f"{Path(sys.executable).name} mcp_test_server.py"
    assert crashed == (
        f"Error: MCPServerError: MCP server {tools_server.name!r} "
        "closed the connection during tools/call 'crash'"
    )
    assert second_pid.isdigit() and second_pid != first_pid  # a new server process
    assert tools_server.connections == 2


async def test_reconnect_after_the_process_dies_while_idle(tools_server: MCPServer) -> None:
    first = await bounded(tools_server.call_tool("pid"))
    os.kill(int(first.content[0].text), signal.SIGKILL)  # type: ignore[union-attr]
    await bounded(_until(lambda: not tools_server.connected))

    second = await bounded(tools_server.call_tool("pid"))
    assert second.content[0].text != first.content[0].text  # type: ignore[union-attr]
    assert tools_server.connections == 2


async def _until(condition: Any, step: float = 0.02) -> None:
    while not condition():
        await asyncio.sleep(step)


async def test_a_server_that_never_answers_initialise_fails_in_bounded_time() -> None:
    server = stdio_server("silent", connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(MCPServerError, match=r"initialise handshake within 0\.5 s") as caught:
        await bounded(server.call_tool("anything"))
    assert caught.value.server == server.name
    assert time.monotonic() - started < 15  # 0.5 s, plus the bounded shutdown of the process
    await bounded(server.close())


async def test_a_run_stops_with_a_precise_error_when_tools_cannot_be_listed() -> None:
    server = stdio_server("silent", connect_timeout=0.5)
    agent = Agent(name="Worker", mcp_servers=[server])
    with pytest.raises(MCPServerError, match="agent 'Worker', turn 1") as caught:
        await bounded(Swarm(client=ScriptedModel(["unused"])).run_async(agent, USER))
    assert caught.value.response is not None and caught.value.agent_name == "Worker"
    await bounded(server.close())


async def test_a_streamed_run_does_not_hang_when_initialise_fails() -> None:
    server = stdio_server("silent", connect_timeout=0.5)
    agent = Agent(name="Worker", mcp_servers=[server])
    events: list[Any] = []

    async def drain() -> None:
        async for event in Swarm(client=ScriptedModel(["unused"])).stream(agent, USER):
            events.append(event)

    with pytest.raises(MCPServerError, match="could not be connected"):
        await bounded(drain())
    assert not any(type(event).__name__ == "RunCompleted" for event in events)
    await bounded(server.close())


async def test_a_command_that_cannot_start_is_a_clear_error() -> None:
    server = MCPServer.stdio("/nonexistent/mcp-server")
    with pytest.raises(MCPServerError, match="could not be connected: FileNotFoundError"):
        await bounded(server.list_tools())


async def test_call_timeout_is_a_tool_error_and_the_connection_stays() -> None:
    server = stdio_server(call_timeout=0.5)
    try:
        response, _ = await _run(
            server, tool_call("slow", {"seconds": 5}), tool_call("add", {"a": 1, "b": 1})
        )
    finally:
        await bounded(server.close())
    timed_out, added = _tool_messages(response.messages)
    assert timed_out.endswith("did not answer tools/call 'slow' within 0.5 s")
    assert added == "2"
    assert server.connections == 1


async def test_agent_tool_timeout_cancels_the_mcp_call(shared_server: MCPServer) -> None:
    response, _ = await _run(
        shared_server,
        tool_call("slow", {"seconds": 5}),
        tool_call("add", {"a": 2, "b": 2}),
        tool_timeout=0.3,
    )
    timed_out, added = _tool_messages(response.messages)
    assert "did not finish within 0.3 s" in timed_out
    assert added == "4"


# --------------------------------------------------------------------------- tool list changes


async def test_tool_list_is_cached_until_the_server_says_it_changed(
    tools_server: MCPServer,
) -> None:
    response, model = await _run(
        tools_server,
        tool_call("listings"),
        tool_call("grow"),
        tool_call("shout", {"text": "hi"}),
        tool_call("listings"),
    )
    before, grown, shouted, after = _tool_messages(response.messages)
    assert before == "1"  # five model requests so far, one tools/list
    assert grown == "grown" and shouted == "HI"
    assert after == "2"  # listed once more, after the list-changed notification
    assert "shout" not in _offered(model, 1) and "shout" in _offered(model, 2)


async def test_without_cache_every_request_lists_the_tools() -> None:
    server = stdio_server(cache_tools=False)
    try:
        response, _ = await _run(server, tool_call("listings"), tool_call("listings"))
    finally:
        await bounded(server.close())
    first, second = map(int, _tool_messages(response.messages))
    assert second > first


# --------------------------------------------------------------------------- streamable HTTP


@pytest.fixture
def http_url() -> Iterator[str]:
    port = free_port()
    with http_server_process(port, token="test-token"):
        yield f"http://127.0.0.1:{port}/mcp"


async def test_http_tools_run_with_headers(http_url: str) -> None:
    server = MCPServer.http(http_url, headers={"Authorization": "Bearer test-token"})
    try:
        response, model = await _run(server, tool_call("add", {"a": 20, "b": 22}))
        results = await bounded(
            asyncio.gather(*(server.call_tool("slow", {"seconds": 0.3}) for _ in range(8)))
        )
    finally:
        await bounded(server.close())
    assert _tool_messages(response.messages) == ["42"]
    assert "add" in _offered(model, 0)
    assert max(json.loads(r.content[0].text)["in_flight"] for r in results) > 1  # type: ignore[union-attr]
    assert server.connections == 1


async def test_http_refused_credentials_are_a_clear_error_without_the_secret(
    http_url: str,
) -> None:
    server = MCPServer.http(http_url, headers={"Authorization": "Bearer wrong-secret"})
    with pytest.raises(MCPServerError, match="could not be connected") as caught:
        await bounded(server.list_tools())
    assert "wrong-secret" not in str(caught.value)
    assert "wrong-secret" not in repr(server)


async def test_http_server_restart_is_survived() -> None:
    port = free_port()
    server = MCPServer.http(f"http://127.0.0.1:{port}/mcp")
    try:
        with http_server_process(port):
            first = await bounded(server.call_tool("pid"))
        with pytest.raises(MCPServerError):  # the server is down: an error, not a hang
            await bounded(server.call_tool("pid"))
        with http_server_process(port):
            second = await bounded(server.call_tool("pid"))
    finally:
        await bounded(server.close())
    assert second.content[0].text != first.content[0].text  # type: ignore[union-attr]


def test_http_url_must_be_http() -> None:
    from swarmlet.exceptions import UsageError

    with pytest.raises(UsageError, match="http"):
        MCPServer.http("ftp://example.invalid/mcp")


# --------------------------------------------------------------------------- tool options


async def test_tool_options_rename_describe_and_time_out_mcp_tools() -> None:
    from swarmlet.schema import ToolOptions

    def options(tool: Any) -> ToolOptions | None:
        if tool.name == "add":
            return ToolOptions(name="plus", description="Sum two numbers.")
        if tool.name == "slow":
            return ToolOptions(timeout=0.3)
        return None

    server = stdio_server(tool_options=options)
    try:
        response, model = await _run(
            server, tool_call("plus", {"a": 1, "b": 2}), tool_call("slow", {"seconds": 5})
        )
    finally:
        await bounded(server.close())
    offered = _offered(model, 0)
    assert "add" not in offered and offered["plus"]["description"] == "Sum two numbers."
    added, timed_out = _tool_messages(response.messages)
    assert added == "3"
    assert "did not finish within 0.3 s" in timed_out


# --------------------------------------------------------------------------- web frameworks


def test_a_starlette_app_opens_the_server_in_its_lifespan_and_shares_it() -> None:
    import contextlib

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    server = stdio_server()
    agent = Agent(name="Worker", mcp_servers=[server])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with server:  # opened on the app's loop, used from request handlers
            yield

    async def add(request: Request) -> JSONResponse:
        a = int(request.query_params["a"])
        model = ScriptedModel([tool_call("add", {"a": a, "b": 1}), "done"])
        response = await Swarm(client=model).run_async(agent, USER)
        return JSONResponse({"result": _tool_messages(response.messages)[0]})

    app = Starlette(routes=[Route("/add", add)], lifespan=lifespan)
    with TestClient(app) as client:
        results = [client.get("/add", params={"a": i}).json()["result"] for i in range(5)]
        assert server.connected
    assert results == ["1", "2", "3", "4", "5"]
    assert server.connections == 1 and not server.connected


# --------------------------------------------------------------------------- the docs' example


def test_the_docs_example_runs_offline() -> None:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, str(root / "examples" / "mcp_tools.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "order_status -> shipped",
        "order_status -> packing",
        "A1 has shipped; B2 is being packed.",
    ]


async def test_a_pickled_server_connects_on_its_own(shared_server: MCPServer) -> None:
    import copy
    import pickle

    agent = Agent(name="Worker", mcp_servers=[shared_server])
    assert copy.deepcopy(agent).mcp_servers[0] is shared_server  # a shared handle, not copied
    clone = pickle.loads(pickle.dumps(shared_server))
    try:
        result = await bounded(clone.call_tool("add", {"a": 1, "b": 1}))
        assert result.content[0].text == "2"  # type: ignore[union-attr]
        assert clone.connections == 1 and clone.name == shared_server.name
    finally:
        await bounded(clone.close())


async def test_tool_guardrails_apply_to_mcp_tools() -> None:
    from swarmlet.exceptions import ToolGuardrailTripped
    from swarmlet.guardrails import GuardrailResult, ToolCallInput
    from swarmlet.schema import ToolOptions

    seen: list[tuple[str, Any]] = []

    def small_sums_only(call: ToolCallInput) -> GuardrailResult:
        seen.append((call.name, call.arguments))
        if call.arguments.get("a", 0) > 100:
            return GuardrailResult.replace("Refused: sums above 100 need approval.")
        return GuardrailResult(tripped=False)

    def no_secrets_out(call: ToolCallInput) -> bool:
        return "secret" in (call.result or "")  # True trips: the run stops

    options = ToolOptions(before=(small_sums_only,), after=(no_secrets_out,))
    server = MCPServer.stdio(
        sys.executable,
        [str(Path(__file__).with_name("mcp_test_server.py")), "tools"],
        tool_options=lambda tool: options if tool.name in ("add", "greet") else None,
    )
    try:
        response, _ = await _run(
            server, tool_call("add", {"a": 500, "b": 1}), tool_call("add", {"a": 5, "b": 1})
        )
        refused, added = _tool_messages(response.messages)
        assert refused == "Refused: sums above 100 need approval."  # the tool did not run
        assert added == "6"
        assert seen == [("add", {"a": 500, "b": 1}), ("add", {"a": 5, "b": 1})]

        with pytest.raises(ToolGuardrailTripped):
            await _run(server, tool_call("greet", {"name": "secret agent"}))
    finally:
        await bounded(server.close())


async def test_approvals_apply_to_mcp_tools() -> None:
    from swarmlet.schema import ToolOptions
    from swarmlet.state import RunState

    needs_approval = ToolOptions(needs_approval=lambda arguments: arguments["a"] > 100)
    server = stdio_server(tool_options=lambda t: needs_approval if t.name == "add" else None)
    agent = Agent(name="Worker", mcp_servers=[server])
    calls = [
        tool_call("add", {"a": 500, "b": 1}, id="call_big"),
        tool_call("add", {"a": 5, "b": 1}, id="call_small"),
        tool_call("add", {"a": 700, "b": 1}, id="call_other"),
    ]
    model = ScriptedModel([calls, "done"])
    client = Swarm(client=model)
    try:
        paused = await bounded(client.run_async(agent, USER))
        assert [i.call_id for i in paused.interruptions] == ["call_big", "call_other"]
        assert _tool_messages(paused.messages) == []  # nothing of the turn applied yet

        state = RunState.from_json(paused.state.to_json(), agent)  # as if in a new process
        state.approve("call_big")
        state.reject("call_other", message="Not that one.")
        response = await bounded(client.resume_async(state))
    finally:
        await bounded(server.close())
    assert _tool_messages(response.messages) == ["501", "6", "Not that one."]
    assert response.messages[-1]["content"] == "done"


def test_mcp_tool_calls_are_traced_like_other_tools(shared_server: MCPServer) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    import swarmlet.tracing
    from tests.tracing_support import one

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    swarmlet.tracing.enable(provider, capture_content=False)
    try:
        model = ScriptedModel(
            [
                tool_call("add", {"a": 1, "b": 2}, id="call_add"),
                tool_call("fail", {"message": "no"}, id="call_fail"),
                "done",
            ]
        )
        agent = Agent(name="Worker", mcp_servers=[shared_server])
        Swarm(client=model).run(agent, USER)
    finally:
        swarmlet.tracing.disable()
    spans = exporter.get_finished_spans()
    added = one(spans, "execute_tool add")
    assert added.attributes["gen_ai.tool.name"] == "add"
    assert added.attributes["gen_ai.tool.call.id"] == "call_add"
    failed = one(spans, "execute_tool fail")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "MCPToolError"
