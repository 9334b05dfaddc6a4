"""The server's in-process trace collection: each run's OpenTelemetry spans, for its timeline.

The server wires in the seam of :mod:`swarmlet.tracing.timeline`: while the app runs (its
lifespan), a :class:`~swarmlet.tracing.timeline.TimelineCollector` is added to the
``TracerProvider`` swarmlet traces into -- the global SDK provider when the application set
one (so a user's own exporters keep getting every span), else one the server makes for itself
and exports nowhere -- and each run is wrapped in a ``swarmlet.server run`` span, so all of the
run's spans share that span's trace id. ``GET /runs/{id}/timeline`` serves them.

Library users are unaffected: tracing stays off unless they turn it on; the server turns it on
only while it runs, and turns it off again on shutdown if it was the one that turned it on.
Without the OpenTelemetry SDK installed, runs are not traced and the endpoint says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import swarmlet.tracing
from swarmlet.events import Event

__all__ = ["RunTraces"]

SPAN_NAME = "swarmlet.server run"


class RunTraces:
    """Collects the spans of the server's runs and finds them again by run id."""

    def __init__(self, collector: Any, tracer: Any, *, owns_tracing: bool) -> None:
        self._collector = collector
        self._tracer = tracer
        self._owns_tracing = owns_tracing
        self._trace_ids: dict[str, int] = {}

    @classmethod
    def install(cls) -> RunTraces | None:
        """Start collecting spans (``None`` when the OpenTelemetry SDK is not installed)."""
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider

            from swarmlet.tracing.timeline import TimelineCollector
        except ImportError:
            return None
        provider = trace.get_tracer_provider()
        already_on = swarmlet.tracing.is_enabled()
        if not isinstance(provider, TracerProvider):
            # No SDK provider configured by the application: keep spans in this process only.
            provider = TracerProvider()
        collector = TimelineCollector(max_traces=2000)
        provider.add_span_processor(collector)
        if not already_on:
            swarmlet.tracing.enable(provider)
        tracer = provider.get_tracer("swarmlet.server", swarmlet.__version__)
        return cls(collector, tracer, owns_tracing=not already_on)

    def close(self) -> None:
        """Turn tracing off again if this server turned it on (the collector stays bounded)."""
        if self._owns_tracing:
            swarmlet.tracing.disable()

    def wrap(self, events: AsyncGenerator[Event, None]) -> tuple[AsyncGenerator[Event, None], int]:
        """``events`` run inside a new server span; also that span's trace id."""
        span = self._tracer.start_span(SPAN_NAME)
        return _inside(span, events), span.get_span_context().trace_id

    def bind(self, run_id: str, trace_id: int) -> None:
        """Remember which trace holds the spans of ``run_id``."""
        self._trace_ids[run_id] = trace_id

    def run_ids(self) -> list[str]:
        """The runs whose trace ids are kept."""
        return list(self._trace_ids)

    def forget(self, run_ids: set[str]) -> None:
        """Drop the trace ids of runs the server no longer keeps."""
        for run_id in run_ids:
            self._trace_ids.pop(run_id, None)

    def records(self, run_id: str) -> tuple[str, list[dict[str, Any]]] | None:
        """``(trace id as hex, the run's finished spans)``, or ``None`` for an unknown run."""
        trace_id = self._trace_ids.get(run_id)
        if trace_id is None:
            return None
        return f"{trace_id:032x}", self._collector.records(trace_id)


async def _inside(span: Any, events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
    """Pull each event with ``span`` current (so the run's root span nests under it)."""
    from opentelemetry import context, trace

    current = trace.set_span_in_context(span)
    try:
        async with contextlib.aclosing(events):
            while True:
                token = context.attach(current)
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                finally:
                    context.detach(token)
                yield event
    except BaseException as exc:
        span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        span.end()
