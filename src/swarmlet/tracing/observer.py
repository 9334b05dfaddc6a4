"""The tracing observer: passes a run's events through and turns them into spans.

Tracing adds no call site to the run loop. It wraps the loop's event generator, and the run's
code (model calls, tools) runs while the wrapper awaits the next event. So before each await the
wrapper makes the innermost open span current (``opentelemetry.context.attach``) and restores
the caller's context right after (``detach``), in the same task, before the event is yielded:

* spans made by that code, such as an instrumented HTTP client's or a nested
  ``client.run_async`` inside a tool, nest under the span they belong to;
* the consumer of the stream never sees swarmlet's spans as current between events.

Tool tasks copy the context when they are created, so with several parallel calls in one turn
their code sees the agent's span (they are created together); one call, or calls run one by
one, see their own ``execute_tool`` span.

An observer must never break a run: if building a span raises, tracing stops for that run (with
a warning) and the events keep flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context

from swarmlet.events import Event
from swarmlet.loop import ModelResolver, RunSpec
from swarmlet.tracing.spans import TraceSettings
from swarmlet.tracing.tree import TraceTree

__all__ = ["observe"]

logger = logging.getLogger("swarmlet.tracing")


async def observe(
    events: AsyncGenerator[Event, None],
    settings: TraceSettings,
    spec: RunSpec,
    resolve: ModelResolver,
) -> AsyncGenerator[Event, None]:
    """Yield ``events`` unchanged while recording the run's spans."""
    async with contextlib.aclosing(events):
        # Started on the first pull, so the run's root span gets the consumer's current span
        # (a server request, a tool of an outer run) as its parent.
        parent = otel_context.get_current()
        recorder = _Fused.start(lambda: TraceTree(settings, spec, resolve, parent))
        try:
            while True:
                try:
                    event = await _next(events, recorder.context())
                except StopAsyncIteration:
                    break
                recorder.call(TraceTree.on_event, event)
                yield event
        except (GeneratorExit, asyncio.CancelledError) as exc:
            recorder.call(TraceTree.interrupt, _reason(exc))
            raise
        except BaseException as exc:
            recorder.call(TraceTree.fail, exc)
            raise
        recorder.call(TraceTree.finish)


async def _next(events: AsyncGenerator[Event, None], current: Context | None) -> Event:
    """The next event, computed with ``current`` as the OpenTelemetry context."""
    if current is None:
        return await anext(events)
    token = otel_context.attach(current)
    try:
        return await anext(events)
    finally:
        otel_context.detach(token)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, GeneratorExit):
        return "the consumer closed the event stream"
    return "the run's task was cancelled"


class _Fused:
    """A run's spans behind a fuse: the first exception in tracing turns it off for the run."""

    def __init__(self, spans: TraceTree | None) -> None:
        self._spans = spans

    @classmethod
    def start(cls, make: Callable[[], TraceTree]) -> _Fused:
        try:
            return cls(make())
        except Exception:
            logger.warning("tracing failed; this run continues untraced", exc_info=True)
            return cls(None)

    def context(self) -> Context | None:
        if self._spans is None:
            return None
        current: Context | None = self.call(TraceTree.context)
        return current

    def call(self, method: Callable[..., Any], *args: Any) -> Any:
        if self._spans is None:
            return None
        try:
            return method(self._spans, *args)
        except Exception:
            logger.warning("tracing failed; this run continues untraced", exc_info=True)
            self._spans = None
            return None
