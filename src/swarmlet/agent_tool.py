"""Agents used as tools (``Agent.as_tool``): delegation where the caller keeps control.

When the calling agent's model calls an agent-tool with a ``task``, a *sub-run* of the agent
starts with its own history (one user message: the task; it never sees the caller's
conversation) and its final output becomes the tool result: the text, or the validated
structured output as JSON when it has an ``output_type``. Unlike a handoff, the caller's run
goes on with the same active agent. Several agent-tools called in one turn run concurrently,
like any async tools.

Failures. A sub-run that fails (model error, invalid structured output, ``max_turns`` reached
without a final answer) raises inside the tool, so the caller's model gets a tool error and the
caller's run goes on. Agent-tools inside agent-tools nest at most ``max_depth`` deep: deeper,
the tool fails with :class:`~swarmlet.exceptions.MaxDepthError` (also a tool error).

Context variables. The sub-run starts from a **copy** of the caller's context variables (taken
when the call starts), so parallel sub-runs never share or race on one dict. Nothing flows
back by default. With ``update_context=True`` the keys the sub-run added or changed come back
as the tool's ``Result.context_variables``, which the caller's run merges after the turn's
calls have finished, in the model's call order (for one key set by two calls, the later call
wins): deterministic whatever order the sub-runs finish in.

Events. Every event of the sub-run goes into the caller's event stream as it happens
(:meth:`swarmlet.running.RunningCall.emit`), tagged with its ``path`` (the tool-call ids from
the top-level run down), so ``client.stream`` shows the whole tree live. Swarm's dict stream,
``run`` and ``run_async`` show the top-level run only. The caller's ``Response.sub_runs`` maps
each sub-run's path to its final :class:`~swarmlet.agent.Response` (its messages, for audits
and evals), failed sub-runs included (their messages up to the failure).

Approvals. A call in the sub-run that needs approval pauses the sub-run; the tool raises
:class:`~swarmlet.running.ToolInterrupted` with its state, so the caller's run pauses too and
lists the call among its interruptions (see :mod:`swarmlet.state`). When the caller resumes,
this tool is called again with ``current_call().resume_state`` and continues that sub-run.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from swarmlet.exceptions import MaxDepthError, RunError, UsageError
from swarmlet.graph import AGENT_ATTRIBUTE
from swarmlet.output import encode_output, validate_output_type

if TYPE_CHECKING:
    from swarmlet.agent import Agent, AgentFunction, Response
    from swarmlet.running import RunningCall

__all__ = ["AGENT_ATTRIBUTE", "DEFAULT_MAX_DEPTH", "make_agent_tool"]

DEFAULT_MAX_DEPTH = 4
"""Agent-tools may nest this deep by default (a top-level run's agent-tool is depth 1)."""

_INHERIT: Any = object()
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("swarmlet_agent_tool_depth", default=0)

TaskParameter = Annotated[
    str,
    Field(
        description=(
            "The task for the agent, with everything it needs to know: it does not see this "
            "conversation."
        )
    ),
]


def make_agent_tool(
    agent: Agent,
    name: str | None = None,
    description: str | None = None,
    *,
    output_type: Any = _INHERIT,
    max_turns: int = 10,
    max_depth: int = DEFAULT_MAX_DEPTH,
    update_context: bool = False,
) -> AgentFunction:
    """The tool function behind :meth:`swarmlet.Agent.as_tool` (see the module docstring)."""
    from swarmlet.schema import tool

    if max_turns < 1 or max_depth < 1:
        raise UsageError("as_tool: max_turns and max_depth must be at least 1")
    runner = agent
    if output_type is not _INHERIT:
        runner = agent.model_copy(update={"output_type": validate_output_type(output_type)})
    tool_name = name or _tool_name(agent.name)

    async def run_agent(task: TaskParameter, context_variables: dict[str, Any]) -> Any:
        return await _sub_run(
            runner, task, context_variables, max_turns, max_depth, update_context, tool_name
        )

    run_agent.__name__ = tool_name
    run_agent.__doc__ = description or _description(agent)
    setattr(run_agent, AGENT_ATTRIBUTE, agent)
    return tool(name=tool_name, description=run_agent.__doc__)(run_agent)


def _tool_name(agent_name: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "_", agent_name).strip("_").lower()
    return (slug or "agent")[:64]


def _description(agent: Agent) -> str:
    text = f"Ask the {agent.name} agent to do a task; returns its answer."
    if isinstance(agent.instructions, str) and agent.instructions.strip():
        return f"{text} Its instructions: {agent.instructions.strip()[:300]}"
    return text


async def _sub_run(
    agent: Agent,
    task: str,
    context: dict[str, Any],
    max_turns: int,
    max_depth: int,
    update_context: bool,
    tool_name: str,
) -> Any:
    from swarmlet.agent import Result
    from swarmlet.running import ToolInterrupted, current_call

    depth = _depth.get() + 1
    if depth > max_depth:
        raise MaxDepthError(
            f"agent-tool {tool_name!r} would nest {depth} deep; the limit is {max_depth} "
            "(raise it with as_tool(max_depth=...))"
        )
    call = current_call()
    if call is None or call.run is None:
        raise UsageError(f"agent-tool {tool_name!r} can only be called by a swarmlet run")
    _depth.set(depth)  # this tool's task only; the sub-run's own tool calls inherit it
    response = await _drain(call, agent, task, context, max_turns)
    if response.interruptions:  # the sub-run waits for approval: the caller's run pauses too
        raise ToolInterrupted(response.state)
    if response.output is None:
        raise RunError(
            f"agent {agent.name!r} gave no final answer within {max_turns} turns",
            response=response,
            agent_name=agent.name,
        )
    value = encode_output(response.output)
    if not update_context:
        return value
    changed = {
        key: item
        for key, item in response.context_variables.items()
        if key not in context or context[key] != item
    }
    return Result(value=value, context_variables=changed)


async def _drain(
    call: RunningCall, agent: Agent, task: str, context: dict[str, Any], max_turns: int
) -> Response:
    """Run the sub-run, passing each of its events to the caller's stream; its Response."""
    from swarmlet.events import RunCompleted
    from swarmlet.loop import RunSpec, run_events

    parent = call.run
    assert parent is not None  # checked by the caller
    spec = RunSpec(
        agent=agent,
        messages=[{"role": "user", "content": task}],
        context_variables=context,  # deep-copied by the loop: the caller's dict is never shared
        model_override=parent.model_override,
        stream=parent.stream,
        max_turns=max_turns,
    )
    # A resumed call continues its paused sub-run (swarmlet.state) instead of starting anew.
    paused = call.resume_state
    events = run_events(spec, parent.resolve, parent.executor, paused, resumed=paused is not None)
    async with contextlib.aclosing(events):
        async for event in events:
            call.emit(event)
            if isinstance(event, RunCompleted) and not event.path:
                return event.response
    raise AssertionError("a run always ends with RunCompleted")  # pragma: no cover
