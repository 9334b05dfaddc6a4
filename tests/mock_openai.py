"""A Swarm-style mock client: a ``MagicMock`` whose ``chat.completions.create`` returns real
``openai`` SDK objects, exactly the kind of client Swarm's own test-suite passes to ``Swarm``."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock

from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import (
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)

from swarmlet.types import ChatCompletionMessageToolCall, Function


def completion(
    content: str | None = "", calls: list[tuple[str, dict[str, Any]]] = ()
) -> ChatCompletion:  # type: ignore[assignment]
    """A ChatCompletion with ``content`` and tool calls given as ``(name, args)`` pairs."""
    tool_calls = [
        ChatCompletionMessageToolCall(
            id=f"mock_tc_{i}",
            type="function",
            function=Function(name=name, arguments=json.dumps(args)),
        )
        for i, (name, args) in enumerate(calls)
    ] or None
    message = ChatCompletionMessage(role="assistant", content=content, tool_calls=tool_calls)
    return ChatCompletion(
        id="mock_cc",
        created=1,
        model="gpt-4o",
        object="chat.completion",
        choices=[
            Choice(message=message, finish_reason="tool_calls" if tool_calls else "stop", index=0)
        ],
    )


def chunk(
    content: str | None = None,
    *,
    role: str | None = None,
    calls: list[tuple[int, str | None, str | None, str | None]] = (),  # type: ignore[assignment]
    finish: str | None = None,
    no_choices: bool = False,
) -> ChatCompletionChunk:
    """A stream chunk; ``calls`` are ``(index, id, name, arguments_piece)`` fragments."""
    fragments = [
        ChoiceDeltaToolCall(
            index=index, id=call_id, type="function" if call_id else None,
            function=ChoiceDeltaToolCallFunction(name=name, arguments=args),
        )
        for index, call_id, name, args in calls
    ] or None  # fmt: skip
    delta = ChoiceDelta(role=role, content=content, tool_calls=fragments)
    choices = [] if no_choices else [ChunkChoice(index=0, delta=delta, finish_reason=finish)]
    return ChatCompletionChunk(
        id="mock_chunk", created=1, model="gpt-4o", object="chat.completion.chunk", choices=choices
    )


class MockOpenAIClient:
    """``chat.completions.create`` as a MagicMock, like Swarm's tests."""

    def __init__(self) -> None:
        self.chat = MagicMock()
        self.chat.completions = MagicMock()

    def set_response(self, response: Any) -> None:
        self.chat.completions.create.return_value = response

    def set_sequential_responses(self, responses: list[Any]) -> None:
        self.chat.completions.create.side_effect = responses

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The keyword arguments of every ``create`` call."""
        return [c.kwargs for c in self.chat.completions.create.call_args_list]
