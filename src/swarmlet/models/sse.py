"""A streamed chat completion off the wire: server-sent events to :class:`MessageDelta` values.

:class:`SSEParser` cuts body pieces into the ``data`` of each event; :func:`read_deltas` turns
the chunks of one network read into as few deltas as keep their order. Chunks that arrive
together are merged while they are parsed, not parsed into one delta each and merged after: a
streamed reply is a few dozen chunks, and every object per chunk is work in the hot path.

Merging never reorders anything a consumer sees: text never follows tool-call fragments within
one delta, a fragment joins the one before only when it continues that call (same index, no id
or name of its own), and the end of a reply (its ``finish_reason`` or usage) stays the last
thing in its delta. So any cut of a stream into reads merges to the same message
(``DeltaAccumulator``), which tests/test_merge_properties.py checks.
"""

from __future__ import annotations

from typing import Any

from swarmlet.exceptions import ModelError, ModelResponseError
from swarmlet.models.base import MessageDelta, ToolCallFragment
from swarmlet.models.json_codec import loads
from swarmlet.usage import ModelUsage, model_usage

__all__ = ["SSEParser", "read_deltas"]


class SSEParser:
    """Server-sent events from body pieces: the ``data`` of each complete event.

    Multi-line data is joined with newlines; other fields (``event:``, ``id:``, ``retry:``)
    and comments carry nothing a chat completion uses.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, piece: bytes) -> list[bytes]:
        """The events that ``piece`` completes."""
        *lines, self._buffer = (self._buffer + piece).split(b"\n")
        events = []
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def close(self) -> list[bytes]:
        """The last event, when the body ended without its blank line."""
        rest = self._buffer.strip()
        if rest.startswith(b"data:"):
            value = rest[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        return [b"\n".join(self._data)] if self._data else []


def read_deltas(events: list[bytes]) -> tuple[list[MessageDelta], bool]:
    """The deltas of the chunks in ``events`` (one network read's), and whether ``[DONE]`` came.

    Chunks without a choice are skipped unless they report usage; what follows ``[DONE]`` is
    ignored.

    Raises:
        ModelResponseError: a chunk is not a JSON object.
        ModelError: the endpoint sent an error object mid-stream.
    """
    deltas: list[MessageDelta] = []
    building: _Building | None = None
    for data in events:
        if data == b"[DONE]":
            return _finish(deltas, building), True
        chunk = _chunk(data)
        choices = chunk.get("choices")
        usage = chunk.get("usage")
        if isinstance(choices, list) and choices:
            piece = choices[0].get("delta")
            if not isinstance(piece, dict):
                piece = {}
            finish = choices[0].get("finish_reason")
        elif usage:
            piece, finish = {}, None
        else:
            continue
        if building is None or not building.extends(piece):
            _finish(deltas, building)
            building = _Building(piece.get("role"))
        building.add(piece, finish, model_usage(usage) if usage else None)
    return _finish(deltas, building), False


class _Building:
    """The delta being merged from consecutive chunks of one read."""

    __slots__ = ("content", "ended", "finish_reason", "fragments", "refusal", "role", "usage")

    def __init__(self, role: str | None) -> None:
        self.role = role
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.fragments: list[ToolCallFragment] = []
        self.finish_reason: str | None = None
        self.usage: ModelUsage | None = None

    def extends(self, piece: dict[str, Any]) -> bool:
        """Whether ``piece`` can join this delta without reordering anything."""
        role = piece.get("role")
        if self.finish_reason or self.usage is not None:
            return False  # the end of a reply stays the last thing in its delta
        if role and role != self.role:
            return False
        return not (self.fragments and (piece.get("content") or piece.get("refusal")))

    def add(self, piece: dict[str, Any], finish: str | None, usage: ModelUsage | None) -> None:
        """Merge one chunk's delta (and the chunk's finish reason and usage) into this one."""
        if content := piece.get("content"):
            self.content.append(content)
        if refusal := piece.get("refusal"):
            self.refusal.append(refusal)
        for call in piece.get("tool_calls") or ():
            self._fragment(call)
        if finish:
            self.finish_reason = finish
        if usage is not None:
            self.usage = usage

    def _fragment(self, call: dict[str, Any]) -> None:
        index = call.get("index") or 0
        function = call.get("function") or {}
        call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments")
        last = self.fragments[-1] if self.fragments else None
        if last is not None and last.index == index and not (call_id or name):
            last.arguments = (last.arguments or "") + (arguments or "")  # continues that call
        else:
            self.fragments.append(ToolCallFragment(index, call_id, name, arguments))

    def delta(self) -> MessageDelta:
        return MessageDelta(
            role=self.role,
            content="".join(self.content) if self.content else None,
            tool_calls=self.fragments,
            refusal="".join(self.refusal) if self.refusal else None,
            finish_reason=self.finish_reason,
            usage=self.usage,
        )


def _finish(deltas: list[MessageDelta], building: _Building | None) -> list[MessageDelta]:
    if building is not None:
        deltas.append(building.delta())
    return deltas


def _chunk(data: bytes) -> dict[str, Any]:
    try:
        chunk = loads(data)
    except ValueError as exc:
        raise ModelResponseError(f"the endpoint sent a malformed response: {exc}") from exc
    if not isinstance(chunk, dict):
        raise ModelResponseError(
            f"the endpoint sent a malformed response: a stream chunk that is not an object: "
            f"{chunk!r}"
        )
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ModelError(f"the model endpoint failed mid-stream: {message}")
    return chunk
