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

import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from swarmlet.exceptions import SwarmletError
from swarmlet.server.api import AUTH
from swarmlet.server.app import ServerState, state_of
from swarmlet.server.errors import api_error
from swarmlet.server.sse import run_event_stream
from swarmlet.sessions import Session, SessionInfo, SessionState
from swarmlet.sessions.persist import persisted_resume
from swarmlet.state import Interruption, RunState

__all__ = ["ThreadRunRequest", "router"]

router = APIRouter(prefix="/threads", tags=["threads"], dependencies=AUTH)
logger = logging.getLogger("swarmlet.server")

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


class ApprovalRequest(BaseModel):
    """Decide the calls a paused run on the thread waits for, and resume it."""

    model_config = ConfigDict(extra="forbid")

    decisions: dict[str, Literal["approve", "reject"]] = Field(
        min_length=1, description="Call id -> approve or reject; undecided calls keep waiting."
    )
    message: str | None = Field(
        default=None, max_length=10_000, description="What the model is told about rejections."
    )
    stream: bool = True
    on_disconnect: Literal["continue", "cancel"] = "continue"


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
    if stored.run_state is not None:
        raise api_error(
            409,
            "thread_paused",
            f"thread {thread_id!r} waits for approval: approve or reject its pending calls "
            "(POST /threads/{id}/approvals) before sending a new message",
        )
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


@router.post("/{thread_id}/approvals", responses={200: {"content": {"text/event-stream": {}}}})
async def approve_calls(thread_id: str, body: ApprovalRequest, request: Request) -> Response:
    """Approve or reject the calls a paused run waits for, and resume it (SSE or JSON)."""
    state = _state(request)
    stored = await _load(request, thread_id)
    waiting = {i.call_id for i in _interruptions(state, stored)}
    unknown = sorted(set(body.decisions) - waiting)
    if unknown:
        raise api_error(
            409,
            "not_waiting",
            f"no call waits for approval on thread {thread_id!r} with id(s) {unknown}",
        )

    def decide(run: RunState) -> None:
        for call_id, decision in body.decisions.items():
            if decision == "approve":
                run.approve(call_id)
            else:
                run.reject(call_id, body.message)

    session = Session(state.store, thread_id, wait_timeout=60.0)
    events = persisted_resume(session, state.agent, decide, state.swarm.resume_stream)
    record = state.launch(events, thread_id=thread_id)
    if body.stream:
        cancel = body.on_disconnect == "cancel"
        return run_event_stream(state.runs, record, cancel_on_disconnect=cancel)
    await record.wait()
    return JSONResponse(record.summary(), headers={"X-Swarmlet-Run-Id": record.id})


def _interruptions(state: ServerState, stored: SessionState) -> list[Interruption]:
    """The calls the thread's paused run waits for (none when it is not paused)."""
    if stored.run_state is None:
        return []
    try:
        return RunState.from_json(stored.run_state, state.agent).interruptions()
    except SwarmletError:  # saved by another version or for other agents: say so, do not 500
        logger.warning("thread %r: its paused run cannot be loaded", stored.session_id)
        return []


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
        "pending_approvals": [
            {
                "call_id": item.call_id,
                "name": item.tool_name,
                "arguments": item.arguments,
                "agent": item.agent,
                "path": list(item.path),
            }
            for item in _interruptions(state, stored)
        ],
    }
