"""Typed events produced by a run, and the adapter to Swarm's dict stream.

The run loop yields these in order. ``Swarm.stream`` passes them to the caller;
:func:`to_swarm_events` turns them into Swarm's ``{"delim": ...}`` / delta / ``{"response": ...}``
dicts for ``run(stream=True)``.

Every event has a ``path``: empty for events of the run itself; for events of a *sub-run* (an
agent used as a tool, whose run happens inside one of this run's tool calls) it holds the
tool-call ids leading to it, outermost first. ``("call_a",)`` is an event of the sub-run started
by this run's tool call ``call_a``; ``("call_a", "call_b")`` one of the sub-run started inside
that sub-run by its call ``call_b``. The event's ``agent`` (or ``response.agent``) says which
agent produced it; the matching :class:`ToolCallStarted` of the parent says which tool.
Consumers that only care about the run itself skip events whose ``path`` is not empty
(:func:`to_swarm_events` does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from swarmlet.agent import Agent, Response
from swarmlet.models.base import AssistantMessage, ModelRequest
from swarmlet.usage import ModelUsage

if TYPE_CHECKING:
    from swarmlet.exceptions import RunError
    from swarmlet.guardrails import GuardrailKind, GuardrailResult

__all__ = [
    "AgentStarted",
    "ApprovalRequested",
    "Event",
    "GuardrailChecked",
    "Handoff",
    "MessageCompleted",
    "ModelRequested",
    "ModelResponded",
    "Path",
    "RunCompleted",
    "RunFailed",
    "RunStarted",
    "TextDelta",
    "ToolCallDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnStarted",
    "to_swarm_events",
    "with_origin",
]

Path = tuple[str, ...]
"""Tool-call ids from the top-level run down to the sub-run that produced an event."""


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run started with ``agent``; ``resumed`` when it continues a paused run."""

    agent: Agent
    resumed: bool = False
    path: Path = ()


@dataclass(frozen=True, slots=True)
class AgentStarted:
    """``agent`` became the active agent (at the start of a run, and after each handoff)."""

    agent: Agent
    path: Path = ()


@dataclass(frozen=True, slots=True)
class GuardrailChecked:
    """A guardrail gave its verdict.

    ``kind`` is ``"input"``, ``"output"``, ``"tool_before"`` or ``"tool_after"``; ``call_id``
    names the tool call for tool guardrails.
    """

    agent: Agent
    kind: GuardrailKind
    name: str
    result: GuardrailResult
    call_id: str | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class TurnStarted:
    """A model call is about to be made for ``agent``; ``turn`` counts model calls from 1."""

    agent: Agent
    turn: int
    path: Path = ()


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the assistant's text, as streamed (only in streaming runs)."""

    agent: Agent
    text: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call being streamed (only in streaming runs)."""

    agent: Agent
    index: int
    id: str | None
    name: str | None
    arguments: str | None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ModelRequested:
    """The model is about to be called with ``request`` (turn ``turn``)."""

    agent: Agent
    turn: int
    request: ModelRequest
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ModelResponded:
    """The model call of turn ``turn`` returned ``message`` (streamed replies: when complete).

    ``usage`` is the call's token usage as the endpoint reported it (``None`` if it did not).
    """

    agent: Agent
    turn: int
    message: AssistantMessage
    usage: ModelUsage | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class MessageCompleted:
    """The assistant's message of a turn is complete; ``message`` is its history dict."""

    agent: Agent
    message: dict[str, Any]
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool call is about to run; ``arguments`` is the raw JSON text the model sent."""

    agent: Agent
    call_id: str
    name: str
    arguments: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool call finished; ``error`` is set (``"Type: message"``) when it failed.

    ``message`` is the tool message appended to the history.
    """

    agent: Agent
    call_id: str
    name: str
    content: str
    error: str | None
    message: dict[str, Any]
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    """A tool call needs approval: it waits, and the run pauses at the end of the turn."""

    agent: Agent
    call_id: str
    name: str
    arguments: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Handoff:
    """The conversation passed from ``from_agent`` to ``to_agent``."""

    from_agent: Agent
    to_agent: Agent
    path: Path = ()


@dataclass(frozen=True, slots=True)
class RunCompleted:
    """The run ended; ``response`` is what ``run``/``run_async`` return."""

    response: Response
    path: Path = ()


@dataclass(frozen=True, slots=True)
class RunFailed:
    """The run stopped with ``error`` (raised right after this event); ``agent`` was active."""

    agent: Agent
    error: RunError
    path: Path = ()


Event = (
    RunStarted
    | AgentStarted
    | GuardrailChecked
    | TurnStarted
    | ModelRequested
    | ModelResponded
    | TextDelta
    | ToolCallDelta
    | MessageCompleted
    | ToolCallStarted
    | ToolCallFinished
    | ApprovalRequested
    | Handoff
    | RunCompleted
    | RunFailed
)
"""Any event a run can produce."""

E = TypeVar("E", bound=Event)


def with_origin(event: E, call_id: str) -> E:
    """``event`` re-tagged as coming from the sub-run started by tool call ``call_id``."""
    return dataclasses.replace(event, path=(call_id, *event.path))


async def to_swarm_events(events: AsyncIterator[Event]) -> AsyncIterator[dict[str, Any]]:
    """Translate typed events into Swarm's streamed dicts.

    Each model turn becomes ``{"delim": "start"}``, its deltas (the first carrying
    ``role: "assistant"`` and the ``sender`` who is speaking *now*, not the agent the run
    started with), then ``{"delim": "end"}``; the run ends with ``{"response": Response}``.
    """
    first_in_turn = False
    async for event in events:
        if event.path:
            continue  # a sub-run's event: Swarm's stream shows the run itself only
        if isinstance(event, TurnStarted):
            first_in_turn = True
            yield {"delim": "start"}
        elif isinstance(event, (TextDelta, ToolCallDelta)):
            yield _swarm_delta(event, first_in_turn)
            first_in_turn = False
        elif isinstance(event, MessageCompleted):
            yield {"delim": "end"}
        elif isinstance(event, RunCompleted):
            yield {"response": event.response}


def _swarm_delta(event: TextDelta | ToolCallDelta, first: bool) -> dict[str, Any]:
    delta: dict[str, Any] = {
        "content": None,
        "function_call": None,
        "refusal": None,
        "role": "assistant" if first else None,
        "tool_calls": None,
    }
    if isinstance(event, TextDelta):
        delta["content"] = event.text
    else:
        delta["tool_calls"] = [
            {
                "index": event.index,
                "id": event.id,
                "function": {"arguments": event.arguments, "name": event.name},
                "type": "function" if event.id else None,
            }
        ]
    if first:
        delta["sender"] = event.agent.name
    return delta
