"""Shared pieces of the HTTP provider tests (SDK path and FastHTTPModel)."""

from __future__ import annotations

from swarmlet.models import ModelRequest
from swarmlet.testing.server import ScriptedReply

USER = [{"role": "user", "content": "Where is my order?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
]


def request(**kwargs: object) -> ModelRequest:
    """A request with a system prompt and the user's question."""
    return ModelRequest(
        model="scripted", messages=[{"role": "system", "content": "s"}, *USER], **kwargs
    )  # type: ignore[arg-type]


def two_calls(**kwargs: object) -> ScriptedReply:
    """A reply with two lookup_order calls whose arguments are long enough to be split."""
    return ScriptedReply(
        tool_calls=[
            {"name": "lookup_order", "arguments": {"order_id": "A1", "note": "x" * 40}},
            {"name": "lookup_order", "arguments": {"order_id": "B2", "note": "y" * 40}},
        ],
        **kwargs,  # type: ignore[arg-type]
    )
