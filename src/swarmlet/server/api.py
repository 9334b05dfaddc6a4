"""The agent server's own API: health, the agent graph, and runs (start, follow, fetch, cancel).

Runs started here are stateless: the caller sends the whole conversation. Threads (stored
conversations) add their own routes on top of the same :class:`~swarmlet.server.runs.RunManager`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

import swarmlet
from swarmlet.server.agent_graph import AgentGraph, describe_graph_async
from swarmlet.server.app import ServerState, state_of
from swarmlet.server.auth import require_token
from swarmlet.server.errors import api_error
from swarmlet.server.runs import RunRecord
from swarmlet.server.schemas import ErrorBody, RunInfo, RunRequest
from swarmlet.server.sse import run_event_stream

__all__ = ["public", "router"]

_bearer = HTTPBearer(auto_error=False, description="An API token of this server.")


def _authorized(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    # HTTPBearer only documents the scheme in OpenAPI; require_token does the checking.
    require_token(request)


AUTH = [Depends(_authorized)]
"""Dependencies every authenticated router uses."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid API token."},
    422: {"model": ErrorBody, "description": "The request body is not valid."},
}

public = APIRouter(tags=["health"])
router = APIRouter(dependencies=AUTH, responses=_ERRORS)


def _state(request: Request) -> ServerState:
    return state_of(request.app)


@public.get("/health")
async def health() -> dict[str, str]:
    """Liveness check; the only endpoint that needs no token."""
    return {"status": "ok", "version": swarmlet.__version__}


@router.get("/info", tags=["agents"])
async def info(request: Request) -> dict[str, Any]:
    """The served swarm: entry agent, OpenAI model id, version (the web UI's log-in check)."""
    state = _state(request)
    return {
        "agent": state.agent.name,
        "served_model": state.served_model,
        "version": swarmlet.__version__,
    }


@router.get("/graph", tags=["agents"])
async def graph(request: Request) -> AgentGraph:
    """The agents reachable from the entry agent, their tools, and the edges between them.

    Each agent's MCP servers are listed with their tools; a server that does not answer
    within two seconds is marked ``unavailable`` (the endpoint does not wait for it).
    """
    return await describe_graph_async(_state(request).agent)


@router.post(
    "/runs",
    tags=["runs"],
    response_model=RunInfo,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Events or result."}},
)
async def start_run(body: RunRequest, request: Request) -> Response:
    """Run the entry agent on ``messages``: stream its events (SSE), or answer when done."""
    state = _state(request)
    record = state.start_run(
        [m.model_dump(exclude_none=True) for m in body.messages],
        state.starting_context(body.context_variables),
        stream=body.stream,
        max_turns=body.max_turns,
    )
    if body.stream:
        cancel = body.on_disconnect == "cancel"
        return run_event_stream(state.runs, record, cancel_on_disconnect=cancel)
    await record.wait()
    return JSONResponse(record.summary(), headers={"X-Swarmlet-Run-Id": record.id})


@router.get("/runs/{run_id}", tags=["runs"])
async def get_run(run_id: str, request: Request) -> RunInfo:
    """A run's status and, once it ended, its response or error."""
    return RunInfo(**_record(request, run_id).summary())


@router.get(
    "/runs/{run_id}/events",
    tags=["runs"],
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def run_events(
    run_id: str,
    request: Request,
    after: Annotated[int, Query(ge=-1, description="Index of the last event seen.")] = -1,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """Re-attach to a run's events: everything after ``after`` (or ``Last-Event-ID``), live."""
    record = _record(request, run_id)
    if last_event_id is not None:
        try:
            after = max(after, int(last_event_id))
        except ValueError:
            raise api_error(
                422, "invalid_request_error", "Last-Event-ID must be an integer"
            ) from None
    return run_event_stream(_state(request).runs, record, after=after)


@router.post("/runs/{run_id}/cancel", tags=["runs"])
async def cancel_run(run_id: str, request: Request) -> RunInfo:
    """Stop a running run; its messages so far stay in its (partial) response."""
    record = _record(request, run_id)
    if _state(request).runs.cancel(record):
        await record.wait()
    return RunInfo(**record.summary())


@router.get("/runs/{run_id}/timeline", tags=["runs"])
async def run_timeline(run_id: str, request: Request) -> dict[str, Any]:
    """The run's OpenTelemetry spans (finished ones), for a trace view without Jaeger.

    Each span: ``span_id``, ``parent_id`` (sub-runs nest under the ``execute_tool`` span of
    the call that ran them), ``kind`` (``run``/``agent``/``model``/``tool``), ``name``,
    ``start`` (epoch seconds), ``duration`` (seconds), ``error``, ``attributes`` (agent,
    model, tool, token usage, error type) and ``events`` (handoffs). ``complete`` is false
    while the run is still going.
    """
    state = _state(request)
    record = _record(request, run_id)
    found = state.traces.records(run_id) if state.traces is not None else None
    if found is None:
        raise api_error(
            404,
            "not_found",
            f"no timeline for run {run_id!r}: tracing needs the OpenTelemetry SDK "
            "(pip install 'swarmlet[server]')",
        )
    trace_id, spans = found
    return {"run_id": run_id, "trace_id": trace_id, "complete": record.done, "spans": spans}


def _record(request: Request, run_id: str) -> RunRecord:
    record = _state(request).runs.get(run_id)
    if record is None:
        raise api_error(404, "not_found", f"no run {run_id!r} on this server (or it expired)")
    return record
