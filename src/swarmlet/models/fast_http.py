"""A lean Chat Completions provider: one pooled HTTP client and fast JSON, no SDK in the hot path.

Opt-in for throughput-bound deployments::

    from swarmlet import Swarm
    from swarmlet.models.fast_http import FastHTTPModel

    client = Swarm(client=FastHTTPModel(base_url="http://127.0.0.1:8000/v1", api_key="..."))

Why it exists: profiling a three-call conversation showed about 90 % of swarmlet's client CPU
inside the ``openai`` SDK's request path (recursive TypedDict transformation of the outgoing
messages, response model construction, its client stack). This provider sends the same request
body as the SDK provider (both build it with :func:`swarmlet.models.wire.chat_params`, which
does not import ``openai``), as JSON (``orjson`` when installed), over one ``httpx2`` (or
``httpx``) connection pool, and reads the reply as plain dicts.

Semantics match :class:`~swarmlet.models.openai_compat.OpenAIChatModel`: the same request
parameters, the first choice's message, streamed deltas with every tool-call fragment of a
chunk passed on (merged by index in the run loop), chunks without choices skipped, and failures
translated into :mod:`swarmlet.exceptions` (401/403/404 -> ``ModelConfigurationError``, other
statuses -> ``ModelError`` with ``status_code``, timeouts -> ``ModelTimeoutError``, malformed
bodies -> ``ModelResponseError``), with the same messages where they matter. Retries follow the
SDK's rule: ``max_retries`` attempts more on connection errors, timeouts, 408, 409, 429 and 5xx
(``x-should-retry`` overrides the status), waiting ``Retry-After``/``retry-after-ms`` when it is
in (0, 120] s, else exponential backoff; a ``Retry-After`` over 120 s is not retried at all.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import json
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

try:
    import httpx2 as httpx
except ImportError:  # pragma: no cover - openai < 3 ships httpx instead of httpx2
    import httpx  # type: ignore[no-redef,import-not-found,unused-ignore]

from swarmlet.exceptions import (
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
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
from swarmlet.models.wire import chat_params, checked_stream, error_message, status_error

__all__ = ["FastHTTPModel"]

_SHARD_SIZE = 16
"""Connections per pool shard. httpx2's pool rescans every connection (probing idle sockets
with a syscall) whenever a request starts or ends, so one pool of N connections costs O(N) per
request and O(N^2) per burst: 10,000 concurrent conversations did not finish in 120 s, 1,000
cost 25 ms of CPU each. Shards of 16 keep that scan short; the total stays
``max_connections``."""


_RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
_MAX_BACKOFF = 8.0
_MAX_RETRY_AFTER = 120.0
"""The SDK's cap: a longer ``Retry-After`` is not waited for; the error is raised at once."""


def _json_codec() -> tuple[Callable[[Any], bytes], Callable[[bytes | str], Any]]:
    # orjson is optional: several times faster than the standard library, never required.
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return (lambda obj: json.dumps(obj, ensure_ascii=False).encode()), json.loads
    return orjson.dumps, orjson.loads


_dumps, _loads = _json_codec()


class FastHTTPModel(Model):
    """A :class:`~swarmlet.models.Model` for any OpenAI-compatible Chat Completions endpoint.

    Args:
        base_url: the API root, e.g. ``https://api.openai.com/v1`` or ``http://host:8000/v1``.
        api_key: sent as ``Authorization: Bearer``; ``None`` sends no such header.
        model: the model name used when a request names none.
        timeout: seconds for connecting and for each read (``None``: wait forever).
        max_connections: size of the connection pool (all of it may be kept alive), split
            into shards of 16 connections, each its own client, created as load needs them
            and filled in order (sequential use stays on one connection).
        max_retries: further attempts after a retryable failure (see the module docstring).
        headers: extra headers for every request.
        http_client: a ready ``httpx2.AsyncClient`` (its settings win; ``base_url`` still
            names the endpoint). Closed by :meth:`aclose` only if this provider created it.
    """

    def __init__(
        self,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        *,
        model: str | None = None,
        timeout: float | None = 600.0,
        max_connections: int = 1000,
        max_retries: int = 2,
        headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self._url = self.base_url + "/chat/completions"
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key is not None:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._headers.update(headers or {})
        self._owns_client = http_client is None
        self._timeout = timeout
        self._shard_size = min(_SHARD_SIZE, max(1, max_connections))
        shards = 1 if http_client else -(-max(1, max_connections) // self._shard_size)
        self._shards: list[httpx.AsyncClient | None] = [http_client] + [None] * (shards - 1)
        self._in_flight = [0] * shards
        self._first_free = 0  # no shard before this one has a free connection
        self._ssl: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_env(
        cls,
        *,
        base_url: str | None = None,
        load_dotenv: bool = True,
        **options: Any,
    ) -> FastHTTPModel:
        """A provider for the endpoint the environment configures, as the SDK would read it.

        ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` (``base_url`` wins), ``OPENAI_ORG_ID`` and
        ``OPENAI_PROJECT_ID``, from the environment or a ``.env`` file; ``options`` go to the
        constructor (``max_retries``, ``timeout``, ``max_connections``...).

        Raises:
            ConfigurationError: neither a key nor a base URL is configured.
        """
        endpoint = endpoint_from_env(base_url=base_url, load_dotenv=load_dotenv)
        headers = dict(options.pop("headers", None) or {})
        if endpoint.organization:
            headers.setdefault("OpenAI-Organization", endpoint.organization)
        if endpoint.project:
            headers.setdefault("OpenAI-Project", endpoint.project)
        return cls(endpoint.base_url, endpoint.api_key, headers=headers, **options)

    def _bind_loop(self) -> None:
        """Start a fresh pool when called from a new event loop.

        Connections belong to the loop that opened them; after ``asyncio.run`` returns, that
        loop is closed and its connections are unusable. Calling from a new loop (a second
        ``asyncio.run``) would otherwise fail with "Event loop is closed". A pool passed in as
        ``http_client`` is the caller's and is left alone. Using one provider from two loops
        *at the same time* is not supported; switching loops between calls is.
        """
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        if self._owns_client:
            self._shards = [None] * len(self._shards)
            self._in_flight = [0] * len(self._shards)
            self._first_free = 0
        self._loop = loop

    def _client(self, index: int) -> httpx.AsyncClient:
        client = self._shards[index]
        if client is None:
            if self._ssl is None:  # one TLS context for every shard: creating one is costly
                self._ssl = httpx.create_ssl_context()
            limits = httpx.Limits(
                max_connections=self._shard_size, max_keepalive_connections=self._shard_size
            )
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout), limits=limits, verify=self._ssl
            )
            self._shards[index] = client
        return client

    def params(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """The request body: :func:`swarmlet.models.wire.chat_params`, as the SDK provider's."""
        return chat_params(request, default_model=self.model, stream=stream)

    async def aclose(self) -> None:
        """Close the connection pool (if this provider created it)."""
        if self._owns_client:
            for client in self._shards:
                if client is not None:
                    await client.aclose()

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Send ``request`` and return the first choice's message."""
        index = self._acquire()
        try:
            response = await self._send(index, self.params(request, stream=False))
        finally:
            self._release(index)
        try:
            body = _loads(response.content)
        except ValueError as exc:
            raise ModelResponseError(f"the endpoint sent a malformed response: {exc}") from exc
        choices = body.get("choices") if isinstance(body, dict) else None
        if not choices:
            raise ModelResponseError("the endpoint returned a completion with no choices")
        choice = choices[0]
        return _message_from(choice.get("message"), choice.get("finish_reason"))

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Send ``request`` with ``stream=True`` and yield its deltas.

        As :meth:`OpenAIChatModel.stream`: chunks without choices are skipped, every tool-call
        fragment of a chunk is passed on, a stream with no choice at all raises
        ``ModelResponseError``, and one ending without a ``finish_reason`` is kept (logged).
        """
        index = self._acquire()
        try:
            response = await self._send(index, self.params(request, stream=True), stream=True)
            try:
                async for delta in _deltas(response):
                    yield delta
            finally:
                await response.aclose()
        finally:
            self._release(index)

    def _acquire(self) -> int:
        """Take a slot on the first shard with a free connection (the least busy if none)."""
        self._bind_loop()
        in_flight, size = self._in_flight, self._shard_size
        index = self._first_free
        while index < len(in_flight) and in_flight[index] >= size:
            index += 1
        if index == len(in_flight):  # every shard is full: queue on the least busy
            index = min(range(len(in_flight)), key=in_flight.__getitem__)
        else:
            self._first_free = index
        in_flight[index] += 1
        return index

    def _release(self, index: int) -> None:
        # max(): a pool restarted for a new loop (see _bind_loop) has fresh counters.
        self._in_flight[index] = max(0, self._in_flight[index] - 1)
        if index < self._first_free:
            self._first_free = index

    async def _send(
        self, index: int, params: dict[str, Any], *, stream: bool = False
    ) -> httpx.Response:
        """POST ``params`` on shard ``index``; retry what is retryable; raise swarmlet errors."""
        http = self._client(index)
        content = _dumps(params)
        attempt = 0
        while True:
            delay = None
            try:
                request = http.build_request(
                    "POST", self._url, content=content, headers=self._headers
                )
                response = await http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise _transport_error(exc) from exc
            else:
                if response.status_code < 400:
                    return response
                await response.aread()
                if attempt >= self.max_retries or not _should_retry(response):
                    raise _status_error(response)
                delay = _server_delay(response.headers)
            await asyncio.sleep(_retry_delay(attempt, delay))
            attempt += 1


def _transport_error(exc: httpx.HTTPError) -> ModelError:
    """The swarmlet exception for a failed connection, worded as the SDK provider words it."""
    if isinstance(exc, httpx.TimeoutException):
        # The cause chain only names httpx's internal cancel scope; the SDK says just this.
        return ModelTimeoutError("the model endpoint timed out: Request timed out.")
    return ModelError(f"the connection to the model endpoint failed: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    """``Type: message`` of the first exception in ``exc``'s chain that has a message.

    httpx's own exceptions are often empty (``ReadError('')``); the ``OSError`` under them
    says what happened (``Connection reset by peer``).
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if str(cause):
            return f"{type(cause).__name__}: {cause}"
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


def _should_retry(response: httpx.Response) -> bool:
    """The SDK's rule: not past the Retry-After cap, then ``x-should-retry``, then the status."""
    delay = _server_delay(response.headers)
    if delay is not None and math.isfinite(delay) and delay > _MAX_RETRY_AFTER:
        return False  # the server asks for more patience than a request should have
    hint = response.headers.get("x-should-retry")
    if hint in ("true", "false"):
        return hint == "true"
    return response.status_code in _RETRY_STATUSES or response.status_code >= 500


def _server_delay(headers: httpx.Headers) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``retry-after``: seconds or date)."""
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) / divisor
            except ValueError:
                continue
    try:
        date = email.utils.parsedate_tz(headers.get("retry-after"))
        return None if date is None else email.utils.mktime_tz(date) - time.time()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _retry_delay(attempt: int, server_delay: float | None) -> float:
    if server_delay is not None and 0 < server_delay <= _MAX_RETRY_AFTER:
        return server_delay  # 0, negative (a past date) or NaN: back off instead
    backoff: float = min(0.5 * 2**attempt, _MAX_BACKOFF)
    return backoff * (1 - 0.25 * random.random())


def _status_error(response: httpx.Response) -> ModelError:
    """The swarmlet exception for an error response (the mapping both providers share)."""
    try:
        body = _loads(response.content)
    except ValueError:
        body = None
    detail = error_message(body) or response.text[:500] or response.reason_phrase
    return status_error(response.status_code, detail)


async def _sse_data(response: httpx.Response) -> AsyncIterator[bytes]:
    """The ``data`` payload of each server-sent event (multi-line data joined with newlines)."""
    buffer = b""
    data: list[bytes] = []
    async for piece in response.aiter_bytes():
        buffer += piece
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                if data:
                    yield b"\n".join(data)
                    data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            # other fields (event:, id:, retry:) and comments carry nothing we use
    if buffer.strip().startswith(b"data:"):
        value = buffer.strip()[5:]
        data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        yield b"\n".join(data)


async def _deltas(response: httpx.Response) -> AsyncIterator[MessageDelta]:
    """The deltas of a streamed response, failures translated as the SDK provider does."""
    try:
        async for delta in checked_stream(_choice_deltas(response)):
            yield delta
    except httpx.HTTPError as exc:
        raise _transport_error(exc) from exc


async def _choice_deltas(response: httpx.Response) -> AsyncIterator[MessageDelta]:
    """One delta per server-sent chunk that has a choice, up to ``[DONE]``."""
    async for data in _sse_data(response):
        if data == b"[DONE]":
            break
        choices = _chunk_choices(data)
        if choices:
            yield _delta_from(choices[0])


def _chunk_choices(data: bytes) -> list[Any]:
    try:
        chunk = _loads(data)
    except ValueError as exc:
        raise ModelResponseError(f"the endpoint sent a malformed response: {exc}") from exc
    if not isinstance(chunk, dict):
        raise ModelResponseError(
            f"the endpoint sent a malformed response: a stream chunk that is not an object: "
            f"{chunk!r}"
        )
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ModelError(f"the model endpoint failed mid-stream: {message}")
    choices = chunk.get("choices")
    return choices if isinstance(choices, list) else []


def _message_from(message: Any, finish_reason: str | None) -> AssistantMessage:
    if not isinstance(message, dict):
        raise ModelResponseError("the endpoint returned a choice without a message")
    calls = [
        ToolCall(
            id=call.get("id") or "",
            name=call["function"].get("name") or "",
            arguments=call["function"].get("arguments") or "",
        )
        for call in message.get("tool_calls") or ()
        if isinstance(call, dict) and isinstance(call.get("function"), dict)
    ]
    return AssistantMessage(
        content=message.get("content"),
        tool_calls=calls,
        refusal=message.get("refusal"),
        finish_reason=finish_reason,
    )


def _delta_from(choice: dict[str, Any]) -> MessageDelta:
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return MessageDelta(finish_reason=choice.get("finish_reason"))
    fragments = []
    for call in delta.get("tool_calls") or ():
        function = call.get("function") or {}
        fragments.append(
            ToolCallFragment(
                index=call.get("index") or 0,
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments"),
            )
        )
    return MessageDelta(
        role=delta.get("role"),
        content=delta.get("content"),
        tool_calls=fragments,
        refusal=delta.get("refusal"),
        finish_reason=choice.get("finish_reason"),
    )
