"""Request and response bodies of the agent server's API, validated with pydantic.

Every request model forbids unknown fields, so a typo (``"mesages"``) is a clear 422 instead of
a silently empty run. Limits on sizes keep one request from tying up the server; the byte size
of a whole body is capped separately (``max_body_size``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest",
    "ErrorBody",
    "Message",
    "RunInfo",
    "RunRequest",
]

MAX_MESSAGES = 2000
"""Most messages one request may carry."""


class Message(BaseModel):
    """A chat message in Swarm's dict shape (``role``, ``content``; extra keys are kept).

    Assistant messages may carry ``tool_calls`` and ``sender``; tool messages ``tool_call_id``
    and ``tool_name``.
    """

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[Any] | None = None


class RunRequest(BaseModel):
    """Start a run of the entry agent on a conversation."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    context_variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Merged over the server's starting context variables for this run.",
    )
    stream: bool = Field(
        default=True, description="Answer with server-sent events; false: JSON when done."
    )
    max_turns: int | None = Field(default=None, ge=1, le=1000, description="Model calls allowed.")
    on_disconnect: Literal["continue", "cancel"] = Field(
        default="continue",
        description="What happens to the run if the streaming client goes away.",
    )


class RunInfo(BaseModel):
    """A run's status and, once it ended, its outcome."""

    id: str
    thread_id: str | None
    status: Literal["running", "completed", "paused", "failed", "cancelled"]
    response: dict[str, Any] | None
    error: dict[str, str] | None
    created_at: float
    finished_at: float | None
    event_count: int


class ErrorBody(BaseModel):
    """Every error the API returns: ``{"error": {"type", "message", ...}}`` (OpenAI's shape)."""

    error: dict[str, Any]


class ChatCompletionRequest(BaseModel):
    """The part of OpenAI's chat-completions request the facade uses; other fields are ignored.

    Sampling parameters (``temperature``...) belong to the agents' own models, so they are
    accepted for compatibility and not applied.
    """

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    user: str | None = None
