"""The ``Swarm`` client: Swarm's ``run`` plus ``run_async`` and typed ``stream``, on one loop."""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Literal, overload

from swarmlet import tracing
from swarmlet._sync import INLINE, bridge_for
from swarmlet.agent import Agent, AgentFunction, Response, Result
from swarmlet.events import Event, RunCompleted, to_swarm_events
from swarmlet.exceptions import RunError, RunStateError, UsageError
from swarmlet.fanout import MapInput, ProgressCallback, map_runs
from swarmlet.hooks import RunHooks
from swarmlet.loop import RunSpec, run_events
from swarmlet.messages import as_messages
from swarmlet.models.base import Model, provider_kind
from swarmlet.schema import CONTEXT_PARAMETER
from swarmlet.state import RunState
from swarmlet.tool_placement import AutoExecutor
from swarmlet.util import debug_print, function_to_json, merge_chunk

if TYPE_CHECKING:
    from swarmlet.sessions.session import Session

__all__ = [  # Swarm and what swarm.core also offers (Swarm programs import them from there)
    "SYNC_TOOLS",
    "Agent",
    "AgentFunction",
    "Response",
    "Result",
    "Swarm",
    "SyncTools",
    "debug_print",
    "function_to_json",
    "merge_chunk",
]

# What ``swarm.core`` offers besides ``Swarm``, for Swarm programs that import it from there.
# The openai SDK's types come lazily (module ``__getattr__``): openai is slow to import.
__CTX_VARS_NAME__ = CONTEXT_PARAMETER
_SWARM_TYPES = ("ChatCompletionMessage", "ChatCompletionMessageToolCall", "Function")


def __getattr__(name: str) -> Any:
    if name in _SWARM_TYPES:
        from swarmlet import types

        return getattr(types, name)
    raise AttributeError(f"module 'swarmlet.core' has no attribute {name!r}")


SyncTools = Literal["caller", "threads", "auto"]
"""Where synchronous tools run: ``"caller"``, one at a time in the thread that called the
sync API (Swarm's behaviour; resources bound to that thread work), ``"threads"``, in
parallel on a thread pool, or ``"auto"``, on the pool until a tool has been quick three times
in a row, then on the event loop's thread (:mod:`swarmlet.tool_placement`)."""

SYNC_TOOLS: tuple[SyncTools, ...] = ("caller", "threads", "auto")

_logger = logging.getLogger("swarmlet")


class Swarm:
    """Runs agents: call a model, execute its tool calls, hand off, repeat.

    Args:
        client: an ``openai.AsyncOpenAI`` or ``openai.OpenAI`` client, any object with
            ``.chat.completions.create(**kwargs)``, or a provider instance
            (:class:`swarmlet.models.Model`, e.g. a ``ScriptedModel``). ``None`` builds a
            :class:`~swarmlet.models.fast_http.FastHTTPModel` from ``OPENAI_API_KEY`` /
            ``OPENAI_BASE_URL`` / ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID`` (and ``.env``)
            the first time an agent with a string ``model`` needs it.
        tool_executor: thread pool for synchronous tools in ``"threads"`` mode and for the
            pooled runs of ``"auto"`` (default: a shared pool). Passing one makes
            ``"threads"`` the default for every API.
        sync_tools: where synchronous tools run (:data:`SyncTools`). Default: ``"caller"``
            for the sync API (``run``, ``run(stream=True)``, ``run_demo_loop``), as in Swarm,
            and ``"auto"`` for ``run_async``/``stream``/``events``. Every entry point takes a
            per-run ``sync_tools=`` as well. See README "Where sync tools run".
        max_retries: retries of a failed model request (429, 5xx, connection errors,
            timeouts), with backoff honouring ``Retry-After``. Default: 2.
        timeout: seconds a model request may take (connect, and each read). Default: 600.

    ``max_retries``/``timeout`` configure the provider swarmlet builds; with an ``openai``
    client they are applied to a copy of it (``client.with_options``).
    """

    def __init__(
        self,
        client: Any = None,
        *,
        tool_executor: Executor | None = None,
        sync_tools: SyncTools | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> None:
        _check_sync_tools(sync_tools)
        kind = provider_kind(client) if client is not None else None
        options: dict[str, Any] = {
            k: v for k, v in (("max_retries", max_retries), ("timeout", timeout)) if v is not None
        }
        if options and client is not None:
            if not hasattr(client, "with_options"):
                raise UsageError(
                    "max_retries/timeout apply to openai clients; configure this client itself"
                )
            client = client.with_options(**options)
        self.client = client
        self._client_options = options
        self.tool_executor = tool_executor
        self.sync_tools = sync_tools
        self._auto: AutoExecutor | None = None  # what "auto" learnt about this client's tools
        self._provider: Model | None = client if kind == "provider" else None
        self._provider_lock = threading.Lock()
        # An AsyncOpenAI client is bound to the first event loop it runs on (the SDK's rule),
        # so sync calls with it all use the one shared loop rather than the caller's own.
        self._needs_shared_loop = kind == "client" and inspect.iscoroutinefunction(
            inspect.unwrap(client.chat.completions.create)  # the SDK wraps it in a sync def
        )

    def sync_tools_policy(
        self, sync_tools: SyncTools | None = None, *, sync_api: bool
    ) -> SyncTools:
        """Where a run's sync tools run: the per-run choice, the client's, or the API default."""
        _check_sync_tools(sync_tools)
        choice = sync_tools or self.sync_tools
        if choice is not None:
            return choice
        if self.tool_executor is not None:
            return "threads"
        return "caller" if sync_api else "auto"

    def _observed(
        self, spec: RunSpec, executor: Executor | None, debug: bool
    ) -> AsyncGenerator[Event, None]:
        """The run's events, traced, with debug logging when asked."""
        events = run_events(spec, self._resolve, executor)
        return _with_debug(tracing.observe(events, spec, self._resolve), debug)

    def _executor(
        self, sync_tools: SyncTools | None, caller: Executor, *, sync_api: bool
    ) -> Executor | None:
        policy = self.sync_tools_policy(sync_tools, sync_api=sync_api)
        if policy == "caller":
            return caller
        if policy == "auto":
            return self._auto_executor()
        return self.tool_executor

    def _auto_executor(self) -> AutoExecutor:
        """The client's ``"auto"`` executor, pooling on ``tool_executor`` (made on first use)."""
        auto = self._auto
        if auto is None or auto.pool is not self.tool_executor:  # new, or the pool replaced
            auto = self._auto = AutoExecutor(self.tool_executor)
        return auto

    def _resolve(self, agent: Agent) -> Model:
        """The provider serving ``agent``: its own instance, or the client's."""
        # Testing for str, not for the Model protocol: a runtime-checkable Protocol isinstance
        # is slow, and this runs on every turn. Agent validation allows only the two.
        if not isinstance(agent.model, str):
            return agent.model
        with self._provider_lock:
            if self._provider is None:
                self._provider = self._default_provider()
            return self._provider

    def _default_provider(self) -> Model:
        """The provider for agents with a model *name*: the given client's, or one from env.

        With no client, swarmlet's own lean HTTP provider is used: it sends the same requests
        as the SDK and fails the same way (the fault suite runs against both), at a fraction of
        the SDK's CPU per request (docs/benchmarks.md). An ``openai`` client passed in is used
        through the SDK. Both imports happen here, on first use: the openai package alone takes
        most of a second to import.
        """
        if self.client is None:
            from swarmlet.models.fast_http import FastHTTPModel

            return FastHTTPModel.from_env(**self._client_options)
        from swarmlet.models.openai_compat import OpenAIChatModel

        return OpenAIChatModel(self.client)

    def events(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None = None,
        model_override: str | None = None,
        *,
        stream: bool = True,
        debug: bool = False,
        max_turns: float = float("inf"),
        execute_tools: bool = True,
        session: Session | None = None,
        hooks: RunHooks | None = None,
        input_guardrails: Sequence[Any] = (),
        output_guardrails: Sequence[Any] = (),
        sync_tools: SyncTools | None = None,
    ) -> AsyncGenerator[Event, None]:
        """All events of a run; with ``stream=False`` the model is called without streaming.

        ``messages`` may be a plain string (one user message). With ``session=`` the run
        continues that stored conversation and stores each message as it completes
        (:mod:`swarmlet.sessions`). ``sync_tools``: this async API's default, ``"auto"``, runs
        a sync tool on a thread pool until it has been quick three times in a row, then on the
        event loop's thread; ``"threads"`` always uses the pool; ``"caller"`` always runs sync
        tools on the loop's thread (blocking it while each runs).
        """
        executor = self._executor(sync_tools, INLINE, sync_api=False)
        return self._events(
            agent,
            messages,
            context_variables,
            model_override,
            stream=stream,
            debug=debug,
            max_turns=max_turns,
            execute_tools=execute_tools,
            session=session,
            hooks=hooks,
            input_guardrails=input_guardrails,
            output_guardrails=output_guardrails,
            executor=executor,
        )

    def _events(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None,
        model_override: str | None,
        *,
        stream: bool,
        debug: bool,
        max_turns: float,
        execute_tools: bool,
        session: Session | None,
        hooks: RunHooks | None,
        input_guardrails: Sequence[Any],
        output_guardrails: Sequence[Any],
        executor: Executor | None,
    ) -> AsyncGenerator[Event, None]:
        """:meth:`events` with the sync tools' executor chosen by the caller."""
        if not isinstance(agent, Agent):
            raise UsageError(f"agent must be a swarmlet Agent, got {type(agent).__name__}")
        spec = RunSpec(
            agent=agent,
            messages=as_messages(messages),
            context_variables=dict(context_variables or {}),
            model_override=model_override,
            stream=stream,
            max_turns=max_turns,
            execute_tools=execute_tools,
            hooks=hooks,
            input_guardrails=list(input_guardrails),
            output_guardrails=list(output_guardrails),
        )
        if session is None:
            events = run_events(spec, self._resolve, executor)
        else:
            events = self._on_session(spec, session, executor)
        return _with_debug(tracing.observe(events, spec, self._resolve), debug)

    def _on_session(
        self, spec: RunSpec, session: Session, executor: Executor | None
    ) -> AsyncGenerator[Event, None]:
        """The run on a stored conversation (imported here: most runs have no session)."""
        from swarmlet.sessions.persist import persisted_run

        _check_session(session)

        def start(state: RunState) -> AsyncGenerator[Event, None]:
            return run_events(spec, self._resolve, executor, state)

        return persisted_run(session, spec.agent, spec.messages, spec.context_variables, start)

    def stream(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None = None,
        model_override: str | None = None,
        debug: bool = False,
        max_turns: float = float("inf"),
        execute_tools: bool = True,
        *,
        session: Session | None = None,
        hooks: RunHooks | None = None,
        input_guardrails: Sequence[Any] = (),
        output_guardrails: Sequence[Any] = (),
        sync_tools: SyncTools | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Run with a streaming model and yield typed events as they happen.

        ``async for event in client.stream(agent, messages): ...`` — the last event is a
        :class:`~swarmlet.events.RunCompleted` carrying the :class:`Response`. ``sync_tools``
        as for :meth:`events`.
        """
        return self.events(
            agent,
            messages,
            context_variables,
            model_override,
            stream=True,
            debug=debug,
            max_turns=max_turns,
            execute_tools=execute_tools,
            session=session,
            hooks=hooks,
            input_guardrails=input_guardrails,
            output_guardrails=output_guardrails,
            sync_tools=sync_tools,
        )

    async def run_async(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None = None,
        model_override: str | None = None,
        debug: bool = False,
        max_turns: float = float("inf"),
        execute_tools: bool = True,
        *,
        session: Session | None = None,
        hooks: RunHooks | None = None,
        input_guardrails: Sequence[Any] = (),
        output_guardrails: Sequence[Any] = (),
        sync_tools: SyncTools | None = None,
    ) -> Response:
        """Run until the active agent answers without tool calls (or ``max_turns`` model calls).

        ``sync_tools`` as for :meth:`events` (default: ``"auto"``, or the client's setting).

        Raises:
            RunError: when the model endpoint fails; ``.response`` has the messages so far.
        """
        events = self.events(
            agent,
            messages,
            context_variables,
            model_override,
            stream=False,
            debug=debug,
            max_turns=max_turns,
            execute_tools=execute_tools,
            session=session,
            hooks=hooks,
            input_guardrails=input_guardrails,
            output_guardrails=output_guardrails,
            sync_tools=sync_tools,
        )
        return await _final_response(events)

    def resume_stream(
        self,
        state: RunState,
        *,
        stream: bool = True,
        debug: bool = False,
        max_turns: float = float("inf"),
        model_override: str | None = None,
        execute_tools: bool = True,
        hooks: RunHooks | None = None,
        output_guardrails: Sequence[Any] = (),
        sync_tools: SyncTools | None = None,
        session: Session | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Continue a paused run where it stopped, yielding its events (see :meth:`resume`).

        Raises:
            RunStateError: ``state`` was already resumed (load it from JSON again to retry),
                or ``session`` is not paused where ``state`` is.
        """
        spec = _resume_spec(
            state, stream, max_turns, model_override, execute_tools, hooks, output_guardrails
        )
        executor = self._executor(sync_tools, INLINE, sync_api=False)
        events = self._resumed(spec, state, executor, session)
        return _with_debug(tracing.observe(events, spec, self._resolve), debug)

    def _resumed(
        self, spec: RunSpec, state: RunState, executor: Executor | None, session: Session | None
    ) -> AsyncGenerator[Event, None]:
        """A paused run's events from ``state``; stored on ``session`` when given."""
        if session is None:
            return run_events(spec, self._resolve, executor, state, resumed=True)
        from swarmlet.sessions.persist import resume_on_session

        _check_session(session)

        def start(state: RunState) -> AsyncGenerator[Event, None]:
            return run_events(spec, self._resolve, executor, state, resumed=True)

        return resume_on_session(session, state, start)

    async def resume_async(self, state: RunState, **options: Any) -> Response:
        """Continue a paused run; the options are :meth:`resume_stream`'s (not ``stream``).

        Approved calls run, rejected ones are reported to the model as declined, calls still
        undecided keep the run paused (the returned ``Response`` has ``interruptions`` again).
        """
        return await _final_response(self.resume_stream(state, **{**options, "stream": False}))

    def resume(
        self,
        state: RunState,
        *,
        debug: bool = False,
        max_turns: float = float("inf"),
        model_override: str | None = None,
        execute_tools: bool = True,
        hooks: RunHooks | None = None,
        output_guardrails: Sequence[Any] = (),
        sync_tools: SyncTools | None = None,
        session: Session | None = None,
    ) -> Response:
        """Continue a paused run (``response.state``, or ``RunState.from_json(...)``).

        ``max_turns`` counts on from the model calls already made; input guardrails are not
        run again. Sync tools run as in :meth:`run`. With ``session=``, ``state`` is the
        session's paused run (``RunState.from_json(session_state.run_state, agent)``) and the
        resumed run is stored there; a session no longer paused at that point is refused.
        """
        spec = _resume_spec(
            state, False, max_turns, model_override, execute_tools, hooks, output_guardrails
        )
        bridge = bridge_for(self._needs_shared_loop)
        executor = self._executor(sync_tools, bridge.caller_executor, sync_api=True)
        events = self._resumed(spec, state, executor, session)
        return bridge.run(
            _final_response(_with_debug(tracing.observe(events, spec, self._resolve), debug))
        )

    @overload
    def run(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None = ...,
        model_override: str | None = ...,
        stream: Literal[False] = ...,
        debug: bool = ...,
        max_turns: float = ...,
        execute_tools: bool = ...,
        *,
        session: Session | None = ...,
        hooks: RunHooks | None = ...,
        input_guardrails: Sequence[Any] = ...,
        output_guardrails: Sequence[Any] = ...,
        sync_tools: SyncTools | None = ...,
    ) -> Response: ...

    @overload
    def run(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None = ...,
        model_override: str | None = ...,
        *,
        stream: Literal[True],
        debug: bool = ...,
        max_turns: float = ...,
        execute_tools: bool = ...,
        session: Session | None = ...,
        hooks: RunHooks | None = ...,
        input_guardrails: Sequence[Any] = ...,
        output_guardrails: Sequence[Any] = ...,
        sync_tools: SyncTools | None = ...,
    ) -> Iterator[dict[str, Any]]: ...

    def run(
        self,
        agent: Agent,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any] | None = None,
        model_override: str | None = None,
        stream: bool = False,
        debug: bool = False,
        max_turns: float = float("inf"),
        execute_tools: bool = True,
        *,
        session: Session | None = None,
        hooks: RunHooks | None = None,
        input_guardrails: Sequence[Any] = (),
        output_guardrails: Sequence[Any] = (),
        sync_tools: SyncTools | None = None,
    ) -> Response | Iterator[dict[str, Any]]:
        """Swarm's synchronous entry point, same arguments and return shape.

        With ``stream=True`` it returns an iterator of Swarm's dict events
        (``{"delim": "start"}``, deltas with ``sender``, ``{"delim": "end"}``,
        ``{"response": Response}``); otherwise the :class:`Response`.

        The run executes on an event loop owned by the calling thread, and sync tools run in
        the calling thread one at a time unless ``sync_tools="threads"`` or ``"auto"`` (here
        or on the client). See :mod:`swarmlet._sync` for Jupyter and nested calls.

        Raises:
            UsageError: called from inside a running swarmlet run (an async tool or
                instructions); use ``await client.run_async(...)`` there.
        """
        bridge = bridge_for(self._needs_shared_loop)
        events = self._events(
            agent,
            messages,
            context_variables,
            model_override,
            stream=stream,
            debug=debug,
            max_turns=max_turns,
            execute_tools=execute_tools,
            session=session,
            hooks=hooks,
            input_guardrails=input_guardrails,
            output_guardrails=output_guardrails,
            executor=self._executor(sync_tools, bridge.caller_executor, sync_api=True),
        )
        if stream:
            return bridge.iterate(to_swarm_events(events))
        return bridge.run(_final_response(events))

    async def map_async(
        self,
        agent: Agent,
        inputs: Iterable[MapInput],
        *,
        concurrency: int = 16,
        context_variables: dict[str, Any] | None = None,
        model_override: str | None = None,
        max_turns: float = float("inf"),
        execute_tools: bool = True,
        progress: ProgressCallback | None = None,
    ) -> list[Response | RunError]:
        """Run ``agent`` once per input, at most ``concurrency`` runs at a time.

        Each input is a user message (text), a message list, or a dict with ``messages`` and
        optional ``context_variables`` (overlaying ``context_variables``). Returns one
        :class:`Response` or one :class:`RunError` per input, in input order. ``progress``
        (sync or async) receives a :class:`~swarmlet.fanout.MapProgress` as each input
        finishes. Cancelling the call cancels every run. See :mod:`swarmlet.fanout`.
        """
        options = {
            "model_override": model_override,
            "max_turns": max_turns,
            "execute_tools": execute_tools,
        }
        return await map_runs(
            self,
            agent,
            inputs,
            concurrency=concurrency,
            context_variables=context_variables,
            progress=progress,
            run_options=options,
        )

    def map(
        self,
        agent: Agent,
        inputs: Iterable[MapInput],
        *,
        concurrency: int = 16,
        context_variables: dict[str, Any] | None = None,
        model_override: str | None = None,
        max_turns: float = float("inf"),
        execute_tools: bool = True,
        progress: ProgressCallback | None = None,
    ) -> list[Response | RunError]:
        """The synchronous :meth:`map_async` (Ctrl-C cancels every run)."""
        return bridge_for(self._needs_shared_loop).run(
            self.map_async(
                agent,
                inputs,
                concurrency=concurrency,
                context_variables=context_variables,
                model_override=model_override,
                max_turns=max_turns,
                execute_tools=execute_tools,
                progress=progress,
            )
        )


def _check_sync_tools(sync_tools: object) -> None:
    if sync_tools is not None and sync_tools not in SYNC_TOOLS:
        raise UsageError(
            f"sync_tools must be 'caller', 'threads', 'auto' or None, got {sync_tools!r}"
        )


def _check_session(session: object) -> None:
    from swarmlet.sessions.session import Session  # most runs have no session: import late

    if not isinstance(session, Session):
        raise UsageError(f"session must be a swarmlet Session, got {type(session).__name__}")


def _resume_spec(
    state: RunState,
    stream: bool,
    max_turns: float,
    model_override: str | None,
    execute_tools: bool,
    hooks: RunHooks | None,
    output_guardrails: Sequence[Any],
) -> RunSpec:
    """The options of a resumed run; marks ``state`` as resumed (a resume changes it)."""
    if not isinstance(state, RunState):
        raise UsageError(f"resume takes a RunState, got {type(state).__name__}")
    if state.resumed:
        raise RunStateError(
            "this RunState was already resumed; a resumed run changes it, so load the "
            "saved JSON again (RunState.from_json) to resume from the same point"
        )
    state.resumed = True
    return RunSpec(
        agent=state.agent,
        messages=[],
        model_override=model_override,
        stream=stream,
        max_turns=max_turns,
        execute_tools=execute_tools,
        hooks=hooks,
        output_guardrails=list(output_guardrails),
    )


async def _final_response(events: AsyncGenerator[Event, None]) -> Response:
    """Drain a run's events and return its :class:`Response`."""
    # aclosing: finish the generator (and its debug-logging scope) before returning.
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, RunCompleted) and not event.path:  # not a sub-run's
                return event.response
    raise AssertionError("a run always ends with RunCompleted")  # pragma: no cover


def _with_debug(events: AsyncGenerator[Event, None], debug: bool) -> AsyncGenerator[Event, None]:
    """``events``, with swarmlet's DEBUG logging on for the run when asked.

    Without ``debug`` this is ``events`` itself: a pass-through generator would cost a
    resumption per event on every run (see docs/benchmarks.md, "Run-loop overhead").
    """
    return _debug_events(events) if debug else events


async def _debug_events(events: AsyncGenerator[Event, None]) -> AsyncGenerator[Event, None]:
    """Pass events through with swarmlet's DEBUG logging on while the run is going."""
    async with contextlib.aclosing(events):
        with _debug_logging():
            async for event in events:
                yield event


@contextlib.contextmanager
def _debug_logging() -> Iterator[None]:
    """Turn on DEBUG for the ``swarmlet`` logger, with a stderr handler if it has none.

    The logger is process-wide, so concurrent runs see the same setting while it is on.
    """
    previous = _logger.level
    handler = None
    if not _logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[swarmlet %(asctime)s] %(name)s: %(message)s"))
        _logger.addHandler(handler)
    _logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        _logger.setLevel(previous)
        if handler is not None:
            _logger.removeHandler(handler)
