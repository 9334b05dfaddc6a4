"""An airline customer-service swarm: triage, flight modification (cancel / change), lost bags.

The customer's profile and booking live in the context variables (``customer`` and ``flight``);
every agent's instructions are a callable that renders them, so the prompt always shows the
current state of the booking. The policies are routines in :mod:`.policies`, the back-office
actions are tools in :mod:`.tools`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent
from swarmlet.examples import Example
from swarmlet.examples.airline import policies
from swarmlet.examples.airline.tools import (
    case_resolved,
    change_flight,
    escalate_to_agent,
    initiate_baggage_search,
    initiate_flight_credits,
    initiate_refund,
    valid_to_change_flight,
)

__all__ = [
    "build",
    "default_context",
    "flight_cancel",
    "flight_change",
    "flight_modification",
    "lost_baggage",
    "transfer_to_flight_cancel",
    "transfer_to_flight_change",
    "transfer_to_flight_modification",
    "transfer_to_lost_baggage",
    "transfer_to_triage",
    "triage_agent",
]

MODEL = "gpt-4o-mini"
EVALS = Path(__file__).parent / "evals"


def default_context() -> dict[str, Any]:
    """A fresh copy of the demo customer and booking."""
    return {
        "customer": {
            "name": "Mara Lindqvist",
            "customer_id": "NS-20417",
            "email": "mara.lindqvist@example.com",
            "phone": "+46 70 555 0142",
            "address": "Storgatan 12, 753 20 Uppsala, Sweden",
            "tier": "Silver",
        },
        "flight": {
            "confirmation": "QX7R2M",
            "flight_number": "NS 482",
            "from": "Stockholm (ARN)",
            "to": "Lisbon (LIS)",
            "departure": "2025-09-18 07:55",
            "hours_until_departure": 46,
            "fare": "Economy Flex",
            "fare_paid_eur": 238,
            "seat": "14C",
            "baggage_tag": "ARN-558201",
            "status": "scheduled",
        },
    }


def _instructions(routine: str) -> Callable[[dict[str, Any]], str]:
    """Instructions that append the live customer and flight details to ``routine``."""

    def render(context_variables: dict[str, Any]) -> str:
        customer = json.dumps(context_variables.get("customer") or {}, indent=2)
        flight = json.dumps(context_variables.get("flight") or {}, indent=2)
        return (
            f"{policies.BASE_PROMPT}\n{routine}\n"
            f"Customer details:\n{customer}\n\nFlight details:\n{flight}\n"
        )

    return render


triage_agent = Agent(
    name="Triage Agent",
    model=MODEL,
    instructions=_instructions(policies.TRIAGE_ROUTING),
)
flight_modification = Agent(
    name="Flight Modification Agent",
    model=MODEL,
    instructions=_instructions(policies.MODIFICATION_ROUTING),
)
flight_cancel = Agent(
    name="Flight Cancel Agent",
    model=MODEL,
    instructions=_instructions(policies.FLIGHT_CANCELLATION_POLICY),
)
flight_change = Agent(
    name="Flight Change Agent",
    model=MODEL,
    instructions=_instructions(policies.FLIGHT_CHANGE_POLICY),
)
lost_baggage = Agent(
    name="Lost Baggage Agent",
    model=MODEL,
    instructions=_instructions(policies.LOST_BAGGAGE_POLICY),
)


def transfer_to_flight_modification() -> Agent:
    """Send the customer to the team that cancels or changes flights."""
    return flight_modification


def transfer_to_flight_cancel() -> Agent:
    """Send the customer to the agent that cancels flights."""
    return flight_cancel


def transfer_to_flight_change() -> Agent:
    """Send the customer to the agent that moves flights to another date."""
    return flight_change


def transfer_to_lost_baggage() -> Agent:
    """Send the customer to the agent that traces missing bags."""
    return lost_baggage


def transfer_to_triage() -> Agent:
    """Send the customer back to triage when their request belongs to another team."""
    return triage_agent


# Wired after creation because the graph has cycles (every specialist can go back to triage).
triage_agent.functions = [
    transfer_to_flight_modification,
    transfer_to_lost_baggage,
    escalate_to_agent,
]
flight_modification.functions = [
    transfer_to_flight_cancel,
    transfer_to_flight_change,
    transfer_to_triage,
]
flight_cancel.functions = [
    escalate_to_agent,
    initiate_refund,
    initiate_flight_credits,
    transfer_to_triage,
    case_resolved,
]
flight_change.functions = [
    escalate_to_agent,
    valid_to_change_flight,
    change_flight,
    transfer_to_triage,
    case_resolved,
]
lost_baggage.functions = [
    escalate_to_agent,
    initiate_baggage_search,
    transfer_to_triage,
    case_resolved,
]


def build(data_dir: Path | None = None) -> Example:
    """The airline example; it keeps no data, so ``data_dir`` is ignored."""
    return Example(
        name="airline",
        description="Airline customer service: triage, cancel or change a flight, lost bags.",
        agent=triage_agent,
        context_variables=default_context(),
        eval_cases={
            "triage": EVALS / "triage_cases.json",
            "flight_modification": EVALS / "flight_modification_cases.json",
        },
    )
