"""The provider base class: what the run loop needs from "a model", and the values it exchanges.

A provider turns a :class:`ModelRequest` (protocol-clean messages and tool schemas) into either
a complete :class:`AssistantMessage` or a stream of :class:`MessageDelta` values. Everything
about endpoints, keys and retries stays inside the provider; the loop only sees these types.

Providers are recognised explicitly, by :class:`Model` being a base class (or a registered
virtual base class), never by duck typing: a ``unittest.mock.MagicMock`` has every attribute,
and Swarm programs pass one as an SDK-style *client*, which must not be mistaken for a provider.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from swarmlet.exceptions import UsageError
from swarmlet.usage import ModelUsage

__all__ = [
    "AssistantMessage",
    "MessageDelta",
    "Model",
    "ModelRequest",
    "ToolCall",
    "ToolCallFragment",
    "is_sdk_client",
    "provider_kind",
]


@dataclass(slots=True)
class ToolCall:
    """One function call requested by the model; ``arguments`` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class AssistantMessage:
    """A complete assistant reply: text, tool calls, or both; ``usage`` as reported."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None
    usage: ModelUsage | None = None


@dataclass(slots=True)
class ToolCallFragment:
    """A piece of a streamed tool call; fragments with the same ``index`` belong together."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(slots=True)
class MessageDelta:
    """One streamed piece of an assistant reply (``usage``: from the stream's usage chunk)."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallFragment] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None
    usage: ModelUsage | None = None


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
        response_format: the Chat Completions ``response_format`` (a JSON schema) the final
            answer must follow, when the agent has an ``output_type``; ``None`` otherwise.
    """

    model: str | None
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    agent_name: str = "Agent"
    response_format: dict[str, Any] | None = None


class Model(abc.ABC):
    """A chat model provider: subclass it (or ``Model.register`` a class of your own).

    Implementations raise :class:`swarmlet.exceptions.ModelError` (or a subclass) for endpoint
    failures; the run loop adds the agent, turn and messages so far before re-raising.
    """

    __slots__ = ()

    @abc.abstractmethod
    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Return the model's whole reply to ``request``."""

    @abc.abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Yield the model's reply to ``request`` as it is produced."""


def is_sdk_client(obj: Any) -> bool:
    """Whether ``obj`` is an SDK-style client: it has a callable ``.chat.completions.create``.

    This is how Swarm talks to a model, so Swarm programs pass ``openai.OpenAI()``,
    ``openai.AsyncOpenAI()`` or a ``MagicMock`` built that way. Checked only for objects that
    are not a :class:`Model`: a provider is never recognised by its attributes.
    """
    completions = getattr(getattr(obj, "chat", None), "completions", None)
    return callable(getattr(completions, "create", None))


def provider_kind(obj: Any) -> str:
    """``"provider"`` for a :class:`Model`, ``"client"`` for an SDK-style client.

    Raises:
        UsageError: for anything else, naming what was expected.
    """
    if isinstance(obj, Model):
        return "provider"
    if is_sdk_client(obj):
        return "client"
    raise UsageError(
        f"expected a swarmlet.models.Model provider or an SDK-style client with "
        f".chat.completions.create (e.g. openai.AsyncOpenAI()), got {type(obj).__name__}; "
        "a provider class of your own must subclass swarmlet.models.Model "
        "(or be registered with Model.register)"
    )
