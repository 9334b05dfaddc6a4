"""The provider protocol: what the run loop needs from "a model", and the values it exchanges.

A provider turns a :class:`ModelRequest` (protocol-clean messages and tool schemas) into either
a complete :class:`AssistantMessage` or a stream of :class:`MessageDelta` values. Everything
about endpoints, keys and retries stays inside the provider; the loop only sees these types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AssistantMessage",
    "MessageDelta",
    "Model",
    "ModelRequest",
    "ToolCall",
    "ToolCallFragment",
]


@dataclass(slots=True)
class ToolCall:
    """One function call requested by the model; ``arguments`` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class AssistantMessage:
    """A complete assistant reply: text, tool calls, or both."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None


@dataclass(slots=True)
class ToolCallFragment:
    """A piece of a streamed tool call; fragments with the same ``index`` belong together."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(slots=True)
class MessageDelta:
    """One streamed piece of an assistant reply."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallFragment] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None


@dataclass(slots=True)
class ModelRequest:
    """Everything a provider needs for one model call.

    Attributes:
        model: the model name to ask for, or ``None`` for the provider's own default.
        messages: protocol-clean Chat Completions messages, system prompt first.
        tools: tool schemas in Chat Completions form (empty when the agent has none).
        tool_choice: sent only when not ``None`` and there are tools.
        parallel_tool_calls: sent only when not ``None`` and there are tools.
        settings: extra parameters (temperature, max_tokens...) passed through as they are.
        agent_name: the requesting agent, for error messages and logs.
    """

    model: str | None
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    agent_name: str = "Agent"


@runtime_checkable
class Model(Protocol):
    """A chat model provider.

    Implementations raise :class:`swarmlet.exceptions.ModelError` (or a subclass) for endpoint
    failures; the run loop adds the agent, turn and messages so far before re-raising.
    """

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Return the model's whole reply to ``request``."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Yield the model's reply to ``request`` as it is produced."""
        ...
