"""A scripted model that plays the airline example convincingly, for UI tests and screenshots.

Triage hands lost-bag questions to the lost-baggage agent, which starts a baggage search and
answers. Every decision is read from the request, so any number of conversations can run.
Run ``python -m tests.agent_server.airline_script PORT DB`` to serve it for a manual look.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

from swarmlet.models.base import MessageDelta, ModelRequest
from swarmlet.testing import Reply, ScriptedModel, reply, tool_call

SEARCH_ANSWER = (
    "Good news: your bag ARN-558201 was found at Lisbon (LIS) baggage services. It will be "
    "delivered to the address on booking QX7R2M within 48 hours."
)


def airline_responder(request: ModelRequest) -> Reply:
    """The next reply, from the agent asked and the conversation so far."""
    last = request.messages[-1]
    if "explode" in str(last.get("content")):
        raise ConnectionError("the model endpoint at http://127.0.0.1:9/v1 refused the connection")
    tools = {t["function"]["name"] for t in request.tools}
    if last["role"] == "user":
        if "transfer_to_lost_baggage" in tools and "bag" in str(last.get("content")).lower():
            return reply(None, tool_call("transfer_to_lost_baggage"), delay=0.3)
        return reply("How can I help with your trip today?", delay=0.2)
    if last["role"] == "tool" and "initiate_baggage_search" in tools:
        if _called(request, "initiate_baggage_search"):
            return reply(SEARCH_ANSWER, delay=0.3)
        return reply(
            "Let me start a search for your bag.", tool_call("initiate_baggage_search"), delay=0.3
        )
    return reply("Done.", delay=0.1)


def _called(request: ModelRequest, name: str) -> bool:
    return any(
        call["function"]["name"] == name
        for message in request.messages
        if message["role"] == "assistant"
        for call in message.get("tool_calls") or []
    )


class PacedModel(ScriptedModel):
    """A ScriptedModel whose streamed deltas arrive ``pace`` seconds apart, like a real model's."""

    def __init__(self, *args: Any, pace: float = 0.03, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pace = pace

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        async for delta in super().stream(request):
            yield delta
            await asyncio.sleep(self.pace)


def airline_model(pace: float = 0.03) -> ScriptedModel:
    """A model answering with :func:`airline_responder`, streamed in small, paced pieces."""
    return PacedModel(responder=airline_responder, chunk_size=6, pace=pace)


if __name__ == "__main__":  # a manual look at the UI: python -m tests.agent_server.airline_script
    import uvicorn

    from swarmlet import Swarm
    from swarmlet.examples import load
    from swarmlet.server import ServerSettings, TokenAuth, create_app

    example = load("airline")
    settings = ServerSettings(
        auth=TokenAuth(frozenset({"manual-token-0123456789"})),
        context_variables=example.context_variables,
        db_url=f"sqlite:///{sys.argv[2]}",
    )
    app = create_app(example.agent, swarm=Swarm(client=airline_model()), settings=settings)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]))
