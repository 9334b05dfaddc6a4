"""MCP servers on the agent graph: a real stdio MCP server listed with its tools, a silent one
marked unavailable after the timeout, a refused one marked failed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from swarmlet import Agent, Swarm
from swarmlet.mcp import MCPServer
from swarmlet.server import ServerSettings, TokenAuth, create_app
from swarmlet.server.agent_graph import describe_graph_async
from swarmlet.testing import ScriptedModel
from tests.agent_server.support import AUTH, TOKEN, live_server
from tests.mcp_support import bounded, free_port, stdio_server


@pytest.fixture(scope="module")
def tools_server() -> Iterator[MCPServer]:
    with stdio_server() as server:
        yield server


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"


def _swarm(server: MCPServer) -> Agent:
    helper = Agent(name="Helper", mcp_servers=[server])

    def transfer_to_helper() -> Agent:
        """Hand over."""
        return helper

    return Agent(name="Triage", functions=[transfer_to_helper])


def test_graph_endpoint_lists_an_agents_mcp_servers_and_tools(tools_server: MCPServer) -> None:
    settings = ServerSettings(auth=TokenAuth(frozenset({TOKEN})))
    app = create_app(_swarm(tools_server), swarm=Swarm(client=ScriptedModel()), settings=settings)
    with live_server(app) as url:
        graph = httpx.get(f"{url}/graph", headers=AUTH, timeout=30).json()
    nodes = {node["name"]: node for node in graph["agents"]}
    assert nodes["Triage"]["mcp_servers"] == []
    (server,) = nodes["Helper"]["mcp_servers"]
    assert (server["name"], server["transport"], server["status"]) == (
        tools_server.name,
        "stdio",
        "available",
    )
    tools = {tool["name"]: tool for tool in server["tools"]}
    assert {"add", "greet", "slow"} <= set(tools)
    assert tools["add"]["parameters"]["required"] == ["a", "b"]


async def test_a_silent_server_is_unavailable_after_the_timeout(silent_url: str) -> None:
    silent = MCPServer.http(silent_url, connect_timeout=5)
    try:
        started = time.monotonic()
        graph = await bounded(describe_graph_async(_swarm(silent), mcp_timeout=0.3))
        waited = time.monotonic() - started
        (server,) = graph.agents[1].mcp_servers
        assert (server.transport, server.status, server.tools) == ("http", "unavailable", None)
        assert server.error == "no tool list within 0.3 s"
        assert waited < 5  # returned on its own timeout, not the connection's
    finally:
        await bounded(silent.close())


async def test_a_refused_server_is_failed_with_its_error() -> None:
    refused = MCPServer.http(f"http://127.0.0.1:{free_port()}/mcp", connect_timeout=5)
    try:
        graph = await bounded(describe_graph_async(_swarm(refused), mcp_timeout=10))
        (server,) = graph.agents[1].mcp_servers
        assert server.status == "failed" and server.tools is None
        assert server.error and refused.name in server.error
    finally:
        await bounded(refused.close())
        await asyncio.sleep(0)
