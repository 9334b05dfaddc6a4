"""The tool phase of a turn: run the model's tool calls, then apply their results.

Calls run concurrently (one task each) unless the agent set ``parallel_tool_calls=False``.
Each call runs in its own task with :func:`swarmlet.running.current_call` set, so a tool can
add events to the run's stream while it runs; those events and the calls' outcomes arrive on
one queue and are yielded in the order they happen. Results are then applied in the model's
call order: tool messages appended, context variables merged, and the handoff (if several
calls hand off in one turn, the last one wins — Swarm's rule) returned as the phase's outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass

from swarmlet.agent import Agent
from swarmlet.events import Event, ToolCallFinished, ToolCallStarted
from swarmlet.models.base import ToolCall
from swarmlet.outcomes import CallModel, HandOff, Outcome
from swarmlet.running import enter_call
from swarmlet.state import RunState
from swarmlet.tools import BoundTool, ToolOutcome, bind_tools, execute_tool_call, tool_message

__all__ = ["tool_phase"]


@dataclass(frozen=True, slots=True)
class _Crashed:
    """A call's task died of something other than a tool failure (cancellation, a bug)."""

    error: BaseException


async def tool_phase(
    state: RunState, calls: list[ToolCall], executor: Executor | None
) -> AsyncGenerator[Event | Outcome, None]:
    """Run ``calls`` for the active agent; end with :class:`CallModel` or :class:`HandOff`."""
    agent = state.agent
    for call in calls:
        yield ToolCallStarted(agent, call.id, call.name, call.arguments)
    outcomes: dict[str, ToolOutcome] = {}
    async for item in _run_calls(state, calls, bind_tools(agent), executor):
        if isinstance(item, ToolOutcome):
            outcomes[item.call.id] = item
            yield _finished(agent, item)
        else:
            yield item
    handoff = _apply(state, [outcomes[call.id] for call in calls])
    yield CallModel() if handoff is None else HandOff(agent, handoff)


def _finished(agent: Agent, outcome: ToolOutcome) -> ToolCallFinished:
    call = outcome.call
    message = tool_message(outcome)
    return ToolCallFinished(agent, call.id, call.name, outcome.content, outcome.error, message)


async def _run_calls(
    state: RunState,
    calls: list[ToolCall],
    tools: Mapping[str, BoundTool],
    executor: Executor | None,
) -> AsyncIterator[Event | ToolOutcome]:
    """Yield events emitted by running tools and each call's outcome, as they happen."""
    queue: asyncio.Queue[Event | ToolOutcome | _Crashed] = asyncio.Queue()
    agent = state.agent

    async def run_one(call: ToolCall) -> None:
        enter_call(call, agent, queue.put_nowait)  # this task's context only
        try:
            queue.put_nowait(
                await execute_tool_call(call, tools, state.context_variables, executor)
            )
        except BaseException as exc:  # reported to the consumer, which re-raises it
            queue.put_nowait(_Crashed(exc))

    async def run_in_order() -> None:
        for call in calls:
            await asyncio.ensure_future(run_one(call))  # a task each: a context each

    if agent.parallel_tool_calls and len(calls) > 1:
        tasks = [asyncio.ensure_future(run_one(call)) for call in calls]
    else:
        tasks = [asyncio.ensure_future(run_in_order())]
    try:
        remaining = len(calls)
        while remaining:
            item = await queue.get()
            if isinstance(item, _Crashed):
                raise item.error
            if isinstance(item, ToolOutcome):
                remaining -= 1
            yield item
    finally:
        for task in tasks:  # the consumer stopped early: do not leave tools running unawaited
            task.cancel()


def _apply(state: RunState, outcomes: list[ToolOutcome]) -> Agent | None:
    """Append tool messages and context updates in the model's call order; return the handoff."""
    handoff = None
    for outcome in outcomes:
        state.messages.append(tool_message(outcome))
        state.context_variables.update(outcome.context_variables)
        if outcome.agent is not None:
            handoff = outcome.agent
    return handoff
