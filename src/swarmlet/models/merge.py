"""Reassembling a streamed reply: any split of a reply into deltas merges to the same message."""

from __future__ import annotations

from dataclasses import dataclass, field

from swarmlet.models.base import AssistantMessage, MessageDelta, ToolCall
from swarmlet.usage import ModelUsage

__all__ = ["DeltaAccumulator"]


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class DeltaAccumulator:
    """Collects :class:`MessageDelta` values into one :class:`AssistantMessage`.

    Tool-call fragments are merged by their ``index`` (every fragment of a chunk, not only the
    first), ids and names are taken from the first fragment that carries them, and argument
    pieces are concatenated in arrival order.
    """

    def __init__(self) -> None:
        self._content: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._finish_reason: str | None = None
        self._usage: ModelUsage | None = None

    def add(self, delta: MessageDelta) -> None:
        """Merge one delta into the message being built."""
        if delta.content:
            self._content.append(delta.content)
        if delta.refusal:
            self._refusal.append(delta.refusal)
        for fragment in delta.tool_calls:
            partial = self._calls.setdefault(fragment.index, _PartialCall())
            if fragment.id and not partial.id:
                partial.id = fragment.id
            if fragment.name and not partial.name:
                partial.name = fragment.name
            if fragment.arguments:
                partial.arguments.append(fragment.arguments)
        if delta.finish_reason:
            self._finish_reason = delta.finish_reason
        if delta.usage is not None:  # the last report wins (some servers send one per chunk)
            self._usage = delta.usage

    def message(self) -> AssistantMessage:
        """The merged message; tool calls ordered by index."""
        calls = [
            ToolCall(id=p.id, name=p.name, arguments="".join(p.arguments))
            for _, p in sorted(self._calls.items())
        ]
        return AssistantMessage(
            content="".join(self._content) if self._content else None,
            tool_calls=calls,
            refusal="".join(self._refusal) if self._refusal else None,
            finish_reason=self._finish_reason,
            usage=self._usage,
        )
