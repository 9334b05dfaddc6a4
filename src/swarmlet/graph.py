"""Finding the agents a run can reach, by name.

Swarm handoffs are plain functions (``def transfer_to_sales(): return sales_agent``), so the
agent graph is not declared anywhere; :func:`reachable_agents` recovers it by inspecting each
agent's functions:

- names the function's code reads from its module globals (``sales_agent`` above), including
  code of nested functions and lambdas, and of other global functions it calls;
- variables it closes over, its default arguments, and ``functools.partial`` arguments;
- an agent used as a tool carries its agent on the ``__swarmlet_agent__`` attribute
  (:data:`AGENT_ATTRIBUTE`).

What inspection cannot see: an agent built inside the function when it is called
(``return Agent(...)``), reached through an attribute (``return registry.sales``) or a
container (``return AGENTS["sales"]``), or returned inside ``Result(agent=...)`` from such
places. Pass those agents explicitly (any argument accepts a list). Sessions, the server and
:meth:`swarmlet.state.RunState.from_json` use this to map saved agent names back to agents.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Iterable, Iterator
from typing import Any

from swarmlet.agent import Agent
from swarmlet.exceptions import UsageError

__all__ = ["AGENT_ATTRIBUTE", "reachable_agents", "tool_targets"]

AGENT_ATTRIBUTE = "__swarmlet_agent__"
"""Attribute on a tool function that runs an agent (an agent-tool), holding that agent."""


def reachable_agents(agents: Agent | Iterable[Agent]) -> dict[str, Agent]:
    """The given agent(s) and every agent reachable from their functions, by name.

    Raises:
        UsageError: two different agents share a name (a saved run could not tell them
            apart), or ``agents`` holds something that is not an Agent.
    """
    pending = [agents] if isinstance(agents, Agent) else list(agents)
    found: dict[str, Agent] = {}
    while pending:
        agent = pending.pop()
        if not isinstance(agent, Agent):
            raise UsageError(f"expected Agent instances, got {type(agent).__name__}")
        known = found.get(agent.name)
        if known is not None:
            _check_same(known, agent)
            continue
        found[agent.name] = agent
        for func in agent.functions:
            pending.extend(_agents_in(func, set()))
    return found


def tool_targets(func: Any) -> list[Agent]:
    """The agents one tool refers to directly (handoff targets, or the agent it runs)."""
    # _agents_in visits each object once, so each agent comes once.
    return list(_agents_in(func, set()))


def _check_same(known: Agent, other: Agent) -> None:
    if known is not other and known != other:
        raise UsageError(
            f"two different agents are named {known.name!r}; agent names must be unique "
            "among the agents of a run so that a saved run can find them again"
        )


def _agents_in(value: Any, seen: set[int]) -> Iterator[Agent]:
    """Agents referenced by a function-like value (depth-first, each object once)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Agent):
        yield value
        return
    carried = getattr(value, AGENT_ATTRIBUTE, None)
    if isinstance(carried, Agent):
        yield carried
    for inner in _references(value):
        yield from _agents_in(inner, seen)


def _references(value: Any) -> Iterator[Any]:
    """The objects a callable refers to that may be, or lead to, an agent."""
    if isinstance(value, functools.partial):
        yield value.func
        yield from value.args
        yield from value.keywords.values()
    elif isinstance(value, types.MethodType):
        yield value.__func__
        yield from _agent_attributes(value.__self__)
    elif isinstance(value, types.FunctionType):
        yield from _function_references(value)
    elif callable(value) and not isinstance(value, (type, types.BuiltinFunctionType)):
        call = getattr(type(value), "__call__", None)  # noqa: B004 - callable objects
        if isinstance(call, types.FunctionType):
            yield call
            yield from _agent_attributes(value)


def _function_references(func: types.FunctionType) -> Iterator[Any]:
    for name in _global_names(func.__code__):
        if name in func.__globals__:
            target = func.__globals__[name]
            if isinstance(target, (Agent, types.FunctionType, functools.partial)):
                yield target
    for cell in func.__closure__ or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell: the variable is not assigned yet
            continue
    yield from func.__defaults__ or ()
    yield from (func.__kwdefaults__ or {}).values()


def _global_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from _global_names(const)


def _agent_attributes(obj: Any) -> Iterator[Agent]:
    """Agents stored on a callable object's attributes (``self.agent``)."""
    attributes: dict[str, Any] = getattr(obj, "__dict__", {})
    yield from (v for v in attributes.values() if isinstance(v, Agent))
