"""The default Chat Completions provider: aiohttp and fast JSON, no SDK in the hot path.

``Swarm()`` without a client uses it (``FastHTTPModel.from_env()``); it can also be built
explicitly::

    from swarmlet import Swarm
    from swarmlet.models.fast_http import FastHTTPModel

    client = Swarm(client=FastHTTPModel(base_url="http://127.0.0.1:8000/v1", api_key="..."))

Why it exists: profiling a three-call conversation showed about 90 % of swarmlet's client CPU
inside the ``openai`` SDK's request path (recursive TypedDict transformation of the outgoing
messages, response model construction, its client stack). This provider sends the same request
body as the SDK provider (both build it with :func:`swarmlet.models.wire.chat_params`, which
does not import ``openai``), as JSON (``orjson`` when installed), over an ``aiohttp``
connection pool (HTTP/1.1 keep-alive), and reads the reply as plain dicts. aiohttp was chosen
by measurement: of the well-kept async clients it costs the least CPU per request, close to the
standard library's ``http.client`` (docs/benchmarks.md, "transport floor"). It is imported on
first use, so ``import swarmlet`` does not pay for it.

Semantics match :class:`~swarmlet.models.openai_compat.OpenAIChatModel`: the same request
parameters, the first choice's message, streamed deltas with every tool-call fragment of a
chunk passed on (merged by index in the run loop; chunks that arrive in one network read come
as one delta), chunks without choices skipped, and failures
translated into :mod:`swarmlet.exceptions` (401/403/404 -> ``ModelConfigurationError``, other
statuses -> ``ModelError`` with ``status_code``, timeouts -> ``ModelTimeoutError``, malformed
bodies -> ``ModelResponseError``), with the same messages where they matter. Retries follow the
SDK's rule (:mod:`swarmlet.models.retry`).

Event loops: connections belong to the loop that opened them, so the provider keeps one
``aiohttp`` session per event loop. One provider may serve several loops at once (each thread's
sync ``Swarm.run`` has its own); a session is closed when its loop shuts down (``asyncio.run``
finalises it) or by :meth:`FastHTTPModel.aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from swarmlet.exceptions import ModelError, ModelResponseError, ModelTimeoutError
from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
)
from swarmlet.models.env import endpoint_from_env
from swarmlet.models.json_codec import dumps, loads
from swarmlet.models.retry import retry_delay, server_delay, should_retry
from swarmlet.models.sse import SSEParser, read_deltas
from swarmlet.models.wire import (
    StreamCheck,
    chat_params,
    error_message,
    rejects_stream_options,
    status_error,
)
from swarmlet.usage import model_usage

if TYPE_CHECKING:
    import aiohttp

__all__ = ["FastHTTPModel"]

logger = logging.getLogger("swarmlet.models")


class _LoopSession:
    """One loop's aiohttp session, and the async generator that closes it at loop shutdown.

    ``asyncio.run`` (and ``asyncio.Runner``) call ``loop.shutdown_asyncgens()`` before closing
    the loop, which finalises every async generator started on it: the ``_closer`` generator's
    ``finally`` closes the session there, on its own loop, so no connection outlives it.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.closer: AsyncGenerator[None, None] = _closer(session)


async def _closer(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await session.close()


def _close_sessions(
    sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession],
) -> None:
    """Close every session on its own loop (for loops not closed yet), from any thread."""
    for loop, entry in list(sessions.items()):
        if not loop.is_closed():
            # session.close(), not closer.aclose(): the loop's own shutdown may be closing the
            # generator at the same moment, and a second aclose() would fail. Closing a session
            # twice is harmless.
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_start_closing, loop, entry.session)
    sessions.clear()


def _start_closing(loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession) -> None:
    # The close() coroutine is made here, on the session's loop, when the loop gets to it: made
    # in the calling thread, it was never awaited (a RuntimeWarning) whenever the loop closed
    # first, which it may (its own shutdown has closed the session through _closer then).
    loop.create_task(session.close())


class FastHTTPModel(Model):
    """A :class:`~swarmlet.models.Model` for any OpenAI-compatible Chat Completions endpoint.

    Args:
        base_url: the API root, e.g. ``https://api.openai.com/v1`` or ``http://host:8000/v1``.
        api_key: sent as ``Authorization: Bearer``; ``None`` sends no such header.
        model: the model name used when a request names none.
        timeout: seconds for getting a connection (pool wait included) and for each socket
            read (``None``: wait forever).
        max_connections: connection limit per event loop (every connection may stay alive);
            further requests wait for a free connection.
        max_retries: further attempts after a retryable failure (see the module docstring).
        headers: extra headers for every request.
        http_client: a ready ``aiohttp.ClientSession`` to use instead of the provider's own
            (its settings win; ``base_url`` still names the endpoint). It is bound to the loop
            it was made on and is never closed by this provider.
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
        http_client: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.max_connections = max(1, max_connections)
        self.timeout = timeout
        self._url = self.base_url + "/chat/completions"
        self._api_key = api_key
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key is not None:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._headers.update(headers or {})
        self._given_session = http_client
        self._stream_usage = True  # False once the endpoint refused stream_options
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = (
            weakref.WeakKeyDictionary()
        )
        # A provider dropped while its loops live on (the sync API's long-lived loop) closes
        # its sessions there. The finaliser holds the sessions, so a garbage cycle through the
        # provider never reaches them unclosed.
        weakref.finalize(self, _close_sessions, self._sessions)

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

    def params(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        """The request body: :func:`swarmlet.models.wire.chat_params`, as the SDK provider's."""
        usage = stream and self._stream_usage
        return chat_params(request, default_model=self.model, stream=stream, include_usage=usage)

    def _body(self, request: ModelRequest, *, stream: bool) -> bytes:
        """:meth:`params` encoded as JSON.

        Text with lone surrogates (from ``surrogateescape`` decoding) cannot be encoded as
        UTF-8; only then is the body rebuilt with them replaced, so the common case does not
        pay for walking every message.
        """
        raw = chat_params(
            request,
            default_model=self.model,
            stream=stream,
            clean_unicode=False,
            include_usage=stream and self._stream_usage,
        )
        try:
            return dumps(raw)
        except (TypeError, ValueError):  # orjson's JSONEncodeError, json's UnicodeEncodeError
            return dumps(self.params(request, stream=stream))

    async def _session(self) -> aiohttp.ClientSession:
        """The running loop's session, created (with its loop-shutdown closer) on first use."""
        if self._given_session is not None:
            return self._given_session
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(loop)
        if entry is None or entry.session.closed:
            entry = _LoopSession(_new_session(self.max_connections, self.timeout))
            await entry.closer.__anext__()  # registers it with the loop's asyncgen hooks
            self._sessions[loop] = entry
        return entry.session

    async def aclose(self) -> None:
        """Close the connection pools this provider opened.

        The calling loop's session is closed here; sessions of other loops not closed yet are
        closed on their own loop (not awaited). A session passed in as ``http_client`` is left
        open.
        """
        mine = self._sessions.pop(asyncio.get_running_loop(), None)
        _close_sessions(self._sessions)
        if mine is not None:
            await mine.session.close()

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        """Send ``request`` and return the first choice's message."""
        payload: bytes = await self._send(self._body(request, stream=False), read=True)
        try:
            body = loads(payload)
        except ValueError as exc:
            raise ModelResponseError(f"the endpoint sent a malformed response: {exc}") from exc
        choices = body.get("choices") if isinstance(body, dict) else None
        if not choices:
            raise ModelResponseError("the endpoint returned a completion with no choices")
        choice = choices[0]
        message = _message_from(choice.get("message"), choice.get("finish_reason"))
        message.usage = model_usage(body.get("usage"))
        return message

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        """Send ``request`` with ``stream=True`` and yield its deltas.

        As :meth:`OpenAIChatModel.stream`: chunks without choices are skipped, every tool-call
        fragment of a chunk is passed on, a stream with no choice at all raises
        ``ModelResponseError``, and one ending without a ``finish_reason`` is kept (logged).
        Chunks that arrive in one network read come merged (:func:`~swarmlet.models.sse.
        read_deltas`): the same reply in fewer deltas. Leaving early (``break``,
        cancellation, an error) closes the connection.
        """
        from aiohttp import ClientError

        response = await self._open_stream(request)
        finished = False
        try:
            # One generator, on purpose: every delta passes through each generator layer.
            check, parser, done = StreamCheck(), SSEParser(), False
            async for piece in response.content.iter_any():
                events = parser.feed(piece)
                if events:
                    deltas, done = read_deltas(events)
                    for delta in deltas:
                        yield check.see(delta)
                    if done:
                        break
            if not done:
                for delta in read_deltas(parser.close())[0]:
                    yield check.see(delta)
            check.end()
            finished = True
        except (ClientError, asyncio.TimeoutError) as exc:
            raise _transport_error(exc) from exc
        finally:
            if finished:
                response.release()  # read to the end: the connection goes back to the pool
            else:
                response.close()

    async def _open_stream(self, request: ModelRequest) -> aiohttp.ClientResponse:
        """Start a stream, asking for its usage chunk unless the endpoint refused that once."""
        asked = self._stream_usage
        response: aiohttp.ClientResponse
        try:
            response = await self._send(self._body(request, stream=True), read=False)
        except ModelError as exc:
            if not asked or not rejects_stream_options(exc):
                raise
            logger.info("the endpoint refuses stream_options; streams go without usage")
            self._stream_usage = False
            response = await self._send(self._body(request, stream=True), read=False)
        return response

    async def _send(self, content: bytes, *, read: bool) -> Any:
        """POST ``content`` until it succeeds, retrying transport and retryable HTTP errors.

        ``read``: return the whole body, read inside the attempt, so a truncated body is
        retried as the SDK does. Otherwise return the response with its body unread (a
        stream's), which is never retried: its deltas may already have reached the caller.

        One coroutine with the retry loop inline, called directly by ``complete`` and
        ``stream``: a request in flight holds every frame of its await chain, and with ten
        thousand conversations waiting, each object they hold is traversed by every full
        garbage collection (docs/benchmarks.md, "Garbage collection at high concurrency").
        """
        from aiohttp import ClientError

        tries = 0
        while True:
            try:
                session = await self._session()
                response = await session.post(self._url, data=content, headers=self._headers)
                if response.status >= 400:
                    raise await _status_failure(response, self._api_key)
                if not read:
                    return response
                try:
                    return await response.read()
                except (ClientError, asyncio.TimeoutError):
                    response.close()
                    raise
            except _RetryableStatus as status:
                if tries >= self.max_retries or not status.retry:
                    raise status.error from None
                delay = status.delay
            except (ClientError, asyncio.TimeoutError) as exc:
                if tries >= self.max_retries:
                    raise _transport_error(exc) from exc
                delay = None
            await asyncio.sleep(retry_delay(tries, delay))
            tries += 1


async def _status_failure(
    response: aiohttp.ClientResponse, api_key: str | None
) -> _RetryableStatus:
    """An error status, read and released, as the exception to raise for it."""
    try:
        body = await response.read()
    finally:
        response.release()
    return _RetryableStatus(response.status, response.headers, body, response.reason, api_key)


def _new_session(max_connections: int, timeout: float | None) -> aiohttp.ClientSession:
    """A session with HTTP/1.1 keep-alive, a connection limit, timeouts and no cookie jar."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=max_connections, limit_per_host=0)
    return aiohttp.ClientSession(
        connector=connector,
        # connect covers waiting for a free pooled connection too (httpx's "pool" timeout).
        timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
        cookie_jar=aiohttp.DummyCookieJar(),  # an API client keeps no cookies
        raise_for_status=False,
    )


class _RetryableStatus(Exception):
    """An error response, with what the retry loop needs to decide (carried, not raised out)."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        reason: str | None,
        secret: str | None = None,
    ) -> None:
        super().__init__(status)
        self.retry = should_retry(status, headers)
        self.delay = server_delay(headers)
        self.error = _status_error(status, body, reason, secret)


def _status_error(
    status: int, body: bytes, reason: str | None, secret: str | None = None
) -> ModelError:
    """The swarmlet exception for an error response (the mapping both providers share)."""
    try:
        parsed = loads(body)
    except ValueError:
        parsed = None
    text = body.decode("utf-8", "replace")[:500]
    return status_error(status, error_message(parsed) or text or reason or "", secret)


def _transport_error(exc: BaseException) -> ModelError:
    """The swarmlet exception for a failed connection, worded as the SDK provider words it."""
    from aiohttp import ClientPayloadError

    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's ServerTimeoutError included
        return ModelTimeoutError("the model endpoint timed out: Request timed out.")
    if isinstance(exc, ClientPayloadError):
        return ModelError(f"the connection to the model endpoint failed: {_payload_cut(exc)}")
    return ModelError(f"the connection to the model endpoint failed: {_describe(exc)}")


def _payload_cut(exc: BaseException) -> str:
    """A body that ended early, named as HTTP names it (chunked stream or Content-Length)."""
    from aiohttp.http_exceptions import ContentLengthError, TransferEncodingError

    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, TransferEncodingError) or "transfer" in str(exc).lower():
        what = "incomplete chunked read"
    elif isinstance(cause, ContentLengthError) or "content length" in str(exc).lower():
        what = "the peer closed the connection without sending the complete message body"
    else:
        return _describe(exc)
    return f"{type(exc).__name__}: {what} ({exc})"


def _describe(exc: BaseException) -> str:
    """``Type: message`` of the first exception in ``exc``'s chain that has a message."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if str(cause):
            return f"{type(cause).__name__}: {cause}"
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


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
