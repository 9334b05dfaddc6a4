"""Message contents, tool arguments and results as span attributes (only when opted in).

They may hold personal data, so they are recorded only with ``capture_content=True`` (or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``). Messages use the conventions'
JSON shape: ``{"role", "parts": [{"type": "text" | "tool_call" | "tool_call_response", ...}]}``
(plus ``finish_reason`` on output messages).
"""

from __future__ import annotations

import json
from typing import Any

from swarmlet.models.base import AssistantMessage
from swarmlet.redaction import redact
from swarmlet.tracing import semconv as sc

__all__ = ["input_messages", "output_messages", "redact"]


def input_messages(messages: list[dict[str, Any]]) -> dict[str, str]:
    """``gen_ai.system_instructions`` and ``gen_ai.input.messages`` for a request's messages."""
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    others = [_message(m) for m in messages if m.get("role") not in ("system", "developer")]
    found = {sc.INPUT_MESSAGES: json.dumps(others, ensure_ascii=False)}
    if system:
        parts = [{"type": "text", "content": _text(m.get("content"))} for m in system]
        found[sc.SYSTEM_INSTRUCTIONS] = json.dumps(parts, ensure_ascii=False)
    return found


def output_messages(message: AssistantMessage) -> str:
    """The ``gen_ai.output.messages`` value for a model's reply."""
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"type": "text", "content": message.content})
    for call in message.tool_calls:
        parts.append(_tool_call(call.id, call.name, call.arguments))
    entry: dict[str, Any] = {"role": "assistant", "parts": parts}
    if message.finish_reason is not None:
        entry["finish_reason"] = message.finish_reason
    return json.dumps([entry], ensure_ascii=False)


def _message(message: dict[str, Any]) -> dict[str, Any]:
    """One Chat Completions message in the conventions' shape."""
    role = message.get("role")
    if role == "tool":
        part = {
            "type": "tool_call_response",
            "id": message.get("tool_call_id"),
            "response": _text(message.get("content")),
        }
        return {"role": "tool", "parts": [part]}
    parts: list[dict[str, Any]] = []
    if message.get("content"):
        parts.append({"type": "text", "content": _text(message["content"])})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        parts.append(_tool_call(call.get("id"), function.get("name"), function.get("arguments")))
    return {"role": role, "parts": parts}


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": _maybe_json(arguments)}


def _text(content: Any) -> str:
    """Message content as text (content-part lists are joined)."""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _maybe_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:  # the model sent malformed arguments: record them as they came
        return text
