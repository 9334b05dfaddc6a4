"""The agent graph the server shows: agents, their tools with schemas, and the edges between.

Which agents a tool leads to is found by :mod:`swarmlet.graph` (inspection, never calling the
tool: globals and closures a tool's code reads, ``partial`` arguments, default arguments);
this module adds what a viewer needs on top:

- **handoff edges**: agents a tool refers to (``def transfer_to_sales(): return sales``);
- **agent-tool edges**: the agent a tool *runs* as a sub-run (``Agent.as_tool``), carried on
  the tool's ``__swarmlet_agent__`` attribute;
- instructions as text, or ``"dynamic"`` when they are a callable of the context variables
  (with its docstring as ``instructions_doc``), and each tool's JSON schema;
- each agent's MCP servers (name, transport) and, when they answer in time, their tools
  (:func:`describe_graph_async`, :mod:`swarmlet.server.agent_graph_mcp`).

What cannot be found statically (and so is missing from the graph): an agent built at run
time inside the tool (``return Agent(name=...)``), one looked up in a registry, a database or
a container, or reached through an attribute chain (``agents.sales``). Those handoffs still
work at run time; they show up in the run's ``handoff`` events instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from swarmlet.agent import Agent
from swarmlet.graph import AGENT_ATTRIBUTE, tool_targets
from swarmlet.schema import function_schema
from swarmlet.server.agent_graph_mcp import LIST_TIMEOUT, MCPServerInfo, describe_mcp_servers

__all__ = [
    "AgentGraph",
    "AgentNode",
    "Edge",
    "ToolInfo",
    "describe_graph",
    "describe_graph_async",
]

MAX_AGENTS = 500
"""The walk stops after this many agents (a guard against generated, unbounded graphs)."""


class ToolInfo(BaseModel):
    """One tool of an agent as the model sees it, plus what the graph walk found it reaches."""

    name: str
    description: str | None
    parameters: dict[str, Any]
    handoffs: list[str]
    agent_tools: list[str]
    schema_error: str | None = None


class AgentNode(BaseModel):
    """One agent: its name, instructions (or ``"dynamic"``), model and tools."""

    name: str
    instructions: str
    instructions_doc: str | None = None
    model: str | None
    tools: list[ToolInfo]
    mcp_servers: list[MCPServerInfo] = []


class Edge(BaseModel):
    """A way the conversation can move between agents: a handoff, or an agent used as a tool."""

    source: str
    target: str
    kind: Literal["handoff", "agent_tool"]
    tool: str


class AgentGraph(BaseModel):
    """The agents reachable from ``entry`` and the edges between them."""

    entry: str
    agents: list[AgentNode]
    edges: list[Edge]
    truncated: bool = False


def describe_graph(entry: Agent) -> AgentGraph:
    """Walk the agents reachable from ``entry`` by inspecting (never calling) their tools.

    Agents are identified by name; two distinct agents sharing a name are shown as one node
    (the first found), as the run's events name agents the same way.
    """
    return _walk(entry)[0]


async def describe_graph_async(entry: Agent, mcp_timeout: float = LIST_TIMEOUT) -> AgentGraph:
    """:func:`describe_graph` plus each agent's MCP servers, waiting ``mcp_timeout`` at most."""
    graph, agents = _walk(entry)
    servers = await describe_mcp_servers(agents, mcp_timeout)
    for node in graph.agents:
        node.mcp_servers = servers.get(node.name, [])
    return graph


def _walk(entry: Agent) -> tuple[AgentGraph, dict[str, Agent]]:
    """The graph, and the agent behind each node."""
    nodes: dict[str, AgentNode] = {}
    agents: dict[str, Agent] = {}
    edges: list[Edge] = []
    queue = [entry]
    while queue and len(nodes) < MAX_AGENTS:
        agent = queue.pop(0)
        if agent.name in nodes:
            continue
        agents[agent.name] = agent
        nodes[agent.name] = AgentNode(
            name=agent.name,
            instructions="dynamic" if callable(agent.instructions) else agent.instructions,
            instructions_doc=_dynamic_doc(agent),
            model=agent.model if isinstance(agent.model, str) else type(agent.model).__name__,
            tools=[],
        )
        for func in agent.functions:
            tool, found = _tool(agent, func)
            nodes[agent.name].tools.append(tool)
            edges += [
                Edge(source=agent.name, target=t.name, kind=k, tool=tool.name) for k, t in found
            ]
            queue += [target for _, target in found]
    graph = AgentGraph(
        entry=entry.name, agents=list(nodes.values()), edges=_unique(edges), truncated=bool(queue)
    )
    return graph, agents


def _dynamic_doc(agent: Agent) -> str | None:
    return inspect.getdoc(agent.instructions) if callable(agent.instructions) else None


_Found = list[tuple[Literal["handoff", "agent_tool"], Agent]]


def _tool(agent: Agent, func: Callable[..., Any]) -> tuple[ToolInfo, _Found]:
    """The tool as the model sees it, and the agents it leads to."""
    handoffs, agent_tools = _targets(func)
    found: _Found = [("handoff", a) for a in handoffs] + [("agent_tool", a) for a in agent_tools]
    info: dict[str, Any] = {
        "handoffs": [a.name for a in handoffs],
        "agent_tools": [a.name for a in agent_tools],
    }
    try:
        schema = function_schema(func, strict=agent.strict).to_tool()["function"]
    except Exception as exc:  # a broken tool must not hide the rest of the graph
        name = getattr(func, "__name__", type(func).__name__)
        error = f"{type(exc).__name__}: {exc}"
        return ToolInfo(
            name=name, description=None, parameters={}, schema_error=error, **info
        ), found
    tool = ToolInfo(
        name=schema["name"],
        description=schema.get("description"),
        parameters=schema.get("parameters", {}),
        **info,
    )
    return tool, found


def _targets(func: Any) -> tuple[list[Agent], list[Agent]]:
    """(agents the tool may hand off to, the agent it runs as a sub-run), without calling it."""
    carried = getattr(func, AGENT_ATTRIBUTE, None)
    targets = tool_targets(func)
    if isinstance(carried, Agent):
        return [t for t in targets if t is not carried], [carried]
    return targets, []


def _unique(edges: list[Edge]) -> list[Edge]:
    return list({(e.source, e.target, e.kind, e.tool): e for e in edges}.values())
