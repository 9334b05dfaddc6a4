"""The tool phase of a turn: run the model's tool calls, then apply their results.

Calls run concurrently (one task each) unless the agent set ``parallel_tool_calls=False``.
Each call runs in its own task with :func:`swarmlet.running.current_call` set, so a tool can
add events to the run's stream while it runs; those events and the calls' outcomes arrive on
one queue and are yielded in the order they happen. Tool guardrails (``@tool(before=...,
after=...)``) are checked around each call, whatever kind of tool it is. Results are then
applied in the model's call order: tool messages appended, context variables merged, and the
handoff (if several calls hand off in one turn, the last one wins — Swarm's rule) returned as
the phase's outcome. A tool guardrail that stops the run cancels the turn's other calls and
applies nothing.

Approvals. A call whose tool has ``needs_approval`` waits; the turn's *other* calls run now
and their results are held (not yet in the history), so the run pauses with the turn recorded
in ``RunState.pending`` and nothing of it applied. When the run resumes, approved calls run,
rejected ones get a tool message saying they were declined, and once no call waits the whole
turn is applied in call order, as if it had never paused (a handoff one of the held calls
asked for included). A call whose agent-tool sub-run paused is recorded with that sub-run's
state and run again, continuing the sub-run, once its calls are decided.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from swarmlet.agent import Agent
from swarmlet.events import (
    ApprovalRequested,
    Event,
    GuardrailChecked,
    ToolCallFinished,
    ToolCallStarted,
)
from swarmlet.exceptions import ToolArgumentsError, ToolGuardrailTripped
from swarmlet.guardrails import AgentRunner, GuardrailResult, ToolCallInput, as_guardrail, check
from swarmlet.models.base import ToolCall
from swarmlet.outcomes import CallModel, HandOff, Interrupted, Outcome, Tripped
from swarmlet.running import ParentRun, ToolInterrupted, current_call, enter_call
from swarmlet.schema import ToolOptions, tool_options
from swarmlet.state import Approval, PendingTurn, RunState
from swarmlet.tools import (
    BoundTool,
    ToolOutcome,
    call_here,
    execute_tool_call,
    outcome_of,
    parse_arguments,
    raised_outcome,
    runs_here,
    tool_message,
)
from swarmlet.turn import offered_tools

__all__ = ["ToolEnvironment", "tool_phase"]

logger = logging.getLogger("swarmlet.tools")

Emit = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class ToolEnvironment:
    """What running tools needs from the run: a thread pool, and a way to run agents.

    ``parent`` is handed to each running call (:func:`swarmlet.running.current_call`), for
    tools that start sub-runs (agents used as tools).
    """

    executor: Executor | None
    run_agent: AgentRunner
    parent: ParentRun | None = None


@dataclass(frozen=True, slots=True)
class _Crashed:
    """A call's task died of something other than a tool failure (cancellation, a bug)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class _Paused:
    """A call's sub-run paused for approval; ``state`` is that sub-run's."""

    call: ToolCall
    state: RunState


@dataclass(frozen=True, slots=True)
class _Stopped:
    """A tool guardrail stopped the run at this call."""

    error: ToolGuardrailTripped


async def tool_phase(
    state: RunState, pending: PendingTurn, env: ToolEnvironment, *, fresh: bool
) -> AsyncGenerator[Event | Outcome, None]:
    """Run the turn's calls that may run; end with CallModel, HandOff, Interrupted or Tripped.

    ``fresh``: the model just made these calls (approval requirements are evaluated now);
    otherwise the turn continues a paused run, whose decisions are in ``pending``.
    """
    agent, tools = state.agent, await offered_tools(state)
    if fresh:
        await _ask_approvals(pending, tools)
    for call in _rejected(pending):
        yield _finished(agent, pending.results[call.id])
    runnable = [c for c in pending.calls if c.id not in pending.results and pending.ready(c.id)]
    for call in pending.calls:
        if call in runnable:
            yield ToolCallStarted(agent, call.id, call.name, call.arguments)
        elif fresh and call.id in pending.approvals:
            yield ApprovalRequested(agent, call.id, call.name, call.arguments)
    resume = {c.id: pending.paused_runs.pop(c.id) for c in runnable if c.id in pending.paused_runs}
    async for item in _run_calls(state, runnable, tools, env, resume):
        if isinstance(item, _Stopped):
            yield Tripped(item.error)
            return
        if isinstance(item, _Paused):
            pending.paused_runs[item.call.id] = item.state
        elif isinstance(item, ToolOutcome):
            pending.results[item.call.id] = item
            yield _finished(agent, item)
        else:
            yield item
    yield _end_of_turn(state, pending)


def _end_of_turn(state: RunState, pending: PendingTurn) -> Outcome:
    """Pause if calls still wait; else apply the whole turn in call order."""
    if pending.waiting():
        state.pending = pending
        return Interrupted()
    state.pending = None
    handoff = _apply(state, [pending.results[call.id] for call in pending.calls])
    return CallModel() if handoff is None else HandOff(state.agent, handoff)


async def _ask_approvals(pending: PendingTurn, tools: Mapping[str, BoundTool]) -> None:
    """Record a pending approval for each call whose tool asks for one."""
    for call in pending.calls:
        bound = tools.get(call.name)
        if bound is not None and await _needs_approval(tool_options(bound.func), call):
            pending.approvals[call.id] = Approval()


async def _needs_approval(options: ToolOptions, call: ToolCall) -> bool:
    rule = options.needs_approval
    if not callable(rule):
        return bool(rule)
    try:
        verdict = rule(_arguments(call))
        return bool(await verdict if inspect.isawaitable(verdict) else verdict)
    except Exception:  # fail closed: a rule that cannot decide asks a human
        logger.warning("needs_approval of %s raised; asking for approval", call.name, exc_info=True)
        return True


def _rejected(pending: PendingTurn) -> list[ToolCall]:
    """Turn each newly rejected call into its result: the model is told it was declined."""
    calls = []
    for call in pending.calls:
        approval = pending.approvals.get(call.id)
        if approval is None or approval.status != "rejected" or call.id in pending.results:
            continue
        text = approval.message or "The user declined this tool call; it was not run."
        pending.results[call.id] = ToolOutcome(call, text, error=f"ToolRejected: {text}")
        calls.append(call)
    return calls


def _finished(agent: Agent, outcome: ToolOutcome) -> ToolCallFinished:
    call = outcome.call
    message = tool_message(outcome)
    return ToolCallFinished(agent, call.id, call.name, outcome.content, outcome.error, message)


async def _run_calls(
    state: RunState,
    calls: list[ToolCall],
    tools: Mapping[str, BoundTool],
    env: ToolEnvironment,
    resume: dict[str, RunState],
) -> AsyncIterator[Event | ToolOutcome | _Stopped | _Paused]:
    """Yield events emitted while tools run and each call's outcome, as they happen."""
    if len(calls) == 1 and _runs_here(calls[0], tools, env):
        for done in await _call_here(state, calls[0], tools, env, resume):
            yield done
        return
    queue: asyncio.Queue[Event | ToolOutcome | _Stopped | _Paused | _Crashed] = asyncio.Queue()
    agent = state.agent

    async def run_one(call: ToolCall) -> None:
        enter_call(call, agent, queue.put_nowait, env.parent, resume.get(call.id))
        try:
            queue.put_nowait(await _guarded_call(call, tools, state, env, queue.put_nowait))
        except ToolInterrupted as paused:  # its sub-run waits for approval
            queue.put_nowait(_Paused(call, paused.state))
        except BaseException as exc:  # reported to the consumer, which re-raises it
            queue.put_nowait(_Crashed(exc))

    async def run_in_order() -> None:
        for call in calls:
            await asyncio.ensure_future(run_one(call))  # a task each: a context each

    if len(calls) == 1 or agent.parallel_tool_calls:  # one call needs no ordering task
        tasks = [asyncio.ensure_future(run_one(call)) for call in calls]
    else:
        tasks = [asyncio.ensure_future(run_in_order())]
    try:
        remaining = len(calls)
        while remaining:
            item = await queue.get()
            if isinstance(item, _Crashed):
                raise item.error
            if isinstance(item, (ToolOutcome, _Stopped, _Paused)):
                remaining -= 1
            yield item
    finally:
        for task in tasks:  # the consumer stopped early: do not leave tools running unawaited
            task.cancel()


def _runs_here(call: ToolCall, tools: Mapping[str, BoundTool], env: ToolEnvironment) -> bool:
    """A quick sync call without tool guardrails: it can run at once, without a task.

    Only in a top-level run: a sub-run's events reach its parent's stream through a queue, and
    its tool must not run before the parent has seen the call start (tracing puts the tool's
    own spans under the call's span when it sees that event).
    """
    if current_call() is not None or not runs_here(call, tools, env.executor):
        return False
    options = tool_options(tools[call.name].func)  # runs_here found the tool
    return not options.before and not options.after


async def _call_here(
    state: RunState,
    call: ToolCall,
    tools: Mapping[str, BoundTool],
    env: ToolEnvironment,
    resume: dict[str, RunState],
) -> list[Event | ToolOutcome | _Paused]:
    """Run one call :func:`_runs_here` accepted, right here: its events, then its outcome.

    The common turn (one handoff, one lookup) on this path costs no task, no queue and no
    event-loop round trips. The call still gets a context of its own, as a task would give it.
    """
    emitted: list[Event | ToolOutcome | _Paused] = []
    context = contextvars.copy_context()
    context.run(enter_call, call, state.agent, emitted.append, env.parent, resume.get(call.id))
    try:
        result = context.run(call_here, call, tools, state.context_variables, env.executor)
        if not isinstance(result, ToolOutcome):  # the sync tool returned an awaitable
            try:
                result = outcome_of(call, await _awaited(result, context))
            except Exception as exc:  # the model is told; the run goes on
                result = raised_outcome(call, tools, exc)
    except ToolInterrupted as paused:  # its sub-run waits for approval
        return [*emitted, _Paused(call, paused.state)]
    return [*emitted, result]


async def _awaited(awaitable: Awaitable[Any], context: contextvars.Context) -> Any:
    """Await what a sync tool returned, in the call's context where the loop allows it."""
    if sys.version_info >= (3, 11):

        async def value() -> Any:
            return await awaitable

        return await asyncio.get_running_loop().create_task(value(), context=context)
    return await awaitable  # Python 3.10's create_task takes no context


async def _guarded_call(
    call: ToolCall,
    tools: Mapping[str, BoundTool],
    state: RunState,
    env: ToolEnvironment,
    emit: Emit,
) -> ToolOutcome | _Stopped:
    """Run one call between its ``before`` and ``after`` tool guardrails."""
    bound = tools.get(call.name)
    options = tool_options(bound.func) if bound is not None else None
    data = ToolCallInput(state.agent, call.id, call.name, _arguments(call), state.context_variables)
    if options is not None and options.before:
        verdict = await _verdict(options.before, "tool_before", data, env, emit)
        if verdict is not None:
            return verdict if isinstance(verdict, _Stopped) else ToolOutcome(call, verdict)
    outcome = await execute_tool_call(call, tools, state.context_variables, env.executor)
    if options is not None and options.after:
        data = dataclasses.replace(data, result=outcome.content, error=outcome.error)
        verdict = await _verdict(options.after, "tool_after", data, env, emit)
        if verdict is not None:  # the result (and any handoff or context update) is dropped
            return verdict if isinstance(verdict, _Stopped) else ToolOutcome(call, verdict)
    return outcome


async def _verdict(
    guardrails: tuple[Any, ...],
    kind: str,
    data: ToolCallInput,
    env: ToolEnvironment,
    emit: Emit,
) -> _Stopped | str | None:
    """Check ``guardrails`` in order: a stop, a replacement message, or ``None`` (go on)."""
    for item in guardrails:
        guardrail = as_guardrail(item)
        result = await check(guardrail, data, env.run_agent)
        emit(GuardrailChecked(data.agent, kind, guardrail.label, result, data.call_id))  # type: ignore[arg-type]
        if result.replacement is not None:
            return result.replacement
        if result.tripped:
            return _Stopped(_tripped(guardrail.label, kind, data, result))
    return None


def _tripped(
    name: str, kind: str, data: ToolCallInput, result: GuardrailResult
) -> ToolGuardrailTripped:
    when = "before" if kind == "tool_before" else "after"
    return ToolGuardrailTripped(
        f"tool guardrail {name!r} stopped the run {when} {data.name} ({data.call_id})",
        result=result,
        guardrail=name,
    )


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        return parse_arguments(call.arguments)
    except ToolArgumentsError:
        return {}


def _apply(state: RunState, outcomes: list[ToolOutcome]) -> Agent | None:
    """Append tool messages and context updates in the model's call order; return the handoff."""
    handoff = None
    for outcome in outcomes:
        state.messages.append(tool_message(outcome))
        state.context_variables.update(outcome.context_variables)
        if outcome.agent is not None:
            handoff = outcome.agent
    return handoff
