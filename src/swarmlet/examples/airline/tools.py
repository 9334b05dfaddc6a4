"""Northstar Air's back-office actions, as tools.

Every tool works on the context variables ``customer`` and ``flight`` and records what it did
there (via :class:`~swarmlet.Result`), so the state of a case is visible after a run and the
same request twice gives a clear "already done" answer instead of a second refund.
"""

from __future__ import annotations

from typing import Any

from swarmlet.agent import Result

__all__ = [
    "CHANGE_CUTOFF_HOURS",
    "CREDIT_BONUS",
    "case_resolved",
    "change_flight",
    "escalate_to_agent",
    "initiate_baggage_search",
    "initiate_flight_credits",
    "initiate_refund",
    "valid_to_change_flight",
]

CHANGE_CUTOFF_HOURS = 24
"""Flights departing sooner than this cannot be changed."""

CREDIT_BONUS = 1.10
"""Flight credits are worth this multiple of the fare paid."""


def _flight(context_variables: dict[str, Any]) -> dict[str, Any]:
    flight: dict[str, Any] = context_variables.get("flight") or {}
    return flight


def _closed_reason(flight: dict[str, Any]) -> str | None:
    status = flight.get("status", "scheduled")
    return None if status == "scheduled" else f"the booking is already {status}"


def escalate_to_agent(reason: str | None = None) -> Result:
    """Hand the case to a human agent.

    Args:
        reason: one line saying why a human is needed.
    """
    text = f"Escalated to a human agent: {reason}." if reason else "Escalated to a human agent."
    return Result(value=text, context_variables={"escalation": reason or "no reason given"})


def valid_to_change_flight(context_variables: dict[str, Any]) -> str:
    """Check whether the customer's flight may still be changed."""
    flight = _flight(context_variables)
    closed = _closed_reason(flight)
    if closed:
        return f"The flight cannot be changed: {closed}."
    hours = flight.get("hours_until_departure", 0)
    if hours < CHANGE_CUTOFF_HOURS:
        return (
            f"The flight cannot be changed: it departs in {hours} hours and changes close "
            f"{CHANGE_CUTOFF_HOURS} hours before departure."
        )
    return "The flight can be changed."


def change_flight(context_variables: dict[str, Any]) -> Result | str:
    """Change the customer's flight to the new date they confirmed."""
    flight = _flight(context_variables)
    verdict = valid_to_change_flight(context_variables)
    if flight.get("status") == "changed":
        return f"Nothing to do: flight {flight.get('confirmation')} was already changed."
    if not verdict.endswith("can be changed."):
        return verdict.replace("The flight cannot be changed", "Change refused")
    updated = {**flight, "status": "changed"}
    return Result(
        value=f"Flight {flight.get('confirmation')} changed; a new e-ticket has been emailed.",
        context_variables={"flight": updated},
    )


def initiate_refund(context_variables: dict[str, Any]) -> Result | str:
    """Cancel the flight and refund the fare to the original payment method."""
    flight = _flight(context_variables)
    closed = _closed_reason(flight)
    if closed:
        return f"No refund started: {closed}."
    amount = flight.get("fare_paid_eur", 0)
    return Result(
        value=f"Flight {flight.get('confirmation')} cancelled; refund of EUR {amount} started.",
        context_variables={"flight": {**flight, "status": "cancelled"}, "refund_eur": amount},
    )


def initiate_flight_credits(context_variables: dict[str, Any]) -> Result | str:
    """Cancel the flight and give the customer flight credits instead of a refund."""
    flight = _flight(context_variables)
    closed = _closed_reason(flight)
    if closed:
        return f"No credits issued: {closed}."
    credits = round(flight.get("fare_paid_eur", 0) * CREDIT_BONUS, 2)
    return Result(
        value=f"Flight {flight.get('confirmation')} cancelled; EUR {credits} in credits issued.",
        context_variables={"flight": {**flight, "status": "cancelled"}, "credits_eur": credits},
    )


def initiate_baggage_search(context_variables: dict[str, Any]) -> Result:
    """Start a search for the customer's checked bag."""
    flight = _flight(context_variables)
    tag = flight.get("baggage_tag", "unknown")
    # Always "found" keeps the demo deterministic; a real system would query a bag tracer.
    found = f"Bag {tag} was found at {flight.get('to', 'the arrival airport')} baggage services."
    return Result(value=found, context_variables={"baggage_search": {"tag": tag, "found": True}})


def case_resolved() -> Result:
    """Close the case once the customer has nothing else to ask."""
    return Result(value="Case resolved.", context_variables={"case_status": "resolved"})
