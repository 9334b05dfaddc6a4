"""Shared pieces of the tracing tests: the three-agent conversation and span lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from swarmlet import Agent

if TYPE_CHECKING:  # the no-OpenTelemetry test imports this module too
    from opentelemetry.sdk.trace import ReadableSpan

USER = [{"role": "user", "content": "Where are orders A1 and B2?"}]


def lookup_order(order_id: str) -> dict[str, str]:
    """Find an order."""
    return {"order_id": order_id, "status": "shipped"}


def agents() -> tuple[Agent, Agent]:
    """Triage hands off to Sales, which can look orders up."""
    sales = Agent(name="Sales", instructions="Answer about orders.", functions=[lookup_order])

    def transfer_to_sales() -> Agent:
        """Hand the conversation to sales."""
        return sales

    triage = Agent(name="Triage", instructions="Route the user.", functions=[transfer_to_sales])
    return triage, sales


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    """The spans called ``name``, in the order they ended."""
    return [span for span in spans if span.name == name]


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    """The only span called ``name``."""
    found = named(spans, name)
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


def parent_of(spans: Sequence[ReadableSpan], span: ReadableSpan) -> ReadableSpan | None:
    """The span's parent among ``spans`` (None for a root)."""
    if span.parent is None:
        return None
    by_id = {s.context.span_id: s for s in spans}
    return by_id[span.parent.span_id]


def tree(spans: Sequence[ReadableSpan]) -> list[tuple[str, str | None]]:
    """(name, parent name) of every span, in start order: the shape of a trace."""
    ordered = sorted(spans, key=lambda s: s.start_time or 0)
    return [(s.name, p.name if (p := parent_of(spans, s)) else None) for s in ordered]


def every_value(spans: Sequence[ReadableSpan]) -> list[Any]:
    """Every attribute value, event attribute value, link attribute value and status text."""
    values: list[Any] = []
    for span in spans:
        values += [span.name, span.status.description]
        values += list((span.attributes or {}).values())
        for event in span.events:
            values += [event.name, *(event.attributes or {}).values()]
        for link in span.links:
            values += list((link.attributes or {}).values())
    return values
