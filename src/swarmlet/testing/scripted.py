"""A scripted model for deterministic tests of your own agents.

Queue the replies the "model" should give, run your agents, then inspect what it was asked::

    model = ScriptedModel([
        tool_call("transfer_to_sales"),          # turn 1: the triage agent hands off
        reply("Sales here, how can I help?"),    # turn 2: the sales agent answers
    ])
    response = Swarm(client=model).run(triage, [{"role": "user", "content": "buy"}])
    assert model.requests[1].agent_name == "Sales"
    model.assert_all_consumed()

A reply can be a string (text), a :class:`ToolCall` (from :func:`tool_call`), a list of tool
calls (parallel calls in one turn), a :class:`Reply` (text and calls, or explicit stream
deltas) or an exception instance (raised instead of answering). Streaming runs get each reply
cut into small deltas, so streaming code paths are exercised too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter

from swarmlet.exceptions import ScriptExhaustedError
from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
    ToolCallFragment,
)

__all__ = ["Reply", "ReplyLike", "ScriptedModel", "output_json", "reply", "structured", "tool_call"]

_ids = itertools.count(1)


@dataclass
class Reply:
    """One scripted model reply.

    Attributes:
        content: the answer text, if any.
        tool_calls: the calls the model makes in this turn.
        deltas: for streaming runs, the exact deltas to send (overrides automatic splitting).
        delay: seconds to wait before answering (to test timeouts and concurrency).
    """

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    deltas: list[MessageDelta] | None = None
    delay: float = 0.0


ReplyLike = str | ToolCall | Sequence[ToolCall] | Reply | BaseException
"""Anything :class:`ScriptedModel` accepts as a reply."""


def tool_call(
    name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None
) -> ToolCall:
    """A scripted tool call; a ``str`` is sent verbatim (to script malformed arguments)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCall(id=id if id is not None else f"call_{next(_ids)}", name=name, arguments=text)


def reply(content: str | None = None, *calls: ToolCall, delay: float = 0.0) -> Reply:
    """A scripted reply with text and/or tool calls."""
    return Reply(content=content, tool_calls=list(calls), delay=delay)


def output_json(value: Any, output_type: Any = None) -> str:
    """The JSON a model following ``response_format`` writes for ``value``.

    ``output_type`` is the agent's ``output_type``; without it, it is guessed from ``value``:
    pydantic models, dataclasses and dicts (TypedDicts) are sent as they are, anything else
    (lists, scalars) wrapped as ``{"result": value}``, as :mod:`swarmlet.output` requests.
    Also usable for a :class:`~swarmlet.testing.server.ScriptedReply`'s ``content``.
    """
    from swarmlet.output import WRAPPER_FIELD, output_schema

    if output_type is not None:
        return output_schema(output_type).to_json(value)
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, BaseModel) or dataclasses.is_dataclass(value):
        return output_schema(type(value)).to_json(value)
    return json.dumps({WRAPPER_FIELD: TypeAdapter(Any).dump_python(value, mode="json")})


def structured(value: Any, output_type: Any = None, *, delay: float = 0.0) -> Reply:
    """A scripted final answer carrying ``value`` as structured output (see :func:`output_json`)."""
    return Reply(content=output_json(value, output_type), delay=delay)


def _as_reply(item: ReplyLike) -> Reply | BaseException:
    if isinstance(item, (Reply, BaseException)):
        return item
    if isinstance(item, str):
        return Reply(content=item)
    if isinstance(item, ToolCall):
        return Reply(tool_calls=[item])
    return Reply(tool_calls=list(item))


class ScriptedModel(Model):
    """A :class:`~swarmlet.models.Model` that answers from a queue of scripted replies.

    Args:
        replies: the replies, consumed one per model call, in order.
        responder: called with the request when the queue is empty, to compute a reply
            (useful for demos); without one, an empty queue raises ``ScriptExhaustedError``.
        chunk_size: characters per streamed text/argument delta.

    Attributes:
        requests: every :class:`ModelRequest` received, in order.
    """

    def __init__(
        self,
        replies: Iterable[ReplyLike] = (),
        *,
        responder: Callable[[ModelRequest], ReplyLike] | None = None,
        chunk_size: int = 8,
    ) -> None:
        self._queue: deque[Reply | BaseException] = deque(_as_reply(r) for r in replies)
        self.responder = responder
        self.chunk_size = chunk_size
        self.requests: list[ModelRequest] = []

    def add(self, *replies: ReplyLike) -> ScriptedModel:
        """Queue more replies; returns the model so calls can be chained."""
        self._queue.extend(_as_reply(r) for r in replies)
        return self

    @property
    def remaining(self) -> int:
        """How many queued replies have not been used."""
        return len(self._queue)

    def assert_all_consumed(self) -> None:
        """Fail (``AssertionError``) if some queued replies were never requested."""
        if self._queue:
            raise AssertionError(
                f"ScriptedModel: {len(self._queue)} scripted repl"
                f"{'y was' if len(self._queue) == 1 else 'ies were'} never requested "
                f"(received {len(self.requests)} requests)"
            )

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Return the next scripted reply (or raise the scripted exception)."""
        scripted = await self._next(request)
        return AssistantMessage(
            content=scripted.content,
            tool_calls=[ToolCall(c.id, c.name, c.arguments) for c in scripted.tool_calls],
            finish_reason="tool_calls" if scripted.tool_calls else "stop",
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Yield the next scripted reply as small deltas."""
        scripted = await self._next(request)
        for delta in scripted.deltas if scripted.deltas is not None else self._split(scripted):
            yield delta

    async def _next(self, request: ModelRequest) -> Reply:
        self.requests.append(request)
        if self._queue:
            item = self._queue.popleft()
        elif self.responder is not None:
            item = _as_reply(self.responder(request))
        else:
            raise ScriptExhaustedError(
                f"ScriptedModel has no reply left for request #{len(self.requests)} "
                f"(from agent {request.agent_name!r}); queue more replies with .add()"
            )
        if isinstance(item, BaseException):
            raise item
        if item.delay:
            await asyncio.sleep(item.delay)
        return item

    def _split(self, scripted: Reply) -> list[MessageDelta]:
        size = max(1, self.chunk_size)
        deltas = [MessageDelta(role="assistant")]
        text = scripted.content or ""
        deltas += [MessageDelta(content=text[i : i + size]) for i in range(0, len(text), size)]
        for index, call in enumerate(scripted.tool_calls):
            deltas.append(
                MessageDelta(tool_calls=[ToolCallFragment(index, call.id, call.name, "")])
            )
            args = call.arguments
            deltas += [
                MessageDelta(tool_calls=[ToolCallFragment(index, arguments=args[i : i + size])])
                for i in range(0, len(args), size)
            ]
        deltas.append(MessageDelta(finish_reason="tool_calls" if scripted.tool_calls else "stop"))
        return deltas
