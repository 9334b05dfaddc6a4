"""The MCP servers of the agent graph: each agent's servers and, when they answer soon, tools.

An agent's MCP tools are known only by asking its servers (``tools/list``), so this part of
the graph is asynchronous and bounded: every distinct server is asked at once, and one that
has not answered within ``timeout`` seconds is shown as ``unavailable`` while the listing goes
on in the background (a server that connects a little later is listed on the next request;
the connection's own ``connect_timeout`` bounds that). A server that fails is shown with its
error. The graph endpoint never waits longer than ``timeout`` for MCP.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel

from swarmlet.agent import Agent

__all__ = ["LIST_TIMEOUT", "MCPServerInfo", "MCPToolInfo", "describe_mcp_servers"]

LIST_TIMEOUT = 2.0
"""Seconds the graph endpoint waits for an MCP server's tool list."""


class MCPToolInfo(BaseModel):
    """One tool an MCP server offers, as it publishes it."""

    name: str
    description: str | None
    parameters: dict[str, Any]


class MCPServerInfo(BaseModel):
    """One MCP server of an agent: name, transport, and its tools when it answered in time."""

    name: str
    transport: str
    status: Literal["available", "unavailable", "failed"]
    tools: list[MCPToolInfo] | None = None
    error: str | None = None


async def describe_mcp_servers(
    agents: dict[str, Agent], timeout: float = LIST_TIMEOUT
) -> dict[str, list[MCPServerInfo]]:
    """Each agent's MCP servers (by agent name), their tools listed within ``timeout``."""
    servers = {id(s): s for agent in agents.values() for s in agent.mcp_servers}
    listings = {key: asyncio.ensure_future(server.list_tools()) for key, server in servers.items()}
    if listings:
        await asyncio.wait(listings.values(), timeout=timeout)
    infos = {key: _info(servers[key], task, timeout) for key, task in listings.items()}
    return {
        name: [infos[id(s)] for s in agent.mcp_servers]
        for name, agent in agents.items()
        if agent.mcp_servers
    }


def _info(server: Any, listing: asyncio.Future[Any], timeout: float) -> MCPServerInfo:
    """What the graph says of ``server`` given its (maybe unfinished) tool listing."""
    name, transport = str(server.name), str(getattr(server, "transport", "custom"))
    if not listing.done():
        # Left running (not cancelled) so a slow server's connection can still come up.
        listing.add_done_callback(_consume)
        error = f"no tool list within {timeout:g} s"
        return MCPServerInfo(name=name, transport=transport, status="unavailable", error=error)
    if listing.exception() is not None:
        error = str(listing.exception())
        return MCPServerInfo(name=name, transport=transport, status="failed", error=error)
    tools = [
        MCPToolInfo(name=t.name, description=t.description, parameters=dict(t.input_schema))
        for t in listing.result()
    ]
    return MCPServerInfo(name=name, transport=transport, status="available", tools=tools)


def _consume(listing: asyncio.Future[Any]) -> None:
    """Retrieve a late listing's outcome (so a failure is not reported as never retrieved)."""
    if not listing.cancelled():
        listing.exception()
