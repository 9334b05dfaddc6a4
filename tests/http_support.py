"""Shared pieces of the HTTP provider tests (SDK path and FastHTTPModel)."""

from __future__ import annotations

import json

from swarmlet import Response
from swarmlet.models import ModelRequest
from swarmlet.testing.server import ScriptedReply, ScriptedServer

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


def lookup_order(order_id: str, note: str = "") -> dict[str, str]:
    """Find an order."""
    return {"order_id": order_id, "status": "shipped"}


def assert_two_lookups_answered(response: Response, server: ScriptedServer) -> None:
    """A full run on :func:`two_calls` then "Both shipped.": results, answer, clean follow-up."""
    assert [m["role"] for m in response.messages] == ["assistant", "tool", "tool", "assistant"]
    assert json.loads(response.messages[2]["content"]) == {"order_id": "B2", "status": "shipped"}
    assert response.messages[-1]["content"] == "Both shipped."
    followup = server.requests[1]["messages"]
    assert [m["role"] for m in followup] == ["system", "user", "assistant", "tool", "tool"]
    assert "sender" not in followup[2] and "tool_name" not in followup[3]
