"""``swarmlet mcp MODULE:AGENT``: a swarm served over MCP, called with the ``mcp`` client.

The swarm's model is a ScriptedServer (a real OpenAI-compatible HTTP server on 127.0.0.1)
answering the handoff conversation; the ``swarmlet mcp`` command runs as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from swarmlet.testing.server import ScriptedReply, ScriptedServer, conversation_responder
from tests.mcp_support import bounded, free_port, wait_listening

APP = str(Path(__file__).with_name("mcp_swarm_app.py"))
COMMAND = [sys.executable, "-m", "swarmlet.cli", "mcp", f"{APP}:triage"]


@pytest.fixture
def model_server() -> Iterator[ScriptedServer]:
    with ScriptedServer(responder=conversation_responder) as server:
        yield server


def _model_flags(server: ScriptedServer) -> list[str]:
    return ["--base-url", server.base_url, "--model", "scripted"]


def _environment() -> dict[str, str]:
    # The endpoint needs a key (any value: the scripted server ignores it).
    return {"OPENAI_API_KEY": "sk-test-not-secret", "PYTHONPATH": os.getcwd()}


async def test_stdio_swarm_answers_through_one_tool(model_server: ScriptedServer) -> None:
    parameters = StdioServerParameters(
        command=COMMAND[0], args=[*COMMAND[1:], *_model_flags(model_server)], env=_environment()
    )
    async with Client(parameters) as client:
        tools = (await bounded(client.list_tools())).tools
        result = await bounded(client.call_tool("ask_triage", {"request": "Where is A1?"}))

    assert [tool.name for tool in tools] == ["ask_triage"]
    assert tools[0].input_schema["required"] == ["request"]
    assert "Orders" in (tools[0].description or "")  # the team is named
    assert not result.is_error
    assert result.content[0].text == "Your order A1 has shipped."  # type: ignore[union-attr]
    # The whole swarm ran: triage, then Orders twice (lookup, answer), as the model saw it.
    assert len(model_server.requests) == 3
    assert model_server.requests[0]["messages"][-1]["content"] == "Where is A1?"
    assert model_server.requests[0]["model"] == "scripted"


@pytest.fixture
def http_swarm(model_server: ScriptedServer) -> Iterator[str]:
    port = free_port()
    command = [*COMMAND, "--transport", "http", "--port", str(port), *_model_flags(model_server)]
    environment = {**os.environ, **_environment(), "SWARMLET_MCP_TOKEN": "tok-123"}
    process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(15)


async def test_http_swarm_answers_concurrent_requests(
    http_swarm: str, model_server: ScriptedServer
) -> None:
    import anyio
    import httpx2

    headers = {"Authorization": "Bearer tok-123"}
    async with httpx2.AsyncClient(headers=headers) as http:
        from mcp.client.streamable_http import streamable_http_client

        async with Client(streamable_http_client(http_swarm, http_client=http)) as client:
            answers: list[str] = []

            async def ask() -> None:
                result = await client.call_tool("ask_triage", {"request": "Where is A1?"})
                answers.append(result.content[0].text)  # type: ignore[union-attr]

            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    for _ in range(4):
                        group.start_soon(ask)
    assert answers == ["Your order A1 has shipped."] * 4
    assert len(model_server.requests) == 12


async def test_http_swarm_refuses_requests_without_the_token(http_swarm: str) -> None:
    import httpx2

    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient() as http:
        missing = await bounded(http.post(http_swarm, json=initialize, headers=accept))
        wrong = await bounded(
            http.post(http_swarm, json=initialize, headers={**accept, "Authorization": "Bearer x"})
        )
    assert missing.status_code == 401
    assert wrong.status_code == 401


def test_http_on_a_public_address_needs_a_token(model_server: ScriptedServer) -> None:
    command = [*COMMAND, "--transport", "http", "--host", "0.0.0.0", *_model_flags(model_server)]
    environment = {k: v for k, v in os.environ.items() if k != "SWARMLET_MCP_TOKEN"}
    done = subprocess.run(
        command, env={**environment, **_environment()}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a token" in done.stderr


async def test_a_failing_model_is_an_mcp_tool_error() -> None:
    refused = ScriptedReply(status=401, content="bad key")  # not retried by the client
    with ScriptedServer(default_reply=refused) as failing:
        parameters = StdioServerParameters(
            command=COMMAND[0], args=[*COMMAND[1:], *_model_flags(failing)], env=_environment()
        )
        async with Client(parameters) as client:
            result = await bounded(client.call_tool("ask_triage", {"request": "hi"}))
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "the swarm stopped: ModelConfigurationError: agent 'Triage', turn 1" in text
    assert "refused the API key" in text
    assert "sk-test-not-secret" not in text


async def test_an_agent_delegates_to_a_served_swarm_through_mcp_tools(
    model_server: ScriptedServer,
) -> None:
    from swarmlet import Agent, Swarm
    from swarmlet.mcp import MCPServer
    from swarmlet.testing import ScriptedModel, tool_call

    team = MCPServer.stdio(
        COMMAND[0], [*COMMAND[1:], *_model_flags(model_server)], env=_environment()
    )
    outer = ScriptedModel([tool_call("ask_triage", {"request": "Where is A1?"}), "It shipped."])
    agent = Agent(name="Assistant", mcp_servers=[team])
    try:
        response = await bounded(
            Swarm(client=outer).run_async(agent, [{"role": "user", "content": "A1?"}])
        )
    finally:
        await bounded(team.close())
    tool_messages = [m["content"] for m in response.messages if m["role"] == "tool"]
    assert tool_messages == ["Your order A1 has shipped."]
    assert "ask_triage" in [t["function"]["name"] for t in outer.requests[0].tools]
