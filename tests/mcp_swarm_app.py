"""A two-agent swarm for the ``swarmlet mcp`` tests (the benchmark's conversation).

Served with ``swarmlet mcp tests/mcp_swarm_app.py:triage`` against a ScriptedServer running
``conversation_responder``: triage hands off to Orders, which calls lookup_order, then answers.
"""

from __future__ import annotations

from swarmlet import Agent


def lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up."""
    return {"order_id": order_id, "status": "shipped"}


orders = Agent(name="Orders", instructions="Answer order questions.", functions=[lookup_order])


def transfer_to_orders() -> Agent:
    """Hand order questions to the Orders agent."""
    return orders


triage = Agent(name="Triage", instructions="Route the user.", functions=[transfer_to_orders])
