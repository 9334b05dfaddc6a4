"""The provider for any OpenAI-compatible Chat Completions endpoint, on the official ``openai`` SDK.

Works with ``openai.AsyncOpenAI`` (awaited directly), ``openai.OpenAI`` and any object exposing
``.chat.completions.create(**kwargs)`` (called in a worker thread so the event loop never
blocks; this is what Swarm's ``MagicMock`` test clients look like). Retries and backoff are the
client's own (``max_retries``, honouring ``Retry-After``); what still fails afterwards is
translated into :mod:`swarmlet.exceptions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai

from swarmlet.exceptions import (
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    SwarmletError,
)
from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
    ToolCallFragment,
)
from swarmlet.models.env import endpoint_from_env
from swarmlet.models.wire import (
    StreamCheck,
    chat_params,
    error_message,
    rejects_stream_options,
    status_error,
)
from swarmlet.usage import model_usage

__all__ = ["OpenAIChatModel", "client_from_env"]

logger = logging.getLogger("swarmlet.models")


def client_from_env(
    *,
    base_url: str | None = None,
    max_retries: int = 2,
    timeout: float | None = 600.0,
    load_dotenv: bool = True,
) -> openai.AsyncOpenAI:
    """Build an ``AsyncOpenAI`` client from the environment (see :func:`endpoint_from_env`)."""
    endpoint = endpoint_from_env(base_url=base_url, load_dotenv=load_dotenv)
    return openai.AsyncOpenAI(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        organization=endpoint.organization,
        project=endpoint.project,
        max_retries=max_retries,
        timeout=timeout,
    )


class OpenAIChatModel(Model):
    """A :class:`~swarmlet.models.Model` speaking Chat Completions through an SDK-style client.

    Args:
        client: an ``openai.AsyncOpenAI``/``openai.OpenAI`` client or any object with
            ``.chat.completions.create``. ``None`` builds one with :func:`client_from_env`.
        model: the model name used when a request names none.
    """

    def __init__(self, client: Any = None, *, model: str | None = None) -> None:
        self.client = client if client is not None else client_from_env()
        self.model = model
        self._create = self.client.chat.completions.create
        key = getattr(self.client, "api_key", None)
        self._secret = key if isinstance(key, str) else None  # cut out of error messages
        self._is_async = inspect.iscoroutinefunction(self._create)
        self._stream_usage = True  # False once the endpoint refused stream_options

    def params(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """The keyword arguments sent to ``chat.completions.create`` for ``request``.

        The rule is :func:`swarmlet.models.wire.chat_params`, shared with ``FastHTTPModel``.
        """
        usage = stream and self._stream_usage
        return chat_params(request, default_model=self.model, stream=stream, include_usage=usage)

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Send ``request`` and return the first choice's message."""
        completion = await self._call(self.params(request, stream=False))
        choices = _field(completion, "choices")
        if not choices:
            raise ModelResponseError("the endpoint returned a completion with no choices")
        choice = choices[0]
        message = _message_from(_field(choice, "message"), _field(choice, "finish_reason"))
        message.usage = model_usage(_field(completion, "usage"))
        return message

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Send ``request`` with ``stream=True`` and yield its deltas.

        Chunks without choices (usage or content-filter chunks) are skipped; every tool-call
        delta of a chunk is passed on, not only the first. A stream with no choice at all (an
        empty stream, or a body that is not server-sent events) raises ``ModelResponseError``,
        as a complete response without choices does. A stream that ends without a
        ``finish_reason`` is accepted as it is (logged): what arrived is the reply.
        """
        chunks = await self._open_stream(request)
        try:
            check = StreamCheck()
            async for delta in _choice_deltas(chunks):
                yield check.see(delta)
            check.end()
        except SwarmletError:
            raise
        except Exception as exc:
            raise _translate(exc, self._secret) from exc
        finally:
            # Early exit or failure: release the HTTP connection instead of leaking it.
            await _close(chunks)

    async def _open_stream(self, request: ModelRequest) -> Any:
        """Start a stream, asking for its usage chunk unless the endpoint refused that once."""
        params = self.params(request, stream=True)
        try:
            return await self._call(params)
        except ModelError as exc:
            if "stream_options" not in params or not rejects_stream_options(exc):
                raise
            logger.info("the endpoint refuses stream_options; streams go without usage")
            self._stream_usage = False
            return await self._call(self.params(request, stream=True))

    async def _call(self, params: dict[str, Any]) -> Any:
        try:
            if self._is_async:
                return await self._create(**params)
            create: Any = self._create
            result = await asyncio.to_thread(create, **params)
            return await result if inspect.isawaitable(result) else result
        except SwarmletError:
            raise
        except Exception as exc:
            raise _translate(exc, self._secret) from exc


def _field(obj: Any, name: str) -> Any:
    """Read ``name`` from an SDK object or a plain dict (duck-typed clients return either)."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _message_from(message: Any, finish_reason: str | None) -> AssistantMessage:
    if message is None:
        raise ModelResponseError("the endpoint returned a choice without a message")
    calls = [
        ToolCall(
            id=_field(call, "id") or "",
            name=_field(_field(call, "function"), "name") or "",
            arguments=_field(_field(call, "function"), "arguments") or "",
        )
        for call in _field(message, "tool_calls") or []
        if _field(call, "function") is not None
    ]
    return AssistantMessage(
        content=_field(message, "content"),
        tool_calls=calls,
        refusal=_field(message, "refusal"),
        finish_reason=finish_reason,
    )


def _delta_from(choice: Any) -> MessageDelta:
    delta = _field(choice, "delta")
    fragments = []
    for call in (_field(delta, "tool_calls") if delta is not None else None) or []:
        function = _field(call, "function")
        fragments.append(
            ToolCallFragment(
                index=_field(call, "index") or 0,
                id=_field(call, "id"),
                name=_field(function, "name") if function is not None else None,
                arguments=_field(function, "arguments") if function is not None else None,
            )
        )
    if delta is None:
        return MessageDelta(finish_reason=_field(choice, "finish_reason"))
    return MessageDelta(
        role=_field(delta, "role"),
        content=_field(delta, "content"),
        tool_calls=fragments,
        refusal=_field(delta, "refusal"),
        finish_reason=_field(choice, "finish_reason"),
    )


async def _choice_deltas(chunks: Any) -> AsyncIterator[MessageDelta]:
    """One delta per SDK chunk with a choice or a usage report (content-filter chunks: none)."""
    async for chunk in _aiterate(chunks):
        choices = _field(chunk, "choices")
        usage = model_usage(_field(chunk, "usage"))
        if choices:
            delta = _delta_from(choices[0])
            delta.usage = usage
            yield delta
        elif usage is not None:
            yield MessageDelta(usage=usage)


async def _aiterate(chunks: Any) -> AsyncIterator[Any]:
    """Iterate an async stream directly, or a sync one chunk by chunk in a worker thread."""
    if hasattr(chunks, "__aiter__"):
        async for chunk in chunks:
            yield chunk
        return
    iterator: Iterator[Any] = iter(chunks)
    done = object()
    while (chunk := await asyncio.to_thread(next, iterator, done)) is not done:
        yield chunk


async def _close(chunks: Any) -> None:
    """Close an SDK stream (async ``AsyncStream.close`` or sync ``Stream.close``), if it can be."""
    close = getattr(chunks, "close", None)
    if close is None:
        return
    with contextlib.suppress(Exception):  # closing a broken stream may fail again; ignore
        result = close()
        if inspect.isawaitable(result):
            await result


def _translate(exc: Exception, secret: str | None = None) -> ModelError:
    """Turn an SDK/transport exception into the matching swarmlet exception."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelTimeoutError(f"the model endpoint timed out: {exc}")
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, secret)
    if isinstance(exc, openai.APIConnectionError):
        # Refused, reset and cut-off connections all arrive as "Connection error."; the cause
        # chain says which one it was.
        return ModelError(f"the connection to the model endpoint failed: {exc}{_cause(exc)}")
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        return ModelResponseError(f"the endpoint sent a malformed response: {exc}")
    return ModelError(f"the model endpoint failed: {type(exc).__name__}: {exc}")


def _cause(exc: BaseException) -> str:
    """`` (Type: message)`` for the first cause in ``exc``'s chain that has a message."""
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if str(cause):
            return f" ({type(cause).__name__}: {cause})"
        cause = cause.__cause__ or cause.__context__
    return ""


def _status_error(exc: openai.APIStatusError, secret: str | None) -> ModelError:
    # The SDK has already unwrapped {"error": {...}} into exc.body.
    return status_error(exc.status_code, error_message(exc.body) or str(exc.message), secret)
