"""The FastAPI application factory of the agent server.

::

    from swarmlet import Swarm
    from swarmlet.server import ServerSettings, create_app

    app = create_app(triage, swarm=Swarm(), settings=ServerSettings())   # any ASGI server
    # or: swarmlet serve my_agents.py:triage

One app serves one entry agent (and everything reachable from it). Its routes live in
:mod:`~swarmlet.server.api` (runs, graph, health), :mod:`~swarmlet.server.openai_facade`
(``/v1``) and :mod:`~swarmlet.server.ui` (the web page at ``/``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import swarmlet
from swarmlet.agent import Agent
from swarmlet.core import Swarm
from swarmlet.events import Event
from swarmlet.server.auth import TokenAuth, generate_token
from swarmlet.server.errors import install_error_handlers
from swarmlet.server.run_traces import RunTraces
from swarmlet.server.runs import RunManager, RunRecord
from swarmlet.sessions import SessionStore, open_store

__all__ = ["DEFAULT_MAX_BODY_SIZE", "ServerSettings", "ServerState", "create_app", "state_of"]

DEFAULT_MAX_BODY_SIZE = 1 << 20
"""Largest request body accepted by default (1 MiB); larger ones get 413."""


@dataclass(frozen=True)
class ServerSettings:
    """How the server behaves (everything ``swarmlet serve`` takes as flags).

    Attributes:
        auth: the accepted bearer tokens; ``TokenAuth(frozenset())`` turns auth off. The
            default generates a random token (read it from ``settings.auth.tokens``).
        cors_origins: origins allowed to call the API from a browser; empty: CORS is off.
        max_body_size: largest request body in bytes (413 above it).
        model_override: model name used for every agent (``--model``).
        context_variables: the context every new conversation starts with.
        run_retention: seconds a finished run's events stay available for re-attaching.
        served_model: the model id the OpenAI facade lists (default: from the entry agent).
        db_url: the session database threads are stored in (``sqlite:///path``,
            ``postgresql://...``); ``"memory:"`` (the default) keeps them in this process only.
    """

    auth: TokenAuth = field(
        default_factory=lambda: TokenAuth(frozenset({generate_token()}), generated=True)
    )
    cors_origins: tuple[str, ...] = ()
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    model_override: str | None = None
    context_variables: dict[str, Any] = field(default_factory=dict)
    run_retention: float = 600.0
    served_model: str | None = None
    db_url: str = "memory:"


@dataclass
class ServerState:
    """What the routes share: the entry agent, the client, the runs, the settings."""

    agent: Agent
    swarm: Swarm
    settings: ServerSettings
    runs: RunManager
    served_model: str
    store: SessionStore
    traces: RunTraces | None = None

    def starting_context(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """A fresh copy of the starting context variables with ``overrides`` applied."""
        return {**copy.deepcopy(self.settings.context_variables), **overrides}

    def start_run(
        self,
        messages: str | list[dict[str, Any]],
        context_variables: dict[str, Any],
        *,
        stream: bool = True,
        max_turns: int | None = None,
        thread_id: str | None = None,
        **options: Any,
    ) -> RunRecord:
        """Start a run of the entry agent in the background (``options`` go to ``events``)."""
        events = self.swarm.events(
            self.agent,
            messages,
            context_variables,
            self.settings.model_override,
            stream=stream,
            max_turns=max_turns or float("inf"),
            **options,
        )
        return self.launch(events, thread_id=thread_id)

    def launch(
        self, events: AsyncGenerator[Event, None], *, thread_id: str | None = None
    ) -> RunRecord:
        """Drive ``events`` as a server run, traced for its timeline when tracing is on."""
        if self.traces is None:
            return self.runs.start(events, thread_id=thread_id)
        events, trace_id = self.traces.wrap(events)
        record = self.runs.start(events, thread_id=thread_id)
        self.traces.forget(
            {run_id for run_id in self.traces.run_ids() if not self.runs.get(run_id)}
        )
        self.traces.bind(record.id, trace_id)
        return record


def state_of(app: FastAPI) -> ServerState:
    """The :class:`ServerState` of an app made by :func:`create_app`."""
    state: ServerState = app.state.swarmlet
    return state


def create_app(
    agent: Agent, *, swarm: Swarm | None = None, settings: ServerSettings | None = None
) -> FastAPI:
    """The agent server for ``agent`` as a FastAPI app (OpenAPI docs at ``/docs``).

    Args:
        agent: the entry agent of every conversation.
        swarm: the client runs use (default ``Swarm()``: endpoint from the environment).
        settings: see :class:`ServerSettings` (default: auth with a generated token).
    """
    settings = settings or ServerSettings()
    swarm = swarm or Swarm()
    state = ServerState(
        agent=agent,
        swarm=swarm,
        settings=settings,
        runs=RunManager(retention=settings.run_retention),
        served_model=settings.served_model or _slug(agent.name),
        store=open_store(settings.db_url),
    )
    app = FastAPI(
        title=f"swarmlet agent server: {agent.name}",
        version=swarmlet.__version__,
        description=_DESCRIPTION,
        lifespan=_lifespan(state),
        max_body_size=settings.max_body_size,
    )
    app.state.swarmlet = state
    app.state.auth = settings.auth
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    _add_routes(app)
    return app


def _lifespan(state: ServerState) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """On shutdown: cancel runs still going (their threads end interrupted), close the store."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.traces = RunTraces.install()
        try:
            yield
        finally:
            await state.runs.close()
            await state.store.close()
            if state.traces is not None:
                state.traces.close()
                state.traces = None

    return lifespan


def _add_routes(app: FastAPI) -> None:
    from swarmlet.server import api, openai_facade, threads, ui  # they import this module

    app.include_router(api.public)
    app.include_router(api.router)
    app.include_router(threads.router)
    app.include_router(openai_facade.router)
    ui.mount(app)  # last: it serves everything else under /


def _slug(name: str) -> str:
    return "swarmlet-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "agent")


_DESCRIPTION = """
Runs a swarmlet multi-agent conversation over HTTP.

Every endpoint except `/health` needs `Authorization: Bearer <token>`. Errors are
`{"error": {"type": ..., "message": ...}}`. Run events stream as server-sent events whose
`event` is the event type and whose `data` is the event as JSON; `id` is the event's index, so
a client can re-attach with `Last-Event-ID`. `/v1/chat/completions` and `/v1/models` speak the
OpenAI API, with the swarm as the model.
"""
