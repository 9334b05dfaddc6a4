"""Threads: conversations stored in the session database, and runs on them.

A thread is a :class:`swarmlet.sessions.Session` of the server's store: ``POST /threads``
creates one, ``GET /threads`` lists them, ``GET /threads/{id}`` returns its messages, active
agent, context variables and status, ``DELETE`` removes it. ``POST /threads/{id}/runs`` runs
the swarm on it with a new user message; the run goes through ``session=``, so every completed
message is stored as it completes and two runs on one thread never interleave -- across server
processes too, since the lease lives in the database. Nothing about a thread is kept in a
server process: any process on the same database serves any thread.

A run's live events are held by the process running it (:mod:`swarmlet.server.runs`);
``GET /threads/{id}`` names that run (``active_run``) when this process has it, so a client
can re-attach with ``GET /runs/{run_id}/events``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from swarmlet.server.api import AUTH
from swarmlet.server.app import ServerState, state_of
from swarmlet.server.errors import api_error
from swarmlet.server.sse import run_event_stream
from swarmlet.sessions import Session, SessionInfo, SessionState

__all__ = ["ThreadRunRequest", "router"]

router = APIRouter(prefix="/threads", tags=["threads"], dependencies=AUTH)

MAX_MESSAGE_CHARS = 100_000
"""Longest user message a run request may carry."""

_TITLE_CHARS = 60


class CreateThread(BaseModel):
    """Create a thread; the id is generated unless given."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[\w.:-]+$")


class ThreadRunRequest(BaseModel):
    """Run the swarm on a thread with one new user message."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    context_variables: dict[str, Any] = Field(
        default_factory=dict, description="Updates to the thread's stored context variables."
    )
    stream: bool = Field(default=True, description="Server-sent events; false: JSON when done.")
    max_turns: int | None = Field(default=None, ge=1, le=1000)
    on_disconnect: Literal["continue", "cancel"] = "continue"
    on_busy: Literal["wait", "reject"] = Field(
        default="wait",
        description="If another run holds the thread: wait for it (up to 60 s), or fail at once.",
    )


def _state(request: Request) -> ServerState:
    return state_of(request.app)


@router.post("", status_code=201)
async def create_thread(request: Request, body: CreateThread | None = None) -> dict[str, Any]:
    """Create an empty thread."""
    thread_id = (body.id if body else None) or f"th_{uuid.uuid4().hex}"
    if not await _state(request).store.create(thread_id):
        raise api_error(409, "conflict", f"thread {thread_id!r} already exists")
    stored = await _state(request).store.load(thread_id)
    assert stored is not None
    return _detail(_state(request), stored)


@router.get("")
async def list_threads(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Threads, most recently updated first, each titled by its first user message."""
    infos = await _state(request).store.list_sessions(limit=limit, offset=offset)
    return {"threads": [_summary(info) for info in infos]}


@router.get("/{thread_id}")
async def get_thread(thread_id: str, request: Request) -> dict[str, Any]:
    """A thread's messages, active agent, context variables, status and this process's runs."""
    return _detail(_state(request), await _load(request, thread_id))


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread_id: str, request: Request) -> Response:
    """Delete a thread and its messages (a run on it in this process is cancelled first)."""
    state = _state(request)
    for record in state.runs.for_thread(thread_id):
        if state.runs.cancel(record):
            await record.wait()
    if not await state.store.delete(thread_id):
        raise api_error(404, "not_found", f"no thread {thread_id!r}")
    return Response(status_code=204)


@router.post("/{thread_id}/runs", responses={200: {"content": {"text/event-stream": {}}}})
async def run_on_thread(thread_id: str, body: ThreadRunRequest, request: Request) -> Response:
    """Run the swarm on the thread with a new user message: SSE events, or JSON when done."""
    state = _state(request)
    stored = await _load(request, thread_id)
    if body.on_busy == "reject" and stored.status == "running":
        raise api_error(409, "thread_busy", f"another run is in progress on thread {thread_id!r}")
    # A fresh thread starts from the server's context; later runs only update the stored one.
    context = (
        body.context_variables
        if stored.messages
        else state.starting_context(body.context_variables)
    )
    session = Session(
        state.store, thread_id, on_busy="raise" if body.on_busy == "reject" else "wait",
        wait_timeout=60.0,
    )  # fmt: skip
    record = state.start_run(
        body.message,
        context,
        stream=body.stream,
        max_turns=body.max_turns,
        session=session,
        thread_id=thread_id,
    )
    if body.stream:
        cancel = body.on_disconnect == "cancel"
        return run_event_stream(state.runs, record, cancel_on_disconnect=cancel)
    await record.wait()
    return JSONResponse(record.summary(), headers={"X-Swarmlet-Run-Id": record.id})


async def _load(request: Request, thread_id: str) -> SessionState:
    stored = await _state(request).store.load(thread_id)
    if stored is None:
        raise api_error(404, "not_found", f"no thread {thread_id!r}")
    return stored


def _title(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _TITLE_CHARS else text[: _TITLE_CHARS - 1] + "…"


def _summary(info: SessionInfo) -> dict[str, Any]:
    return {
        "id": info.session_id,
        "title": _title(info.title),
        "status": info.status,
        "agent": info.agent_name,
        "message_count": info.message_count,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }


def _detail(state: ServerState, stored: SessionState) -> dict[str, Any]:
    runs = state.runs.for_thread(stored.session_id)
    active = next((r.id for r in runs if not r.done), None)
    return {
        **_summary(stored.info()),
        "agent": stored.agent_name or state.agent.name,
        "messages": stored.messages,
        "context_variables": stored.context_variables,
        "active_run": active,
        "runs": [r.summary() for r in runs],
    }
