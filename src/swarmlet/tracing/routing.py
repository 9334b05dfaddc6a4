"""A stand-in current span for the tool phase: it is whichever tool call runs in this context.

The run's tool calls run in tasks (one per call) that are all created at one moment, so they
all inherit the same OpenTelemetry context; the observer cannot give each its own current span.
But each task knows which call it runs (:func:`swarmlet.running.current_call`). So during the
tool phase the observer makes a :class:`CallRoutedSpan` current: whenever code asks it for its
span context (a tracer picking a parent, a propagator writing ``traceparent``) or annotates it,
it looks up the call running in the asking context and answers for that call's
``execute_tool`` span, or for a deeper span when that call is an agent-tool running a sub-run.
Outside any call it stands for the agent's span.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from opentelemetry.trace import Span, SpanContext, Status, StatusCode
from opentelemetry.util import types

from swarmlet.running import current_call

__all__ = ["CallRoutedSpan"]


class CallRoutedSpan(Span):
    """Forwards everything but ``end`` to the span of the tool call running in the caller.

    Args:
        span_for_call: the open span for a call id (``None`` if there is none).
        fallback: the span when no known call is running in the caller's context.
    """

    def __init__(self, span_for_call: Callable[[str], Span | None], fallback: Span) -> None:
        self._span_for_call = span_for_call
        self._fallback = fallback

    def target(self) -> Span:
        """The span that the code asking right now belongs to."""
        running = current_call()
        if running is None:
            return self._fallback
        return self._span_for_call(running.call.id) or self._fallback

    def get_span_context(self) -> SpanContext:
        return self.target().get_span_context()

    def is_recording(self) -> bool:
        return self.target().is_recording()

    def end(self, end_time: int | None = None) -> None:
        """Ignored: swarmlet ends its spans when the events say so, never user code."""

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        self.target().set_attributes(attributes)

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        self.target().set_attribute(key, value)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        self.target().add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        self.target().add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self.target().update_name(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self.target().set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self.target().record_exception(exception, attributes, timestamp, escaped)

    def __repr__(self) -> str:
        return f"CallRoutedSpan(now={self.target()!r})"
