"""The spans of one run (or one agent-tool sub-run), built from its events.

::

    invoke_workflow {starting agent}            INTERNAL, the whole run (the root)
    ├── invoke_agent {agent}                    INTERNAL, one agent's stretch (until a handoff)
    │   ├── chat {model}                        CLIENT over HTTP, INTERNAL in-process
    │   ├── execute_tool {tool}                 INTERNAL, one per tool call
    │   │   └── invoke_agent {sub-agent}        an agent-tool's sub-run (see tree.py)
    │   └── ...                                 a handoff: span event here + link on the next
    └── invoke_agent {next agent}

:class:`RunSpans` only reacts to events; :meth:`RunSpans.context` tells the observer which
span the code that runs until the next event belongs to, so that spans made by that code (an
instrumented HTTP client, a nested run inside a tool) nest under it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer

from swarmlet.agent import Agent
from swarmlet.events import (
    AgentStarted,
    ApprovalRequested,
    Event,
    GuardrailChecked,
    Handoff,
    ModelRequested,
    ModelResponded,
    RunCompleted,
    RunFailed,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from swarmlet.loop import ModelResolver
from swarmlet.tracing import semconv as sc
from swarmlet.tracing.content import input_messages, output_messages, redact
from swarmlet.tracing.targets import ModelTarget, describe_model, secrets_of

__all__ = ["Open", "RunSpans", "TraceSettings", "start_span"]

_UNKNOWN = ModelTarget(provider="_OTHER", remote=False)


@dataclass(frozen=True, slots=True)
class TraceSettings:
    """What :func:`swarmlet.tracing.enable` chose: the tracer and whether to record contents."""

    tracer: Tracer
    capture_content: bool


@dataclass(slots=True)
class Open:
    """An open span and the context that makes it the current span."""

    span: Span
    context: Context


def start_span(
    tracer: Tracer,
    name: str,
    parent: Context,
    attributes: dict[str, Any],
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    links: list[Link] | None = None,
) -> Open:
    """Start a span under ``parent`` (not made current: the observer decides that)."""
    span = tracer.start_span(name, context=parent, kind=kind, attributes=attributes, links=links)
    return Open(span, trace.set_span_in_context(span, parent))


class RunSpans:
    """The spans of one run; feed it the run's events with :meth:`on_event`, then end it.

    Args:
        root: the span the run's agent spans go under: the run's own ``invoke_workflow``
            span, or for a sub-run the ``execute_tool`` span of the agent-tool call.
        owns_root: end (and mark failed) ``root`` with the run; a sub-run's tool span is
            its parent run's to end.
        model_override: the run's ``model_override`` (it names the model every call asks for).
        stream: whether the run streams the model's replies.
    """

    def __init__(
        self,
        settings: TraceSettings,
        resolve: ModelResolver,
        root: Open,
        *,
        owns_root: bool,
        model_override: str | None = None,
        stream: bool = False,
    ) -> None:
        self._tracer = settings.tracer
        self._capture = settings.capture_content
        self._resolve = resolve
        self._root = root
        self._owns_root = owns_root
        self._model_override = model_override
        self._stream = stream
        self._agent: Agent | None = None
        self._agent_span: Open | None = None
        self._target = _UNKNOWN
        self._handed_off_from: Span | None = None
        self._chat: Open | None = None
        self._tools: dict[str, Open] = {}  # open tool spans by call id, in call order
        self._turns = 0
        self._secrets: tuple[str, ...] = ()
        self._handlers: dict[type, Callable[[Any], None]] = {
            AgentStarted: self._agent_started,
            TurnStarted: self._turn_started,
            ModelRequested: self._model_requested,
            ModelResponded: self._model_responded,
            ToolCallStarted: self._tool_started,
            ToolCallFinished: self._tool_finished,
            GuardrailChecked: self._guardrail_checked,
            Handoff: self._handoff,
            ApprovalRequested: self._approval_requested,
            RunStarted: self._run_started,
            RunCompleted: self._run_completed,
            RunFailed: lambda event: self.fail(event.error),
        }
        self._ended = False

    def context(self) -> Context:
        """The context of the run's own code now: its open model call, agent, or root span.

        Tool calls are not in it: they run in tasks of their own (see routing.py).
        """
        if self._chat is not None:
            return self._chat.context
        if self._agent_span is not None:
            return self._agent_span.context
        return self._root.context

    def innermost_span(self) -> Span:
        """The span of :meth:`context`."""
        return trace.get_current_span(self.context())

    def in_tool_phase(self) -> bool:
        """Whether tool calls are running (their spans are open)."""
        return bool(self._tools)

    def tool(self, call_id: str) -> Open | None:
        """The open ``execute_tool`` span of call ``call_id``, if there is one."""
        return self._tools.get(call_id)

    def on_event(self, event: Event) -> None:
        """Open, annotate or close spans for one event."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def finish(self) -> None:
        """The run completed: close every span."""
        if not self._ended and self._owns_root:
            self._root.span.set_attribute(sc.RUN_TURNS, self._turns)
        self._end_all(None)

    def fail(self, exc: BaseException) -> None:
        """The run raised ``exc``: mark every open span failed and close it."""
        self._end_all((type(exc).__qualname__, str(exc)))

    def fail_reported(self, error: str) -> None:
        """The run failed and only its report is known (``"Type: message"``, as a tool error)."""
        self._end_all((error_type(error), error))

    def interrupt(self, reason: str) -> None:
        """The run was stopped from outside (stream closed, task cancelled): close its spans."""
        if self._ended:  # the consumer closed the stream after the run had completed
            return
        if self._owns_root:
            self._root.span.add_event(sc.INTERRUPTED_EVENT, {sc.INTERRUPTED_REASON: reason})
        self._end_all(None)

    # -- event handlers -------------------------------------------------------------------

    def _run_started(self, event: RunStarted) -> None:
        if event.resumed and self._owns_root:
            self._root.span.set_attribute(sc.RUN_RESUMED, True)

    def _run_completed(self, event: RunCompleted) -> None:
        waiting = [interruption.call_id for interruption in event.response.interruptions]
        if waiting:  # a paused run: its end is an interruption, not an answer
            attributes = {sc.INTERRUPTED_REASON: "awaiting approval", sc.INTERRUPTED_CALLS: waiting}
            self._root.span.add_event(sc.INTERRUPTED_EVENT, attributes)
        self.finish()

    def _approval_requested(self, event: ApprovalRequested) -> None:
        opened = self._agent_span or self._root
        attributes = {sc.TOOL_NAME: event.name, sc.TOOL_CALL_ID: event.call_id}
        opened.span.add_event(sc.APPROVAL_REQUESTED_EVENT, attributes)

    def _agent_started(self, event: AgentStarted) -> None:
        self._start_agent(event.agent)

    def _turn_started(self, event: TurnStarted) -> None:
        self._turns += 1
        if self._agent_span is None or event.agent is not self._agent:
            self._start_agent(event.agent)  # a resumed run may start at a turn

    def _start_agent(self, agent: Agent) -> None:
        self._end_agent()
        self._agent, self._target = agent, self._describe(agent)
        links = []
        if self._handed_off_from is not None:
            previous = self._handed_off_from.get_span_context()
            links.append(Link(previous, {sc.LINK_TYPE: "handoff"}))
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.INVOKE_AGENT,
            sc.AGENT_NAME: agent.name,
            sc.PROVIDER_NAME: self._target.provider,
        }
        model = self._model_name(agent)
        if model:
            attributes[sc.REQUEST_MODEL] = model
        name = f"{sc.INVOKE_AGENT} {agent.name}"
        self._agent_span = self._start(name, self._root.context, attributes, links=links)

    def _model_requested(self, event: ModelRequested) -> None:
        if self._agent_span is None or event.agent is not self._agent:
            self._start_agent(event.agent)
        target, request = self._target, event.request
        model = request.model or self._model_name(event.agent)
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.CHAT,
            sc.PROVIDER_NAME: target.provider,
            sc.REQUEST_STREAM: self._stream,
        }
        if model:
            attributes[sc.REQUEST_MODEL] = model
        if target.address is not None:
            attributes[sc.SERVER_ADDRESS] = target.address
        if target.port is not None:
            attributes[sc.SERVER_PORT] = target.port
        attributes.update(_request_settings(request.settings))
        if self._capture:
            attributes.update(input_messages(request.messages))
        kind = SpanKind.CLIENT if target.remote else SpanKind.INTERNAL
        name = f"{sc.CHAT} {model}" if model else sc.CHAT
        assert self._agent_span is not None
        self._chat = self._start(name, self._agent_span.context, attributes, kind=kind)

    def _model_responded(self, event: ModelResponded) -> None:
        if self._chat is None:
            return
        span, message = self._chat.span, event.message
        if message.finish_reason is not None:
            span.set_attribute(sc.RESPONSE_FINISH_REASONS, [message.finish_reason])
        if event.usage is not None:
            span.set_attribute(sc.USAGE_INPUT_TOKENS, event.usage.input_tokens)
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, event.usage.output_tokens)
        if self._capture:
            span.set_attribute(sc.OUTPUT_MESSAGES, output_messages(message))
        span.end()
        self._chat = None

    def _guardrail_checked(self, event: GuardrailChecked) -> None:
        opened = self._tools.get(event.call_id) if event.call_id else None
        opened = opened or self._agent_span or self._root
        result = event.result
        opened.span.add_event(
            sc.GUARDRAIL_EVENT,
            {
                sc.GUARDRAIL_KIND: event.kind,
                sc.GUARDRAIL_NAME: event.name,
                sc.GUARDRAIL_TRIPPED: result.tripped,
                sc.GUARDRAIL_REPLACED: result.replacement is not None,
            },
        )

    def _tool_started(self, event: ToolCallStarted) -> None:
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.EXECUTE_TOOL,
            sc.TOOL_NAME: event.name,
            sc.TOOL_CALL_ID: event.call_id,
            sc.TOOL_TYPE: "function",
        }
        if self._capture:
            attributes[sc.TOOL_CALL_ARGUMENTS] = event.arguments
        parent = self._agent_span.context if self._agent_span else self._root.context
        name = f"{sc.EXECUTE_TOOL} {event.name}"
        self._tools[event.call_id] = self._start(name, parent, attributes)

    def _tool_finished(self, event: ToolCallFinished) -> None:
        opened = self._tools.pop(event.call_id, None)
        if opened is None:
            # Finished without starting: a call rejected by a person, answered on resume.
            parent = self._agent_span or self._root
            attributes = {sc.TOOL_NAME: event.name, sc.TOOL_CALL_ID: event.call_id}
            parent.span.add_event(sc.APPROVAL_REJECTED_EVENT, attributes)
            return
        span = opened.span
        if event.error is not None:
            # ToolCallFinished.error is "Type: message"; the type is the low-cardinality part.
            span.set_attribute(sc.ERROR_TYPE, error_type(event.error))
            span.set_status(Status(StatusCode.ERROR, redact(event.error, self._secrets)))
        if self._capture:
            span.set_attribute(sc.TOOL_CALL_RESULT, event.content)
        span.end()

    def _handoff(self, event: Handoff) -> None:
        if self._agent_span is None:
            return
        self._agent_span.span.add_event(
            sc.HANDOFF_EVENT,
            {sc.HANDOFF_FROM: event.from_agent.name, sc.HANDOFF_TO: event.to_agent.name},
        )
        self._end_agent()

    # -- helpers --------------------------------------------------------------------------

    def _start(
        self,
        name: str,
        parent: Context,
        attributes: dict[str, Any],
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        links: list[Link] | None = None,
    ) -> Open:
        return start_span(self._tracer, name, parent, attributes, kind=kind, links=links)

    def _describe(self, agent: Agent) -> ModelTarget:
        try:
            model = self._resolve(agent)
        except Exception:  # the run itself reports a provider that cannot be built
            return _UNKNOWN
        self._secrets = secrets_of(model)
        return describe_model(model)

    def _model_name(self, agent: Agent) -> str | None:
        if self._model_override:
            return self._model_override
        if isinstance(agent.model, str):
            return agent.model
        return self._target.default_model

    def _end_agent(self) -> None:
        if self._agent_span is not None:
            self._agent_span.span.end()
            self._handed_off_from = self._agent_span.span
            self._agent_span = None

    def _end_all(self, error: tuple[str, str] | None) -> None:
        if self._ended:
            return
        self._ended = True
        opened = [self._chat, *self._tools.values(), self._agent_span]
        if self._owns_root:
            opened.append(self._root)
        for item in opened:
            if item is None:
                continue
            if error is not None:
                item.span.set_attribute(sc.ERROR_TYPE, error[0])
                item.span.set_status(Status(StatusCode.ERROR, redact(error[1], self._secrets)))
            item.span.end()
        self._chat, self._tools, self._agent_span = None, {}, None


def error_type(report: str) -> str:
    """The low-cardinality part of a ``"Type: message"`` error report (tool errors use it)."""
    return report.split(":", 1)[0].strip() or "_OTHER"


def _request_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The conventional ``gen_ai.request.*`` attributes for an agent's model settings."""
    found: dict[str, Any] = {}
    for key, attribute in sc.REQUEST_SETTINGS.items():
        value = settings.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found[attribute] = value
    stop = settings.get("stop")
    if isinstance(stop, str):
        found["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        found["gen_ai.request.stop_sequences"] = stop
    return found
