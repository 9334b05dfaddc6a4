"""The agent graph: which agents a conversation can reach from the entry agent, found statically.

Swarm hands off by *calling a function* that returns an agent, so the graph cannot be read off
a data structure; :func:`describe_graph` inspects each tool instead, without calling it:

- **handoff edges**: agents the tool's code refers to, through globals or closure variables
  (``def transfer_to_sales(): return sales_agent``), or that a ``functools.partial`` binds;
- **agent-tool edges**: a tool that *runs* an agent as a sub-run (``Agent.as_tool``) carries
  that agent as an attribute (``agent`` / ``__swarmlet_agent__``);
- instructions are given as text, or as ``"dynamic"`` when they are a callable of the context
  variables (its docstring, when it has one, is shown as ``instructions_doc``).

What cannot be found statically (and so is missing from the graph): an agent built at run
time inside the tool (``return Agent(name=...)``), an agent looked up from a registry or a
database, or one reached through an attribute chain (``agents.sales``) or a container. Those
handoffs still work at run time; they show up in the run's events (``handoff``) instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel

from swarmlet.agent import Agent
from swarmlet.schema import function_schema

__all__ = ["AgentGraph", "AgentNode", "Edge", "ToolInfo", "describe_graph"]

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
    nodes: dict[str, AgentNode] = {}
    edges: list[Edge] = []
    queue = [entry]
    while queue and len(nodes) < MAX_AGENTS:
        agent = queue.pop(0)
        if agent.name in nodes:
            continue
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
    return AgentGraph(
        entry=entry.name, agents=list(nodes.values()), edges=_unique(edges), truncated=bool(queue)
    )


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
    """(agents the tool may hand off to, agents it runs as sub-runs), found without calling it."""
    for attribute in ("__swarmlet_agent__", "agent"):
        target = getattr(func, attribute, None)
        if isinstance(target, Agent):
            return [], [target]
    return list(_referenced_agents(func)), []


def _referenced_agents(func: Any) -> Iterator[Agent]:
    seen: set[int] = set()
    for value in _referenced_values(func):
        if isinstance(value, Agent) and id(value) not in seen:
            seen.add(id(value))
            yield value


def _referenced_values(func: Any) -> Iterator[Any]:
    """Values a callable's code can see by name: closure cells, globals, partial's bound args."""
    if isinstance(func, functools.partial):
        yield from func.args
        yield from func.keywords.values()
        yield from _referenced_values(func.func)
        return
    target = inspect.unwrap(func) if inspect.isfunction(func) or inspect.ismethod(func) else None
    if target is None and callable(func):
        target = type(func).__call__  # a callable object: look at its __call__
    if inspect.ismethod(target):
        target = target.__func__
    if not inspect.isfunction(target):
        return
    try:
        variables = inspect.getclosurevars(target)
    except (TypeError, ValueError):
        return
    yield from variables.nonlocals.values()
    yield from variables.globals.values()


def _unique(edges: list[Edge]) -> list[Edge]:
    return list({(e.source, e.target, e.kind, e.tool): e for e in edges}.values())
