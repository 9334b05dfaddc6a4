"""An OpenAI-compatible facade: the swarm answers ``POST /v1/chat/completions`` as a model.

Any OpenAI SDK or chat front end pointed at ``http://HOST:PORT/v1`` (with a server token as its
API key) talks to the entry agent: the request's messages are the conversation, the run's final
answer is the completion. Streamed requests get the top-level run's text as
``chat.completion.chunk`` deltas (sub-runs' text is not part of the answer). ``GET /v1/models``
lists the one served model id; asking for another is a 404 ``model_not_found``, as OpenAI does.

Not applied: sampling parameters (``temperature``...), ``n > 1``, ``tools``/``tool_choice``
(the agents bring their own tools) and ``response_format``; they are accepted and ignored.
Usage is the whole run's (every model call, sub-runs included). The ``swarmlet`` key of a
completion carries the run id and the agent that answered. An ``X-Swarmlet-Thread-Id`` header
keeps the conversation in that thread (created on first use): then only the request's last
message is new input.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse

from swarmlet.server.api import AUTH
from swarmlet.server.app import ServerState, state_of
from swarmlet.server.errors import api_error
from swarmlet.server.runs import RunRecord
from swarmlet.server.schemas import ChatCompletionRequest
from swarmlet.sessions import Session

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=AUTH)

_NO_RETRY = {"x-should-retry": "false"}
"""The model endpoint behind the swarm failed: retrying the whole run would not help."""


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    """The served model (the swarm's entry agent), in OpenAI's list shape."""
    return {"object": "list", "data": [_model_card(state_of(request.app))]}


@router.get("/models/{model_id}")
async def get_model(model_id: str, request: Request) -> dict[str, Any]:
    """One model card, or 404 for an id this server does not serve."""
    state = state_of(request.app)
    _check_model(state, model_id)
    return _model_card(state)


THREAD_HEADER = "X-Swarmlet-Thread-Id"
"""With this header, the conversation is kept in that thread (created on first use)."""


@router.post("/chat/completions", responses={200: {"content": {"text/event-stream": {}}}})
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    thread_id: Annotated[str | None, Header(alias=THREAD_HEADER, max_length=200)] = None,
) -> Response:
    """Run the swarm on the conversation; answer as a chat completion (or a chunk stream).

    With an ``X-Swarmlet-Thread-Id`` header only the last message (a user message) is new:
    the thread holds the conversation before it.
    """
    state = state_of(request.app)
    _check_model(state, body.model)
    if thread_id is None:
        messages = [m.model_dump(exclude_none=True) for m in body.messages]
        record = state.start_run(messages, state.starting_context({}), stream=body.stream)
    else:
        record = await _run_on_thread(state, thread_id, body)
    if body.stream:
        usage = bool((body.stream_options or {}).get("include_usage"))
        return EventSourceResponse(
            _chunks(record, body.model, usage), ping=15, headers={"X-Swarmlet-Run-Id": record.id}
        )
    await record.wait()
    if record.status != "completed":
        return _run_error(record)
    return JSONResponse(_completion(record, body.model), headers={"X-Swarmlet-Run-Id": record.id})


async def _run_on_thread(
    state: ServerState, thread_id: str, body: ChatCompletionRequest
) -> RunRecord:
    last = body.messages[-1]
    if last.role != "user" or not isinstance(last.content, str):
        raise api_error(
            422,
            "invalid_request_error",
            f"with {THREAD_HEADER} the last message must be a user message with text content",
        )
    await state.store.create(thread_id)
    stored = await state.store.load(thread_id)
    context = {} if stored is not None and stored.messages else state.starting_context({})
    session = Session(state.store, thread_id, wait_timeout=60.0)
    return state.start_run(
        last.content, context, stream=body.stream, session=session, thread_id=thread_id
    )


def _model_card(state: ServerState) -> dict[str, Any]:
    return {"id": state.served_model, "object": "model", "created": 0, "owned_by": "swarmlet"}


def _check_model(state: ServerState, model: str) -> None:
    if model != state.served_model:
        raise api_error(
            404,
            "invalid_request_error",
            f"The model {model!r} does not exist; this server serves {state.served_model!r}.",
            code="model_not_found",
        )


def _final_text(record: RunRecord) -> tuple[str, str | None]:
    """The last assistant text of the run, and the agent that said it."""
    messages = (record.response or {}).get("messages", [])
    for message in reversed(messages):
        if message.get("role") == "assistant" and message.get("content"):
            return str(message["content"]), message.get("sender")
    return "", (record.response or {}).get("agent")


def _completion(record: RunRecord, model: str) -> dict[str, Any]:
    text, agent = _final_text(record)
    return {
        "id": f"chatcmpl-{record.id}",
        "object": "chat.completion",
        "created": int(record.created_at),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(record),
        "swarmlet": {"run_id": record.id, "agent": agent},
    }


def _usage(record: RunRecord) -> dict[str, int]:
    """The whole run's token usage (every model call, sub-runs included) in OpenAI's names."""
    usage = (record.response or {}).get("usage") or {}
    return {
        "prompt_tokens": int(usage.get("input_tokens", 0)),
        "completion_tokens": int(usage.get("output_tokens", 0)),
        "total_tokens": int(usage.get("total_tokens", 0)),
    }


def _run_error(record: RunRecord) -> JSONResponse:
    error = record.error or {"type": "RunCancelled", "message": "the run was cancelled"}
    body = {"type": "model_error", "message": f"{error['type']}: {error['message']}"}
    return JSONResponse({"error": body}, status_code=502, headers=_NO_RETRY)


async def _chunks(record: RunRecord, model: str, usage: bool) -> AsyncIterator[dict[str, str]]:
    """The run's top-level text as OpenAI chunks, then ``[DONE]`` (or an error chunk)."""
    base = {
        "id": f"chatcmpl-{record.id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, str]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {"data": json.dumps({**base, "choices": [choice]}, ensure_ascii=False)}

    yield chunk({"role": "assistant", "content": ""})
    async for _, kind, text in record.follow():
        if kind == "text_delta":
            event = json.loads(text)
            if not event.get("path"):
                yield chunk({"content": event["text"]})
        elif kind == "run_ended" and json.loads(text)["status"] != "completed":
            failure = json.loads(text)["error"] or {"type": "RunCancelled", "message": "cancelled"}
            error = {"type": "model_error", "message": f"{failure['type']}: {failure['message']}"}
            yield {"data": json.dumps({"error": error})}
            return
    yield chunk({}, "stop")
    if usage:
        yield {"data": json.dumps({**base, "choices": [], "usage": _usage(record)})}
    yield {"data": "[DONE]"}
