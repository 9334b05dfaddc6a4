"""A scripted, OpenAI-compatible Chat Completions server on real HTTP.

``ScriptedServer`` answers ``POST /v1/chat/completions`` with replies you script in advance (or
compute from each request with a *responder*), so the OpenAI-compatible provider -- yours or
ours -- can be tested over a real socket, including the ugly cases: error statuses with
``Retry-After``, connection resets, hanging requests, truncated streams, malformed chunks.

::

    from swarmlet.testing.server import ScriptedReply, ScriptedServer

    call = ScriptedReply(tool_calls=[{"name": "f", "arguments": {"x": 1}}])
    with ScriptedServer(["Hello!", call]) as s:
        client = openai.OpenAI(base_url=s.base_url, api_key="x")
        ...

HTTP is aiohttp's low-level server (``aiohttp.web.Server``): keep-alive, ``Content-Length`` or
chunked request bodies, ``Expect: 100-continue``, ``Connection: close`` and chunked
``text/event-stream`` responses are the library's. This module only decides what to answer and
which faults to put on the wire; replies are encoded once into byte templates and reused
(:mod:`swarmlet.testing.replies`), because benchmarks run it under heavy concurrency.

Run it standalone (prints its base URL, then serves until killed)::

    python -m swarmlet.testing.server --port 8000 --latency 0.2 --stream-chunks 8 \
        --mode conversation
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiohttp import web

from swarmlet.testing.replies import (
    FAULTS,
    PREFIX,
    USAGE,
    Plan,
    Responder,
    ScriptedReply,
    coerce,
    dumps,
    fill,
    loads,
    plan,
)

__all__ = [
    "FAULTS",
    "Responder",
    "ScriptedReply",
    "ScriptedServer",
    "conversation_responder",
    "main",
]

_COMPLETIONS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODELS = frozenset({"/v1/models", "/models"})
_JSON = "application/json"
_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}
_MAX_BODY = 64 * 1024 * 1024
"""Largest request body accepted (aiohttp's default is 1 MiB; tests send 10 MB messages)."""
_SHUTDOWN_GRACE = 0.25
"""Seconds stop() lets in-flight requests finish before cancelling them (a hang never does)."""

_EXHAUSTED = ScriptedReply(
    content="ScriptedServer script exhausted: no scripted reply left for this request",
    status=500,
)


def _error_body(status: int, message: str, code: str | None = None) -> bytes:
    kind, default_code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    error = {"message": message, "type": kind, "param": None, "code": code or default_code}
    return dumps({"error": error})


def _response(
    status: int, body: bytes, content_type: str = _JSON, headers: dict[str, str] | None = None
) -> web.Response:
    """A complete response; a ``content-type`` in ``headers`` (scripted) wins."""
    merged = dict(headers or {})
    if not any(name.lower() == "content-type" for name in merged):
        merged["content-type"] = content_type
    return web.Response(status=status, body=body, headers=merged)


def _request_factory(loop: asyncio.AbstractEventLoop) -> Callable[..., web.BaseRequest]:
    """aiohttp's request construction, with the body limit raised to ``_MAX_BODY``."""

    def make(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=_MAX_BODY
        )

    return make


class _Broken(web.StreamResponse):
    """A response that ends by breaking its connection: how the wire faults end.

    aiohttp ends every response with ``write_eof()``; this one closes the connection instead
    (with a TCP RST when ``reset``) and raises ``ConnectionResetError``, which aiohttp treats as
    a client gone away: no error log, no further writes. With ``reset`` nothing well-formed is
    sent (the handler has written the broken bytes itself).
    """

    def __init__(self, *, reset: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._reset = reset
        self._wire: asyncio.Transport | None = None

    async def prepare(self, request: web.BaseRequest) -> Any:
        self._wire = request.transport
        if self._reset:
            return None
        return await super().prepare(request)

    async def write_eof(self, data: bytes = b"") -> None:
        wire = self._wire
        if wire is not None:
            if self._reset:
                sock = wire.get_extra_info("socket")
                if sock is not None:  # SO_LINGER 0: close sends a RST, as a crashed peer would
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                wire.abort()
            else:
                wire.close()
        raise ConnectionResetError("scripted fault: the connection was broken on purpose")


# ---------------------------------------------------------------------------------------------
# The server.


class ScriptedServer:
    """A real HTTP server answering chat-completions requests from a script.

    ``replies`` are consumed first-in first-out, one per chat request (a ``str`` means
    ``ScriptedReply(content=str)``); :meth:`add` appends more, even while serving. With an empty
    queue the server answers ``default_reply`` if given, else HTTP 500 "script exhausted". A
    ``responder`` replaces the queue: it is called with each parsed request body.

    Note that the ``openai`` clients retry 5xx, 429 and connection errors, and every retry
    consumes a scripted reply; pass ``max_retries=0`` when a test counts replies.

    Use :meth:`start`/:meth:`stop` (or ``with``) to serve from a background thread, or await
    :meth:`serve_forever` inside your own event loop. ``requests`` and ``request_headers`` record
    every chat request (disable with ``record=False`` for long benchmark runs).
    """

    def __init__(
        self,
        replies: Iterable[ScriptedReply | str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        stream_chunks: int = 4,
        default_reply: ScriptedReply | str | None = None,
        models: Sequence[str] = ("scripted",),
        responder: Responder | None = None,
        record: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.stream_chunks = max(1, stream_chunks)
        self.default_reply = None if default_reply is None else coerce(default_reply)
        self.models = list(models)
        self.responder = responder
        self.record = record
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._queue: collections.deque[ScriptedReply] = collections.deque(map(coerce, replies))
        self._completion_ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._model_json: dict[str, bytes] = {}
        cards = [{"id": m, "object": "model", "created": 0, "owned_by": "swarmlet"} for m in models]
        self._models_body = dumps({"object": "list", "data": cards})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # -- public API --------------------------------------------------------------------------

    def add(self, *replies: ScriptedReply | str) -> None:
        """Append replies to the script (safe to call from any thread while serving)."""
        self._queue.extend(map(coerce, replies))

    @property
    def pending(self) -> int:
        """How many scripted replies have not been served yet."""
        return len(self._queue)

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, e.g. ``http://127.0.0.1:54321/v1``."""
        if not self.port:
            raise RuntimeError("the port is chosen when the server starts; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> ScriptedServer:
        """Serve from a daemon thread with its own event loop; returns once listening."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run_in_thread, args=(ready, errors), name="ScriptedServer", daemon=True
        )
        self._thread.start()
        ready.wait()
        if errors:  # e.g. the port is taken
            self._thread.join()
            self._thread = None
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop serving, close every connection (hanging ones too) and join the thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def serve_forever(self, on_listening: Callable[[str], None] | None = None) -> None:
        """Serve in the running loop until :meth:`stop` (or cancellation).

        ``on_listening`` is called with :attr:`base_url` once the socket is bound.
        """
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        # handler_cancellation: a hanging request ends when its client disconnects.
        server = web.Server(
            self._handle,
            request_factory=_request_factory(self._loop),
            handler_cancellation=True,
            access_log=None,
        )
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        await runner.setup()
        try:
            # A large backlog: benchmarks open thousands of connections at once.
            site = web.TCPSite(runner, self.host, self.port, backlog=4096)
            await site.start()
            self.port = runner.addresses[0][1]
            if on_listening is not None:
                on_listening(self.base_url)
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    def _run_in_thread(self, ready: threading.Event, errors: list[BaseException]) -> None:
        try:
            asyncio.run(self.serve_forever(on_listening=lambda _url: ready.set()))
        except BaseException as exc:  # reported to start() if it happens before listening
            errors.append(exc)
        finally:
            ready.set()

    # -- requests ----------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path in _COMPLETIONS and request.method == "POST":
            return await self._chat(request)
        if path in _MODELS and request.method == "GET":
            return _response(200, self._models_body)
        if path in _COMPLETIONS or path in _MODELS:
            return _response(405, _error_body(405, f"{request.method} is not allowed on {path}"))
        return _response(404, _error_body(404, f"no route {request.method} {path}"))

    async def _chat(self, request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _response(400, _error_body(400, "the request body must be a JSON object"))
        if self.record:
            self.requests.append(body)
            self.request_headers.append({k.lower(): v for k, v in request.headers.items()})
        reply = self._next_reply(body)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return await self._answer(request, body, len(raw), reply)

    def _next_reply(self, body: dict[str, Any]) -> ScriptedReply:
        if self.responder is not None:
            try:
                return coerce(self.responder(body))
            except Exception as exc:  # a broken responder must not kill the connection
                return ScriptedReply(content=f"responder raised {exc!r}", status=500)
        if self._queue:
            return self._queue.popleft()
        if self.default_reply is not None:
            return self.default_reply
        return _EXHAUSTED

    async def _answer(
        self, request: web.BaseRequest, body: dict[str, Any], size: int, reply: ScriptedReply
    ) -> web.StreamResponse:
        if reply.fault == "hang":
            await asyncio.get_running_loop().create_future()  # until cancelled: see serve_forever
        if reply.fault == "reset":
            assert request.transport is not None
            request.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: applic")
            return _Broken(reset=True)
        if reply.fault == "raw":
            kind = "text/event-stream" if body.get("stream") else _JSON
            return _response(reply.status, (reply.content or "").encode(), kind, reply.headers)
        if reply.status != 200:
            message = reply.content or f"scripted HTTP {reply.status} error"
            code = "script_exhausted" if reply is _EXHAUSTED else None
            error = _error_body(reply.status, message, code)
            return _response(reply.status, error, _JSON, reply.headers)
        if body.get("stream"):
            return await self._stream(request, body, size, reply)
        return await self._completion(request, body, size, reply)

    def _holes(
        self, body: dict[str, Any], encoded: Plan, kind: bytes, size: int
    ) -> dict[int, bytes]:
        """Per-response values for a plan's holes (ids, timestamp, model, usage)."""
        model = body.get("model")
        model = model if isinstance(model, str) else self.models[0]
        model_json = self._model_json.get(model)
        if model_json is None:
            model_json = dumps(model)
            if len(self._model_json) < 1024:  # bounded: clients may send any model name
                self._model_json[model] = model_json
        prefix = b'{"id":"chatcmpl-%d","object":"%b","created":%d,"model":%b,' % (
            next(self._completion_ids),
            kind,
            int(time.time()),
            model_json,
        )
        prompt, done = max(1, size // 4), encoded.completion_tokens
        usage = b'{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}' % (
            prompt,
            done,
            prompt + done,
        )
        holes = {PREFIX: prefix, USAGE: usage}
        for i in range(encoded.generated_ids):
            holes[i] = b'"call_%d"' % next(self._call_ids)
        return holes

    async def _completion(
        self, request: web.BaseRequest, body: dict[str, Any], size: int, reply: ScriptedReply
    ) -> web.StreamResponse:
        encoded = plan(reply, False, False, 0)
        data = fill(encoded.templates[0], self._holes(body, encoded, b"chat.completion", size))
        if reply.fault == "bad_json_chunk":
            data = data[: len(data) // 2]
        if reply.fault != "cut_stream":
            return _response(200, data, _JSON, reply.headers)
        # Promise the whole body, deliver half, then close: a truncated response.
        cut = _Broken(headers={"content-type": _JSON, **reply.headers})
        cut.content_length = len(data)
        await cut.prepare(request)
        await cut.write(data[: len(data) // 2])
        return cut

    async def _stream(
        self, request: web.BaseRequest, body: dict[str, Any], size: int, reply: ScriptedReply
    ) -> web.StreamResponse:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        pieces = reply.chunks if reply.chunks is not None else self.stream_chunks
        encoded = plan(reply, True, include_usage, max(1, pieces))
        holes = self._holes(body, encoded, b"chat.completion.chunk", size)
        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        headers.update(reply.headers)
        # All events in one chunk: aiohttp sends head, chunk and terminator in one send() (a
        # write per event would cost a send() each).
        events = b"".join([fill(t, holes) for t in encoded.templates])
        if reply.fault != "cut_stream":
            whole = web.Response(body=events, headers=headers)
            whole.enable_chunked_encoding()
            return whole
        # The events so far, then the connection closes with no chunked terminator.
        cut = _Broken(headers=headers)
        cut.enable_chunked_encoding()
        await cut.prepare(request)
        await cut.write(events)
        return cut


# ---------------------------------------------------------------------------------------------
# The benchmark conversation and the command line.


def _tool_names(body: dict[str, Any]) -> list[str]:
    names = []
    for tool in body.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def _called_name(messages: Sequence[Any], tool_message: dict[str, Any]) -> str:
    """The name of the function whose result ``tool_message`` is (found via its call id)."""
    call_id = tool_message.get("tool_call_id")
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and call.get("id") == call_id:
                return str((call.get("function") or {}).get("name", ""))
    # Swarm-style history also names the tool on the tool message itself.
    return str(tool_message.get("tool_name") or tool_message.get("name") or "")


@functools.lru_cache(maxsize=64)
def _call_reply(name: str, arguments: str) -> ScriptedReply:
    # Cached so the encoded templates are reused across the benchmark's many conversations.
    return ScriptedReply(tool_calls=[{"name": name, "arguments": arguments}])


_SHIPPED = ScriptedReply(content="Your order A1 has shipped.")
_OK = ScriptedReply(content="ok")


def conversation_responder(body: dict[str, Any]) -> ScriptedReply:
    """The benchmark conversation: hand off, look the order up, answer.

    * tools include ``transfer_to_*`` and the last message is not a tool result: call it;
    * the last message is a transfer's result and tools include ``lookup_order``: call
      ``lookup_order`` with ``{"order_id": "A1"}``;
    * the last message is ``lookup_order``'s result: answer "Your order A1 has shipped.";
    * anything else: answer "ok".
    """
    messages = body.get("messages") or []
    tools = _tool_names(body)
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if last.get("role") == "tool":
        called = _called_name(messages, last)
        if called == "lookup_order":
            return _SHIPPED
        if called.startswith("transfer_to_") and "lookup_order" in tools:
            return _call_reply("lookup_order", '{"order_id":"A1"}')
        return _OK
    transfer = next((name for name in tools if name.startswith("transfer_to_")), None)
    if transfer is not None:
        return _call_reply(transfer, "{}")
    return _OK


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m swarmlet.testing.server",
        description="Serve a scripted OpenAI-compatible Chat Completions API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--stream-chunks", type=int, default=4)
    parser.add_argument(
        "--mode",
        choices=("conversation", "fixed"),
        default="conversation",
        help="conversation: the benchmark handoff conversation; fixed: always --text",
    )
    parser.add_argument("--text", default="ok", help="the answer in fixed mode")
    parser.add_argument("--model", action="append", dest="models", help="model names to list")
    return parser.parse_args(argv)


def _raise_open_file_limit() -> None:
    # Every concurrent benchmark conversation holds a socket; the default soft limit (often
    # 1024) would refuse connections long before the CPU is the bottleneck.
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An "unlimited" hard limit is still capped by the kernel, so ask for a finite number.
    target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: serve until interrupted, printing the base URL first."""
    args = _arguments(argv)
    server = ScriptedServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        stream_chunks=args.stream_chunks,
        default_reply=ScriptedReply(content=args.text),
        models=args.models or ["scripted"],
        responder=conversation_responder if args.mode == "conversation" else None,
        record=False,  # a long-running server must not keep every request
    )
    _raise_open_file_limit()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve_forever(on_listening=lambda url: print(url, flush=True)))


if __name__ == "__main__":
    main()
