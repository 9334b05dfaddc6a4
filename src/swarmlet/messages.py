"""Conversion between swarmlet's history messages and what the Chat Completions protocol allows.

History messages are plain dicts in Swarm's shape: assistant messages carry ``sender``, tool
messages carry ``tool_name``. Strict OpenAI-compatible servers (vLLM, some proxies) answer 400 to
keys they do not know or to explicit nulls, so :func:`to_api_messages` sends only the keys the
protocol defines for each role, and only when they have a value.
"""

from __future__ import annotations

from typing import Any

from swarmlet.models.base import AssistantMessage, ToolCall

__all__ = [
    "as_messages",
    "assistant_to_dict",
    "to_api_message",
    "to_api_messages",
    "tool_call_to_dict",
]

# Keys each role may carry on the wire. Anything else (sender, tool_name, refusal, audio,
# function_call, annotations...) is dropped; None values are dropped as well.
_ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "tool_calls"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}
_TOOL_CALL_KEYS = ("id", "type", "function")


def as_messages(messages: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A run's input: a plain string is one user message; a list of dicts is taken as is."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)


def to_api_message(message: dict[str, Any]) -> dict[str, Any]:
    """Return ``message`` with only the keys its role may send, and no null values."""
    allowed = _ALLOWED_KEYS.get(message.get("role", ""))
    if allowed is None:  # an unknown role: pass it through minus Swarm's own keys
        return {
            k: v for k, v in message.items() if v is not None and k not in ("sender", "tool_name")
        }
    clean = {k: v for k, v in message.items() if k in allowed and v is not None}
    if clean.get("tool_calls") == []:
        del clean["tool_calls"]
    if "tool_calls" in clean:
        clean["tool_calls"] = [_clean_tool_call(call) for call in clean["tool_calls"]]
    elif clean["role"] == "assistant" and "content" not in clean:
        # An assistant message needs content or tool_calls; some servers reject neither.
        clean["content"] = ""
    return clean


def _clean_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    clean = {k: call[k] for k in _TOOL_CALL_KEYS if call.get(k) is not None}
    clean.setdefault("type", "function")
    function = clean.get("function") or {}
    clean["function"] = {
        "name": function.get("name", ""),
        "arguments": function.get("arguments") or "{}",
    }
    return clean


def to_api_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Clean every message of a history for sending (see :func:`to_api_message`)."""
    return [to_api_message(message) for message in messages]


def tool_call_to_dict(call: ToolCall) -> dict[str, Any]:
    """A tool call in the Chat Completions dict form Swarm stores in history."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def assistant_to_dict(message: AssistantMessage, sender: str) -> dict[str, Any]:
    """The history dict for an assistant reply, in Swarm's shape.

    The keys of the SDK's ``ChatCompletionMessage`` as Swarm stores it (``refusal``,
    ``annotations``, ``audio`` and ``function_call`` included, ``None`` when unused) plus
    ``sender``; :func:`to_api_message` drops the ones the protocol does not take back.
    """
    return {
        "content": message.content,
        "refusal": message.refusal,
        "role": "assistant",
        "annotations": None,
        "audio": None,
        "function_call": None,
        "tool_calls": [tool_call_to_dict(c) for c in message.tool_calls] or None,
        "sender": sender,
    }
