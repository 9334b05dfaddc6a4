"""Helpers for the agent-server tests: a real uvicorn server on 127.0.0.1, SSE parsing, agents."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import uvicorn
from fastapi import FastAPI

from swarmlet import Agent

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class SSE:
    """One server-sent event as received."""

    event: str
    id: str | None
    data: Any


def parse_sse(lines: Iterator[str]) -> Iterator[SSE]:
    """Server-sent events from a response's text lines (comments / pings skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                data = fields["data"]
                yield SSE(fields.get("event", "message"), fields.get("id"), _decode(data))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[name] = fields[name] + "\n" + value if name in fields else value


def _decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def stream_events(client: httpx.Client, method: str, url: str, **kwargs: Any) -> list[SSE]:
    """Every event of one SSE response (the response must be 200)."""
    with client.stream(method, url, **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(parse_sse(response.iter_lines()))


def two_agent_swarm() -> tuple[Agent, Agent]:
    """A triage agent handing off to a sales agent that has a ``lookup`` tool."""

    def lookup(order_id: str) -> dict[str, str]:
        """Find an order."""
        if order_id == "bad":
            raise ValueError("no such order")
        return {"order_id": order_id, "status": "shipped"}

    sales = Agent(name="Sales", instructions="Sell.", functions=[lookup])

    def transfer_to_sales() -> Agent:
        """Hand over to sales."""
        return sales

    triage = Agent(name="Triage", instructions="Route.", functions=[transfer_to_sales])
    return triage, sales


def order_swarm() -> tuple[Agent, Agent]:
    """Triage handing off to an orders agent with ``lookup_order``: the conversation
    :func:`swarmlet.testing.server.conversation_responder` plays (handoff, lookup, answer)."""

    def lookup_order(order_id: str) -> dict[str, str]:
        """Look an order up."""
        return {"order_id": order_id, "status": "shipped"}

    orders = Agent(name="Orders", functions=[lookup_order])

    def transfer_to_orders() -> Agent:
        """Hand order questions over."""
        return orders

    return Agent(name="Triage", functions=[transfer_to_orders]), orders
