"""Message contents, tool arguments and results as span attributes (only when opted in).

They may hold personal data, so they are recorded only with ``capture_content=True`` (or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``). Messages use the conventions'
JSON shape: ``{"role", "parts": [{"type": "text" | "tool_call", ...}], "finish_reason"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["output_messages", "redact"]


def output_messages(message: dict[str, Any], finish_reason: str | None) -> str:
    """The ``gen_ai.output.messages`` value for one assistant history message."""
    parts: list[dict[str, Any]] = []
    if message.get("content"):
        parts.append({"type": "text", "content": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": _maybe_json(function.get("arguments")),
            }
        )
    entry: dict[str, Any] = {"role": "assistant", "parts": parts}
    if finish_reason is not None:
        entry["finish_reason"] = finish_reason
    return json.dumps([entry], ensure_ascii=False)


def _maybe_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:  # the model sent malformed arguments: record them as they came
        return text


# Key-shaped text, whoever's key it is: OpenAI-style "sk-..." keys and bearer tokens. An error
# body may echo a key the provider does not hold as an attribute (a proxy's, a header's).
_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with the known secrets and anything shaped like an API key replaced."""
    for secret in secrets:
        if len(secret) >= 8:  # a short "key" would mangle ordinary words in the message
            text = text.replace(secret, "[REDACTED]")
    return _KEY_SHAPED.sub("[REDACTED]", text)
