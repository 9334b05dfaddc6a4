"""The seam between tracing and the web UI's run timeline: finished spans as plain records.

A :class:`TimelineCollector` is an OpenTelemetry span processor: add it to the
``TracerProvider`` that swarmlet traces into (``swarmlet.tracing.enable(provider)``), and every
span that ends becomes a :func:`timeline_record` — a small JSON-ready dict — kept per trace
and, when ``on_record`` is given, handed to it as it happens (to push over SSE, say). A server
starts its own span around a run, so the run's spans share that span's trace id, and asks
:meth:`TimelineCollector.records` for them. Needs the OpenTelemetry SDK (``swarmlet[otlp]``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from swarmlet.tracing import semconv as sc

__all__ = ["TimelineCollector", "timeline_record"]

_KINDS = {
    sc.INVOKE_WORKFLOW: "run",
    sc.INVOKE_AGENT: "agent",
    sc.CHAT: "model",
    sc.EXECUTE_TOOL: "tool",
}
_SHOWN = (
    sc.AGENT_NAME,
    sc.REQUEST_MODEL,
    sc.PROVIDER_NAME,
    sc.TOOL_NAME,
    sc.TOOL_CALL_ID,
    sc.RESPONSE_FINISH_REASONS,
    sc.USAGE_INPUT_TOKENS,
    sc.USAGE_OUTPUT_TOKENS,
    sc.ERROR_TYPE,
)


def timeline_record(span: ReadableSpan) -> dict[str, Any]:
    """One finished span as a timeline row: ids, what it is, when, how it ended."""
    attributes = dict(span.attributes or {})
    operation = attributes.get(sc.OPERATION_NAME)
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    return {
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "kind": _KINDS.get(str(operation), "other"),
        "name": span.name,
        "start": start / 1e9,
        "duration": (end - start) / 1e9,
        "error": span.status.status_code is StatusCode.ERROR,
        "attributes": {k: _plain(attributes[k]) for k in _SHOWN if k in attributes},
        "events": [
            {"name": e.name, "time": e.timestamp / 1e9, "attributes": dict(e.attributes or {})}
            for e in span.events
        ],
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class TimelineCollector(SpanProcessor):
    """Keeps the timeline records of the last ``max_traces`` traces.

    Args:
        on_record: called with each record as its span ends (on the thread that ended it).
        max_traces: how many traces to keep; the oldest is dropped first.
    """

    def __init__(
        self,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        *,
        max_traces: int = 1000,
    ) -> None:
        self._on_record = on_record
        self._max_traces = max_traces
        self._traces: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def records(self, trace_id: int) -> list[dict[str, Any]]:
        """The records of one trace, ordered by start time."""
        with self._lock:
            found = list(self._traces.get(trace_id, ()))
        return sorted(found, key=lambda record: record["start"])

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do until a span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        """Record a finished span (and pass it to ``on_record``)."""
        record = timeline_record(span)
        with self._lock:
            self._traces.setdefault(span.context.trace_id, []).append(record)
            self._traces.move_to_end(span.context.trace_id)
            while len(self._traces) > self._max_traces:
                self._traces.popitem(last=False)
        if self._on_record is not None:
            self._on_record(record)

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Records are kept as spans end: nothing is ever pending."""
        return True
