"""The ``Swarm`` client: Swarm's ``run`` plus ``run_async`` and typed ``stream``, on one loop."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Literal, overload

from swarmlet import tracing
from swarmlet._sync import shared_loop
from swarmlet.agent import Agent, Response
from swarmlet.events import Event, RunCompleted, to_swarm_events
from swarmlet.exceptions import RunError, UsageError
from swarmlet.fanout import MapInput, ProgressCallback, map_runs
from swarmlet.hooks import RunHooks
from swarmlet.loop import RunSpec, run_events
from swarmlet.messages import as_messages
from swarmlet.models.base import Model, provider_kind

if TYPE_CHECKING:
    from swarmlet.sessions.session import Session
    from swarmlet.state import RunState

__all__ = ["Swarm"]

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
        tool_executor: thread pool for synchronous tools (default: a shared pool).
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
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> None:
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
        self._provider: Model | None = client if kind == "provider" else None
        self._provider_lock = threading.Lock()
        self._loop = shared_loop()

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
    ) -> AsyncGenerator[Event, None]:
        """All events of a run; with ``stream=False`` the model is called without streaming.

        ``messages`` may be a plain string (one user message). With ``session=`` the run
        continues that stored conversation and stores each message as it completes
        (:mod:`swarmlet.sessions`).
        """
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
            events = run_events(spec, self._resolve, self.tool_executor)
        else:
            events = self._on_session(spec, session)
        return _with_debug(tracing.observe(events, spec, self._resolve), debug)

    def _on_session(self, spec: RunSpec, session: Session) -> AsyncGenerator[Event, None]:
        """The run on a stored conversation (imported here: most runs have no session)."""
        from swarmlet.sessions.persist import persisted_run
        from swarmlet.sessions.session import Session

        if not isinstance(session, Session):
            raise UsageError(f"session must be a swarmlet Session, got {type(session).__name__}")

        def start(state: RunState) -> AsyncGenerator[Event, None]:
            return run_events(spec, self._resolve, self.tool_executor, state)

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
    ) -> AsyncGenerator[Event, None]:
        """Run with a streaming model and yield typed events as they happen.

        ``async for event in client.stream(agent, messages): ...`` — the last event is a
        :class:`~swarmlet.events.RunCompleted` carrying the :class:`Response`.
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
    ) -> Response:
        """Run until the active agent answers without tool calls (or ``max_turns`` model calls).

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
        )
        return await _final_response(events)

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
    ) -> Response | Iterator[dict[str, Any]]:
        """Swarm's synchronous entry point, same arguments and return shape.

        With ``stream=True`` it returns an iterator of Swarm's dict events
        (``{"delim": "start"}``, deltas with ``sender``, ``{"delim": "end"}``,
        ``{"response": Response}``); otherwise the :class:`Response`.
        """
        events = self.events(
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
        )
        if stream:
            return self._loop.iterate(to_swarm_events(events))
        return self._loop.run(_final_response(events))

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
        return self._loop.run(
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


async def _final_response(events: AsyncGenerator[Event, None]) -> Response:
    """Drain a run's events and return its :class:`Response`."""
    # aclosing: finish the generator (and its debug-logging scope) before returning.
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, RunCompleted) and not event.path:  # not a sub-run's
                return event.response
    raise AssertionError("a run always ends with RunCompleted")  # pragma: no cover


async def _with_debug(
    events: AsyncGenerator[Event, None], debug: bool
) -> AsyncGenerator[Event, None]:
    """Pass events through, with swarmlet's DEBUG logging on for the run when asked."""
    async with contextlib.aclosing(events):
        with _debug_logging() if debug else contextlib.nullcontext():
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
