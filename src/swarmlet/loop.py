"""THE run loop: one async generator of typed events per run.

``Swarm.run_async`` drains it, ``Swarm.stream`` exposes it, and the sync ``run`` (streaming or
not) iterates it on a private event loop. There is deliberately no second copy.

A run repeats: call the active agent's model -> if the reply has no tool calls (or tools are
not to be executed), stop -> run the tool calls -> apply context updates and handoffs. Each
model call is one *turn*; ``max_turns`` bounds them and, like Swarm, reaching it returns the
response so far instead of raising.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from swarmlet.agent import Agent, Response
from swarmlet.events import (
    Event,
    Handoff,
    MessageCompleted,
    RunCompleted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from swarmlet.exceptions import ModelError, RunError, SwarmletError
from swarmlet.messages import assistant_to_dict, to_api_messages
from swarmlet.models.base import AssistantMessage, MessageDelta, Model, ModelRequest, ToolCall
from swarmlet.models.merge import DeltaAccumulator
from swarmlet.tools import BoundTool, ToolOutcome, bind_tools, execute_tool_call, tool_message

__all__ = ["RunSpec", "run_events"]

logger = logging.getLogger("swarmlet.run")

ModelResolver = Callable[[Agent], Model]
"""Finds the provider serving an agent (its own instance, or the client's default)."""


@dataclass(slots=True)
class RunSpec:
    """The arguments of one run, as given to ``Swarm.run``."""

    agent: Agent
    messages: list[dict[str, Any]]
    context_variables: dict[str, Any] = field(default_factory=dict)
    model_override: str | None = None
    stream: bool = False
    max_turns: float = float("inf")
    execute_tools: bool = True


@dataclass(slots=True)
class _State:
    """What changes while a run goes on."""

    agent: Agent
    history: list[dict[str, Any]]
    start: int
    context: dict[str, Any]
    turn: int = 0

    def response(self) -> Response:
        return Response(
            messages=self.history[self.start :], agent=self.agent, context_variables=self.context
        )


async def run_events(
    spec: RunSpec, resolve: ModelResolver, executor: Executor | None = None
) -> AsyncGenerator[Event, None]:
    """Run ``spec`` and yield its events, ending with :class:`RunCompleted`.

    Raises:
        RunError: (or a subclass) when the model call fails; ``.response`` holds the
            messages produced before the failure.
    """
    # Deep copies: the caller's list and dict are never mutated (Swarm's contract).
    state = _State(
        agent=spec.agent,
        history=copy.deepcopy(spec.messages),
        start=len(spec.messages),
        context=copy.deepcopy(spec.context_variables),
    )
    while state.turn < spec.max_turns:
        state.turn += 1
        yield TurnStarted(state.agent, state.turn)
        holder: list[AssistantMessage] = []
        async for event in _model_turn(state, spec, resolve(state.agent), holder):
            yield event
        message = holder[0]
        if not message.tool_calls or not spec.execute_tools:
            break
        async for event in _tool_turn(state, message.tool_calls, executor):
            yield event
    yield RunCompleted(state.response())


async def _model_turn(
    state: _State, spec: RunSpec, model: Model, holder: list[AssistantMessage]
) -> AsyncGenerator[Event, None]:
    """Call the model once, streaming or not; append the reply to the history."""
    request = _build_request(state, spec)
    logger.debug("turn %d: calling model for agent %r", state.turn, state.agent.name)
    try:
        if spec.stream:
            accumulator = DeltaAccumulator()
            async for delta in model.stream(request):
                accumulator.add(delta)
                for event in _delta_events(state.agent, delta):
                    yield event
            message = accumulator.message()
        else:
            message = await model.complete(request)
    except RunError as exc:
        _with_position(exc, state)
        raise  # the same exception, so its cause (the SDK or transport error) stays attached
    except SwarmletError:
        raise  # a usage or configuration error: the caller's bug, not a run failure
    except Exception as exc:
        raise _with_position(
            ModelError(f"the model call failed: {type(exc).__name__}: {exc}"), state
        ) from exc
    message.tool_calls = _unique_ids(message.tool_calls)
    as_dict = assistant_to_dict(message, state.agent.name)
    state.history.append(as_dict)
    logger.debug("turn %d: %r answered %r", state.turn, state.agent.name, as_dict)
    holder.append(message)
    yield MessageCompleted(state.agent, as_dict)


def _build_request(state: _State, spec: RunSpec) -> ModelRequest:
    agent = state.agent
    instructions = agent.instructions
    if callable(instructions):
        # Swarm hands instructions a defaultdict so missing keys read as "".
        instructions = instructions(defaultdict(str, state.context))
    tools = [tool.schema.to_tool() for tool in bind_tools(agent).values()]
    model_name = spec.model_override or (agent.model if isinstance(agent.model, str) else None)
    return ModelRequest(
        model=model_name,
        messages=to_api_messages([{"role": "system", "content": instructions}, *state.history]),
        tools=tools,
        tool_choice=agent.tool_choice,
        parallel_tool_calls=agent.parallel_tool_calls if tools else None,
        settings=dict(agent.model_settings),
        agent_name=agent.name,
    )


def _delta_events(agent: Agent, delta: MessageDelta) -> list[Event]:
    events: list[Event] = []
    if delta.content:
        events.append(TextDelta(agent, delta.content))
    for fragment in delta.tool_calls:
        events.append(
            ToolCallDelta(agent, fragment.index, fragment.id, fragment.name, fragment.arguments)
        )
    return events


def _unique_ids(calls: list[ToolCall]) -> list[ToolCall]:
    """Give every call a distinct id: tool results are matched to calls by id."""
    seen: set[str] = set()
    for call in calls:
        if not call.id or call.id in seen:
            call.id = f"call_{uuid.uuid4().hex[:24]}"
        seen.add(call.id)
    return calls


def _with_position(exc: RunError, state: _State) -> RunError:
    """Name the agent and turn in a model failure and attach the messages so far."""
    exc.args = (f"agent {state.agent.name!r}, turn {state.turn}: {exc}",)
    exc.response, exc.agent_name, exc.turn = state.response(), state.agent.name, state.turn
    return exc


async def _tool_turn(
    state: _State, calls: list[ToolCall], executor: Executor | None
) -> AsyncGenerator[Event, None]:
    """Run the turn's tool calls, then apply their messages, context updates and handoff."""
    agent = state.agent
    tools = bind_tools(agent)
    for call in calls:
        yield ToolCallStarted(agent, call.id, call.name, call.arguments)
    outcomes: dict[str, ToolOutcome] = {}
    async for outcome in _execute(calls, tools, state.context, executor, agent.parallel_tool_calls):
        outcomes[outcome.call.id] = outcome
        yield ToolCallFinished(
            agent,
            outcome.call.id,
            outcome.call.name,
            outcome.content,
            outcome.error,
            tool_message(outcome),
        )
    handoff = _apply(state, [outcomes[call.id] for call in calls])
    if handoff is not None:
        logger.debug("handoff: %r -> %r", agent.name, handoff.name)
        yield Handoff(agent, handoff)


async def _execute(
    calls: list[ToolCall],
    tools: dict[str, BoundTool],
    context: dict[str, Any],
    executor: Executor | None,
    parallel: bool,
) -> AsyncIterator[ToolOutcome]:
    """Yield outcomes as calls finish: all at once when parallel, else one after another."""
    if not parallel or len(calls) == 1:
        for call in calls:
            yield await execute_tool_call(call, tools, context, executor)
        return
    tasks = [asyncio.ensure_future(execute_tool_call(c, tools, context, executor)) for c in calls]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:  # the consumer stopped early: do not leave tools running unawaited
            task.cancel()


def _apply(state: _State, outcomes: list[ToolOutcome]) -> Agent | None:
    """Append tool messages and context updates in the model's call order.

    If several calls hand off in one turn, the last one wins (Swarm's rule).
    """
    handoff = None
    for outcome in outcomes:
        state.history.append(tool_message(outcome))
        state.context.update(outcome.context_variables)
        if outcome.agent is not None:
            handoff = outcome.agent
    if handoff is not None:
        state.agent = handoff
    return handoff
