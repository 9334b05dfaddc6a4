"""One model turn: build the request, call the model (streaming or not), record the reply.

A turn ends in one outcome: :class:`~swarmlet.outcomes.Answer` (no tool calls),
:class:`~swarmlet.outcomes.RunTools`, or :class:`~swarmlet.outcomes.Finish` when tools are not
to be executed.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from swarmlet.events import (
    Event,
    MessageCompleted,
    ModelRequested,
    ModelResponded,
    TextDelta,
    ToolCallDelta,
    TurnStarted,
)
from swarmlet.exceptions import ModelError, RunError, SwarmletError
from swarmlet.history import visible_history
from swarmlet.messages import assistant_to_dict, to_api_messages
from swarmlet.models.base import AssistantMessage, MessageDelta, Model, ModelRequest, ToolCall
from swarmlet.models.merge import DeltaAccumulator
from swarmlet.outcomes import Answer, Finish, Outcome, RunTools
from swarmlet.output import request_format
from swarmlet.state import RunState
from swarmlet.tools import BoundTool, agent_tools, bind_tools

__all__ = ["TurnOptions", "model_turn", "with_position"]

logger = logging.getLogger("swarmlet.run")


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """The run options a model turn needs."""

    model_override: str | None = None
    stream: bool = False
    execute_tools: bool = True


async def model_turn(
    state: RunState, options: TurnOptions, model: Model
) -> AsyncGenerator[Event | Outcome, None]:
    """Call the model once, append its reply to the history, and say what comes next.

    One generator for the whole turn, request to outcome: every event of the turn (streamed
    deltas included) passes through each generator layer between the model and the consumer,
    so the turn adds one layer, not one per phase (docs/benchmarks.md, "Run-loop overhead").
    """
    state.turn += 1
    yield TurnStarted(state.agent, state.turn)
    tools = await offered_tools(state)
    history = await visible_history(state.agent, state.messages)
    request = build_request(state, options.model_override, tools, history)
    yield ModelRequested(state.agent, state.turn, request)
    logger.debug("turn %d: calling model for agent %r", state.turn, state.agent.name)
    try:
        if options.stream:
            accumulator = DeltaAccumulator()
            async for delta in model.stream(request):
                accumulator.add(delta)
                for event in _delta_events(state, delta):
                    yield event
            message = accumulator.message()
        else:
            message = await model.complete(request)
    except RunError as exc:
        with_position(exc, state)
        raise  # the same exception, so its cause (the SDK or transport error) stays attached
    except SwarmletError:
        raise  # a usage or configuration error: the caller's bug, not a run failure
    except Exception as exc:
        raise with_position(
            ModelError(f"the model call failed: {type(exc).__name__}: {exc}"), state
        ) from exc
    for item in _reply(state, options, message):
        yield item


def _reply(
    state: RunState, options: TurnOptions, message: AssistantMessage
) -> list[Event | Outcome]:
    """Record the model's reply in the history: its events, then the outcome that follows."""
    message.tool_calls = _unique_ids(message.tool_calls)
    state.usage.add(state.agent.name, message.usage)
    as_dict = assistant_to_dict(message, state.agent.name)
    state.messages.append(as_dict)
    logger.debug(
        "turn %d: %r answered %r (usage: %s)", state.turn, state.agent.name, as_dict, message.usage
    )
    outcome: Outcome
    if not message.tool_calls:
        outcome = Answer(message)
    elif options.execute_tools:
        outcome = RunTools(message.tool_calls)
    else:
        outcome = Finish("execute_tools")
    return [
        ModelResponded(state.agent, state.turn, message, message.usage),
        MessageCompleted(state.agent, as_dict),
        outcome,
    ]


async def offered_tools(state: RunState) -> dict[str, BoundTool]:
    """The active agent's tools, its MCP servers' included (their lists are cached).

    Raises:
        MCPServerError: an MCP server could not list its tools; it names the agent and turn
            and carries the messages so far, like a model failure.
    """
    try:
        return await agent_tools(state.agent)
    except RunError as exc:
        raise with_position(exc, state) from exc.__cause__


def build_request(
    state: RunState,
    model_override: str | None,
    bound: Mapping[str, BoundTool] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> ModelRequest:
    """The request for the active agent's model, from the history so far.

    ``bound`` is the agent's tools (from :func:`~swarmlet.tools.agent_tools`, which also lists
    MCP servers' tools); by default, its functions. ``history`` is what the agent may see of
    the conversation (:func:`swarmlet.history.visible_history`); by default, all of it.
    """
    agent = state.agent
    instructions = agent.instructions
    if callable(instructions):
        # Swarm hands instructions a defaultdict so missing keys read as "".
        instructions = instructions(defaultdict(str, state.context_variables))
    if bound is None:
        bound = bind_tools(agent)
    tools = [tool.schema.to_tool() for tool in bound.values()]
    model_name = model_override or (agent.model if isinstance(agent.model, str) else None)
    seen = state.messages if history is None else history
    return ModelRequest(
        model=model_name,
        messages=to_api_messages([{"role": "system", "content": instructions}, *seen]),
        tools=tools,
        tool_choice=agent.tool_choice,
        parallel_tool_calls=agent.parallel_tool_calls if tools else None,
        settings=dict(agent.model_settings),
        agent_name=agent.name,
        response_format=request_format(agent.output_type),
    )


def _delta_events(state: RunState, delta: MessageDelta) -> list[Event]:
    events: list[Event] = []
    if delta.content:
        events.append(TextDelta(state.agent, delta.content))
    for fragment in delta.tool_calls:
        events.append(
            ToolCallDelta(
                state.agent, fragment.index, fragment.id, fragment.name, fragment.arguments
            )
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


def with_position(exc: RunError, state: RunState) -> RunError:
    """Name the agent and turn in a run failure and attach the messages so far."""
    exc.args = (f"agent {state.agent.name!r}, turn {state.turn}: {exc}",)
    exc.response, exc.agent_name, exc.turn = state.response(), state.agent.name, state.turn
    return exc
