"""Trace a run with OpenTelemetry and print its spans as a tree; offline, no key needed.

Run it with ``pip install 'swarmlet[otlp]'`` then ``python examples/tracing.py``. The triage
agent hands off to sales, which looks two orders up in parallel and answers: three model calls
on swarmlet's ScriptedModel. The spans go to a ``TimelineCollector`` (the records the web UI's
timeline shows); to send them to Jaeger, Tempo or any OTLP collector instead, run your program
with ``SWARMLET_TRACING=otel OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318``.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider

import swarmlet.tracing
from swarmlet import Agent, Swarm
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.tracing.timeline import TimelineCollector


def lookup_order(order_id: str) -> dict[str, str]:
    """Find an order by its id."""
    return {"order_id": order_id, "status": "shipped"}


sales = Agent(name="Sales", instructions="Answer questions about orders.", functions=[lookup_order])


def transfer_to_sales() -> Agent:
    """Hand order questions to sales."""
    return sales


triage = Agent(name="Triage", instructions="Route the user.", functions=[transfer_to_sales])

script = ScriptedModel(
    [
        tool_call("transfer_to_sales"),
        [
            tool_call("lookup_order", {"order_id": "A1"}),
            tool_call("lookup_order", {"order_id": "B2"}),
        ],
        "Both orders have shipped.",
    ]
)


def print_tree(records: list[dict[str, Any]]) -> None:
    """One line per span, indented under its parent, with its duration."""
    depth: dict[str | None, int] = {}
    for record in records:
        level = depth.get(record["parent_id"], -1) + 1
        depth[record["span_id"]] = level
        note = " ".join(f"[{event['name']}]" for event in record["events"])
        print(f"{'  ' * level}{record['name']}  {record['duration'] * 1000:.1f} ms {note}".rstrip())


def main() -> None:
    """Run the conversation with tracing on and print the trace."""
    provider = TracerProvider()
    collector = TimelineCollector()
    provider.add_span_processor(collector)
    swarmlet.tracing.enable(provider)  # or: SWARMLET_TRACING=otel, or enable() for the global one
    with provider.get_tracer("example").start_as_current_span("request") as request:
        response = Swarm(client=script).run(triage, [{"role": "user", "content": "A1 and B2?"}])
    print(response.messages[-1]["content"])
    print_tree(collector.records(request.get_span_context().trace_id))


if __name__ == "__main__":
    main()
