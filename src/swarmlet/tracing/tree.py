"""The spans of a run and of all its agent-tool sub-runs, told apart by the events' ``path``.

A sub-run's events arrive in the parent's stream tagged with the tool-call ids leading to it
(``event.path``, outermost first). Its first event opens a :class:`RunSpans` whose root is the
``execute_tool`` span of the call that started it, so the sub-run's ``invoke_agent``, ``chat``
and ``execute_tool`` spans nest under that tool span, however deep, and however many sub-runs
run at once. A sub-run ends with its ``RunCompleted`` or ``RunFailed``; if it never gets
there (the agent-tool gave up on it), it ends when its tool call finishes.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from swarmlet.events import Event, RunCompleted, RunFailed, ToolCallFinished
from swarmlet.loop import ModelResolver, RunSpec
from swarmlet.tracing import semconv as sc
from swarmlet.tracing.routing import CallRoutedSpan
from swarmlet.tracing.spans import RunSpans, TraceSettings, start_span

__all__ = ["TraceTree"]

Path = tuple[str, ...]


class TraceTree:
    """Every span of one top-level run; the tracing observer feeds it the run's events."""

    def __init__(
        self, settings: TraceSettings, spec: RunSpec, resolve: ModelResolver, parent: Context
    ) -> None:
        self._settings = settings
        self._resolve = resolve
        self._stream = spec.stream
        name = spec.agent.name
        root = start_span(
            settings.tracer,
            f"{sc.INVOKE_WORKFLOW} {name}",
            parent,
            {sc.OPERATION_NAME: sc.INVOKE_WORKFLOW, sc.WORKFLOW_NAME: name},
        )
        top = RunSpans(
            settings,
            resolve,
            root,
            owns_root=True,
            model_override=spec.model_override,
            stream=spec.stream,
        )
        self._runs: dict[Path, RunSpans] = {(): top}

    def context(self) -> Context:
        """The context the top-level run's code should run in until its next event.

        In the tool phase its current span is a :class:`CallRoutedSpan`, which each tool
        call's task resolves to that call's own span.
        """
        top = self._runs[()]
        if not top.in_tool_phase():
            return top.context()
        routed = CallRoutedSpan(self._span_for_call, top.innermost_span())
        return trace.set_span_in_context(routed, top.context())

    def _span_for_call(self, call_id: str) -> Span | None:
        """The innermost open span of tool call ``call_id`` (the deepest run that has one).

        Called from tool tasks and worker threads while the loop may change ``_runs``; reading
        a snapshot of the dict is safe under the GIL.
        """
        for path, run in sorted(list(self._runs.items()), key=lambda item: -len(item[0])):
            tool = run.tool(call_id)
            if tool is not None:
                sub_run = self._runs.get((*path, call_id))
                return sub_run.innermost_span() if sub_run is not None else tool.span
        return None

    def on_event(self, event: Event) -> None:
        """Route ``event`` to the spans of the run (or sub-run) it comes from."""
        path: Path = getattr(event, "path", ())
        run = self._runs.get(path) or self._start_sub_run(path)
        if run is None:
            return  # a sub-run under a tool call we never saw: nothing to attach it to
        if isinstance(event, ToolCallFinished):
            self._end_sub_runs((*path, event.call_id), event.error)
        run.on_event(event)
        if isinstance(event, (RunCompleted, RunFailed)) and path:
            del self._runs[path]

    def finish(self) -> None:
        """The top-level run completed: end every span still open."""
        self._end_sub_runs((), None)
        self._runs[()].finish()

    def fail(self, exc: BaseException) -> None:
        """The top-level run raised ``exc``: every open span ends failed."""
        for path in sorted(self._runs, key=len, reverse=True):  # innermost first
            self._runs[path].fail(exc)

    def interrupt(self, reason: str) -> None:
        """The top-level run was stopped from outside: end every open span."""
        self._end_sub_runs((), None)
        self._runs[()].interrupt(reason)

    def _start_sub_run(self, path: Path) -> RunSpans | None:
        if not path:
            return None
        parent = self._runs.get(path[:-1])
        tool = parent.tool(path[-1]) if parent is not None else None
        if tool is None:
            return None
        run = RunSpans(self._settings, self._resolve, tool, owns_root=False, stream=self._stream)
        self._runs[path] = run
        return run

    def _end_sub_runs(self, prefix: Path, error: str | None) -> None:
        """End the sub-runs at or below ``prefix`` that are still open (innermost first)."""
        below = [p for p in self._runs if p and p[: len(prefix)] == prefix]
        for path in sorted(below, key=len, reverse=True):
            run = self._runs.pop(path)
            if error is not None:
                run.fail_reported(error)
            else:
                run.finish()
