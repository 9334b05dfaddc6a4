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

The server is plain asyncio and the standard library (``orjson`` is used when importable). It
speaks just enough HTTP/1.1 for API clients: keep-alive, ``Content-Length`` or chunked request
bodies, ``Connection: close``, and chunked ``text/event-stream`` responses. Replies are encoded
once into byte templates and reused, because benchmarks run it under heavy concurrency.

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
import importlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

__all__ = [
    "FAULTS",
    "Responder",
    "ScriptedReply",
    "ScriptedServer",
    "conversation_responder",
    "main",
]

#: Every value ``ScriptedReply.fault`` accepts (besides ``None``).
FAULTS = frozenset(
    {
        "reset",
        "hang",
        "cut_stream",
        "no_finish_reason",
        "bad_json_chunk",
        "empty_choices",
        "null_content",
        "raw",
    }
)


def _stdlib_codec() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    return (lambda obj: encoder.encode(obj).encode()), json.loads


def _codec() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    # orjson is optional: a real speed-up for benchmarks, never a requirement.
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return _stdlib_codec()
    return orjson.dumps, orjson.loads


_dumps, _loads = _codec()


@dataclass
class ScriptedReply:
    """One scripted answer to one chat-completions request.

    ``tool_calls`` items are ``{"name": ..., "arguments": <str or dict>, "id": optional}``: a dict
    is JSON-encoded, a str is sent verbatim (so broken arguments can be scripted), and a missing
    id becomes ``call_<n>`` (unique per server). ``status`` other than 200 (with no ``fault``)
    sends an OpenAI-style error body; ``headers`` are added to any response. ``chunks``
    overrides the server's ``stream_chunks`` for this reply; ``tool_calls_per_chunk`` puts the
    fragments of all tool calls for one step into a single stream chunk.

    ``fault`` puts a failure on the wire:

    * ``"reset"`` -- send part of the response head, then close with a TCP RST;
    * ``"hang"`` -- never answer, until the client disconnects or the server stops;
    * ``"cut_stream"`` -- stream some chunks, then close without ``[DONE]`` or the final
      chunked terminator (non-streamed: promise a ``Content-Length``, send half, close);
    * ``"no_finish_reason"`` -- no chunk (or choice) carries a ``finish_reason``;
    * ``"bad_json_chunk"`` -- one ``data:`` line is not JSON (non-streamed: a truncated body);
    * ``"empty_choices"`` -- ``choices: []`` in the body, or in every streamed chunk;
    * ``"null_content"`` -- content ``null`` and no tool calls, whatever was scripted;
    * ``"raw"`` -- ``content`` sent verbatim as the whole body, with ``status`` (default 200).

    A reply is encoded on first use and the encoding cached on it, so treat it as immutable
    once it has been served.
    """

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    fault: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: int | None = None
    tool_calls_per_chunk: bool = False
    _plans: dict[tuple[bool, bool, int], _Plan] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {sorted(FAULTS)}")
        for call in self.tool_calls:
            if "name" not in call:
                raise ValueError(f"tool call {call!r} has no 'name'")


#: Decides the reply from the parsed request body (used instead of the FIFO queue).
Responder = Callable[[dict[str, Any]], "ScriptedReply | str"]


def _coerce(reply: ScriptedReply | str) -> ScriptedReply:
    return ScriptedReply(content=reply) if isinstance(reply, str) else reply


# ---------------------------------------------------------------------------------------------
# Encoding replies into byte templates.
#
# A template is a tuple of parts: bytes, or an int naming a hole filled per response. Holes keep
# per-response values (completion id, timestamp, model, usage, generated tool-call ids) out of the
# cached encoding, so serving a reused reply is a join, not a JSON dump.

_Part = bytes | int
_Template = tuple[_Part, ...]
_PREFIX = -1  # '{"id":...,"object":...,"created":...,"model":...,'
_USAGE = -2  # '{"prompt_tokens":...,...}'


@dataclass(frozen=True)
class _Plan:
    """The encoded form of one reply for one kind of request."""

    templates: tuple[_Template, ...]  # stream: one per SSE event; otherwise one: the body
    generated_ids: int  # holes 0..n-1 take fresh call_<n> ids
    completion_tokens: int


@dataclass(frozen=True)
class _Call:
    name: str
    arguments: str
    id: str | None


def _calls(reply: ScriptedReply) -> list[_Call]:
    calls = []
    for raw in reply.tool_calls:
        args = raw.get("arguments", "{}")
        text = args if isinstance(args, str) else _dumps(args).decode()
        calls.append(_Call(str(raw["name"]), text, raw.get("id")))
    return calls


def _split(text: str, pieces: int) -> list[str]:
    """Cut ``text`` into at most ``pieces`` non-empty, nearly equal parts."""
    if not text:
        return []
    size = -(-len(text) // max(1, min(pieces, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _merge(parts: Iterable[_Part]) -> _Template:
    """Join adjacent byte parts so filling a template touches as few items as possible."""
    out: list[_Part] = []
    for part in parts:
        if isinstance(part, bytes) and out and isinstance(out[-1], bytes):
            out[-1] = out[-1] + part
        else:
            out.append(part)
    return tuple(out)


def _id_parts(calls: Sequence[_Call]) -> list[_Part]:
    """One part per call: the explicit id encoded, or the hole for a generated one."""
    parts: list[_Part] = []
    hole = 0
    for call in calls:
        if call.id is not None:
            parts.append(_dumps(call.id))
        else:
            parts.append(hole)
            hole += 1
    return parts


def _tokens(reply: ScriptedReply, calls: Sequence[_Call]) -> int:
    # A rough 4-characters-per-token estimate: clients only need plausible, stable numbers.
    chars = len(reply.content or "") + sum(len(c.name) + len(c.arguments) for c in calls)
    return max(1, chars // 4)


def _finish(calls: Sequence[_Call]) -> bytes:
    return b'"tool_calls"' if calls else b'"stop"'


def _message_parts(reply: ScriptedReply, calls: Sequence[_Call], ids: list[_Part]) -> list[_Part]:
    content = None if reply.fault == "null_content" else reply.content
    parts: list[_Part] = [b'{"role":"assistant","content":', _dumps(content), b',"tool_calls":']
    if not calls or reply.fault == "null_content":
        return [*parts, b"null}"]
    for i, (call, id_part) in enumerate(zip(calls, ids, strict=True)):
        parts += [b"[" if i == 0 else b",", b'{"id":', id_part, b',"type":"function","function":']
        parts.append(_dumps({"name": call.name, "arguments": call.arguments}) + b"}")
    return [*parts, b"]}"]


def _body_plan(reply: ScriptedReply) -> _Plan:
    """The complete (non-streamed) ``chat.completion`` body."""
    calls = _calls(reply)
    ids = _id_parts(calls)
    parts: list[_Part] = [_PREFIX, b'"choices":[']
    if reply.fault != "empty_choices":
        finish = b"null" if reply.fault == "no_finish_reason" else _finish(calls)
        if reply.fault == "null_content":
            finish = b'"stop"'
        parts += [b'{"index":0,"message":', *_message_parts(reply, calls, ids)]
        parts += [b',"logprobs":null,"finish_reason":', finish, b"}"]
    parts += [b'],"usage":', _USAGE, b"}"]
    generated = sum(isinstance(p, int) and p >= 0 for p in ids)
    return _Plan((_merge(parts),), generated, _tokens(reply, calls))


def _event(delta: Iterable[_Part], finish: bytes = b"null") -> _Template:
    """One SSE event carrying a single-choice ``chat.completion.chunk``."""
    head: list[_Part] = [b"data: ", _PREFIX, b'"choices":[{"index":0,"delta":']
    tail = b',"logprobs":null,"finish_reason":' + finish + b"}]}\n\n"
    return _merge([*head, *delta, tail])


def _call_start(index: int, call: _Call, id_part: _Part) -> list[_Part]:
    """The first fragment of a streamed tool call: id, type and name, empty arguments."""
    fn = b',"type":"function","function":{"name":' + _dumps(call.name) + b',"arguments":""}}'
    return [b'{"index":%d,"id":' % index, id_part, fn]


def _call_piece(index: int, piece: str) -> bytes:
    return b'{"index":%d,"function":{"arguments":%b}}' % (index, _dumps(piece))


def _tool_events(reply: ScriptedReply, calls: Sequence[_Call], pieces: int) -> list[_Template]:
    """Stream events for the tool calls: per call, or all calls of a step in one chunk."""
    ids = _id_parts(calls)
    # steps[k] holds the k-th fragment of every call that has one; step 0 is the call's start.
    steps: list[list[list[_Part]]] = []
    for i, call in enumerate(calls):
        fragments = [_call_start(i, call, ids[i])]
        fragments += [[_call_piece(i, p)] for p in _split(call.arguments, pieces)]
        if not reply.tool_calls_per_chunk:
            steps += [[f] for f in fragments]
            continue
        for k, fragment in enumerate(fragments):
            if k == len(steps):
                steps.append([])
            steps[k].append(fragment)
    events = []
    for step in steps:
        joined = list(itertools.chain.from_iterable(_interleave(step)))
        events.append(_event([b'{"tool_calls":[', *joined, b"]}"]))
    return events


def _interleave(fragments: list[list[_Part]]) -> Iterable[list[_Part]]:
    for i, fragment in enumerate(fragments):
        yield fragment if i == 0 else [b",", *fragment]


def _stream_events(reply: ScriptedReply, calls: Sequence[_Call], pieces: int) -> list[_Template]:
    """The normal event sequence: role, content pieces, tool-call fragments, finish."""
    content = None if reply.fault == "null_content" else reply.content
    first = b'{"role":"assistant","content":' + (b'""' if content else b"null") + b"}"
    events = [_event([first])]
    events += [_event([b'{"content":%b}' % _dumps(p)]) for p in _split(content or "", pieces)]
    if reply.fault != "null_content":
        events += _tool_events(reply, calls, pieces)
    if reply.fault != "no_finish_reason":
        finish = b'"stop"' if reply.fault == "null_content" else _finish(calls)
        events.append(_event([b"{}"], finish))
    return events


_EMPTY_CHOICES = _merge([b"data: ", _PREFIX, b'"choices":[]}\n\n'])
_USAGE_EVENT = _merge([b"data: ", _PREFIX, b'"choices":[],"usage":', _USAGE, b"}\n\n"])
_BAD_EVENT: _Template = (b'data: {"id":"chatcmpl-broken","choices":[{"delta": nope}\n\n',)
_DONE_EVENT: _Template = (b"data: [DONE]\n\n",)


def _stream_plan(reply: ScriptedReply, include_usage: bool, pieces: int) -> _Plan:
    """The SSE events of a streamed reply, faults applied, ``[DONE]`` last unless cut."""
    calls = _calls(reply)
    if reply.fault == "empty_choices":
        events = [_EMPTY_CHOICES, _EMPTY_CHOICES]
    else:
        events = _stream_events(reply, calls, pieces)
    if reply.fault == "bad_json_chunk":
        events.insert(max(1, len(events) // 2), _BAD_EVENT)
    if include_usage:
        events.append(_USAGE_EVENT)
    if reply.fault == "cut_stream":
        # Keep the role chunk and at least one more, drop the rest and the [DONE].
        events = events[: max(2, len(events) // 2)]
    else:
        events.append(_DONE_EVENT)
    generated = sum(isinstance(p, int) and p >= 0 for p in _id_parts(calls))
    return _Plan(tuple(events), generated, _tokens(reply, calls))


def _plan(reply: ScriptedReply, stream: bool, include_usage: bool, pieces: int) -> _Plan:
    key = (stream, include_usage, pieces if stream else 0)
    plan = reply._plans.get(key)
    if plan is None:
        plan = _stream_plan(reply, include_usage, pieces) if stream else _body_plan(reply)
        reply._plans[key] = plan
    return plan


def _fill(template: _Template, holes: dict[int, bytes]) -> bytes:
    return b"".join([p if isinstance(p, bytes) else holes[p] for p in template])


# ---------------------------------------------------------------------------------------------
# HTTP/1.1: just enough for API clients.

_MAX_BODY = 64 * 1024 * 1024
_COMPLETIONS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODELS = frozenset({"/v1/models", "/models"})
_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


class _BadRequest(Exception):
    """The bytes on the connection are not an HTTP request we can answer; close after a 400."""


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise _BadRequest(f"malformed request line {lines[0]!r}") from None
    if not version.startswith("HTTP/1."):
        raise _BadRequest(f"unsupported protocol {version!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, target, version, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequest("malformed chunk size") from None
        if size == 0:
            # Skip trailers up to the blank line that ends the message.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > _MAX_BODY:
            raise _BadRequest("request body too large")
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def _read_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]
) -> bytes:
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _BadRequest("malformed Content-Length") from None
    if not 0 <= length <= _MAX_BODY:
        raise _BadRequest("bad Content-Length")
    return await reader.readexactly(length) if length else b""


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> _Request | None:
    """The next request on the connection, or None when the client closed it cleanly."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("connection closed mid-request") from None
        return None
    except asyncio.LimitOverrunError:
        raise _BadRequest("request head too large") from None
    method, target, version, headers = _parse_head(head)
    body = await _read_body(reader, writer, headers)
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    return _Request(method, target, headers, body, keep_alive)


@functools.lru_cache(maxsize=256)
def _head_start(status: int, content_type: str, keep_alive: bool) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", "server: swarmlet-scripted"]
    if content_type:
        lines.append(f"content-type: {content_type}")
    lines.append("connection: keep-alive" if keep_alive else "connection: close")
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def _head(
    status: int,
    content_type: str,
    length: int | None,
    keep_alive: bool,
    extra: dict[str, str],
) -> bytes:
    """A response head; ``length=None`` means a chunked body. ``extra`` may override the type."""
    if any(k.lower() == "content-type" for k in extra):
        content_type = ""
    start = _head_start(status, content_type, keep_alive)
    framing = (
        b"transfer-encoding: chunked\r\n" if length is None else b"content-length: %d\r\n" % length
    )
    if not extra:
        return start + framing + b"\r\n"
    lines = "".join(f"{k}: {v}\r\n" for k, v in extra.items()).encode("latin-1")
    return start + framing + lines + b"\r\n"


def _error_body(status: int, message: str, code: str | None = None) -> bytes:
    kind, default_code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    error = {"message": message, "type": kind, "param": None, "code": code or default_code}
    return _dumps({"error": error})


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN, as a crashed proxy or server would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


_EXHAUSTED = ScriptedReply(
    content="ScriptedServer script exhausted: no scripted reply left for this request",
    status=500,
)


class _Close(Exception):
    """Raised by a response writer to end the connection without further handling."""


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
        self.default_reply = None if default_reply is None else _coerce(default_reply)
        self.models = list(models)
        self.responder = responder
        self.record = record
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._queue: collections.deque[ScriptedReply] = collections.deque(map(_coerce, replies))
        self._completion_ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._model_json: dict[str, bytes] = {}
        self._models_body = _dumps({"object": "list", "data": self._model_cards()})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._thread: threading.Thread | None = None

    def _model_cards(self) -> list[dict[str, Any]]:
        return [
            {"id": m, "object": "model", "created": 0, "owned_by": "swarmlet"} for m in self.models
        ]

    # -- public API --------------------------------------------------------------------------

    def add(self, *replies: ScriptedReply | str) -> None:
        """Append replies to the script (safe to call from any thread while serving)."""
        self._queue.extend(map(_coerce, replies))

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
        # A large backlog: benchmarks open thousands of connections at once.
        server = await asyncio.start_server(
            self._serve_connection, self.host, self.port, backlog=4096
        )
        self.port = server.sockets[0].getsockname()[1]
        try:
            if on_listening is not None:
                on_listening(self.base_url)
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()

    def _run_in_thread(self, ready: threading.Event, errors: list[BaseException]) -> None:
        try:
            asyncio.run(self.serve_forever(on_listening=lambda _url: ready.set()))
        except BaseException as exc:  # reported to start() if it happens before listening
            errors.append(exc)
        finally:
            ready.set()

    # -- connections -------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve_requests(reader, writer)
        except _BadRequest as exc:
            body = _error_body(400, str(exc))
            writer.write(_head(400, "application/json", len(body), False, {}) + body)
        except (_Close, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()

    async def _serve_requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            request = await _read_request(reader, writer)
            if request is None:
                return
            await self._dispatch(request, reader, writer)
            await writer.drain()
            if not request.keep_alive:
                return

    async def _dispatch(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        path = request.target.split("?", 1)[0].rstrip("/")
        if path in _COMPLETIONS and request.method == "POST":
            await self._chat(request, reader, writer)
        elif path in _MODELS and request.method == "GET":
            self._send(writer, request, 200, "application/json", self._models_body)
        elif path in _COMPLETIONS or path in _MODELS:
            body = _error_body(405, f"{request.method} is not allowed on {path}")
            self._send(writer, request, 405, "application/json", body)
        else:
            body = _error_body(404, f"no route {request.method} {path}")
            self._send(writer, request, 404, "application/json", body)

    def _send(
        self,
        writer: asyncio.StreamWriter,
        request: _Request,
        status: int,
        content_type: str,
        body: bytes,
        extra: dict[str, str] | None = None,
    ) -> None:
        head = _head(status, content_type, len(body), request.keep_alive, extra or {})
        writer.write(head + body)

    # -- chat completions --------------------------------------------------------------------

    async def _chat(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            body = _loads(request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            error = _error_body(400, "the request body must be a JSON object")
            self._send(writer, request, 400, "application/json", error)
            return
        if self.record:
            self.requests.append(body)
            self.request_headers.append(request.headers)
        reply = self._next_reply(body)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        await self._answer(request, body, reply, reader, writer)

    def _next_reply(self, body: dict[str, Any]) -> ScriptedReply:
        if self.responder is not None:
            try:
                return _coerce(self.responder(body))
            except Exception as exc:  # a broken responder must not kill the connection
                return ScriptedReply(content=f"responder raised {exc!r}", status=500)
        if self._queue:
            return self._queue.popleft()
        if self.default_reply is not None:
            return self.default_reply
        return _EXHAUSTED

    async def _answer(
        self,
        request: _Request,
        body: dict[str, Any],
        reply: ScriptedReply,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        if reply.fault == "hang":
            await self._hang(reader)
        if reply.fault == "reset":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: applic")
            await writer.drain()
            _rst(writer)
            raise _Close
        if reply.fault == "raw":
            kind = "text/event-stream" if body.get("stream") else "application/json"
            raw = (reply.content or "").encode()
            self._send(writer, request, reply.status, kind, raw, reply.headers)
        elif reply.status != 200:
            self._send_error_reply(writer, request, reply)
        elif body.get("stream"):
            await self._send_stream(request, body, reply, writer)
        else:
            self._send_completion(request, body, reply, writer)

    async def _hang(self, reader: asyncio.StreamReader) -> None:
        # Never answer; wait until the client gives up (EOF) or stop() cancels this task.
        while await reader.read(65536):
            pass
        raise _Close

    def _send_error_reply(
        self, writer: asyncio.StreamWriter, request: _Request, reply: ScriptedReply
    ) -> None:
        message = reply.content or f"scripted HTTP {reply.status} error"
        code = "script_exhausted" if reply is _EXHAUSTED else None
        body = _error_body(reply.status, message, code)
        self._send(writer, request, reply.status, "application/json", body, reply.headers)

    def _holes(
        self, body: dict[str, Any], plan: _Plan, object_name: bytes, request: _Request
    ) -> dict[int, bytes]:
        """Per-response values for a plan's holes."""
        model = body.get("model")
        model = model if isinstance(model, str) else self.models[0]
        model_json = self._model_json.get(model)
        if model_json is None:
            model_json = _dumps(model)
            if len(self._model_json) < 1024:  # bounded: clients may send any model name
                self._model_json[model] = model_json
        prefix = b'{"id":"chatcmpl-%d","object":"%b","created":%d,"model":%b,' % (
            next(self._completion_ids),
            object_name,
            int(time.time()),
            model_json,
        )
        prompt = max(1, len(request.body) // 4)
        done = plan.completion_tokens
        usage = b'{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}' % (
            prompt,
            done,
            prompt + done,
        )
        holes = {_PREFIX: prefix, _USAGE: usage}
        for i in range(plan.generated_ids):
            holes[i] = b'"call_%d"' % next(self._call_ids)
        return holes

    def _send_completion(
        self,
        request: _Request,
        body: dict[str, Any],
        reply: ScriptedReply,
        writer: asyncio.StreamWriter,
    ) -> None:
        plan = _plan(reply, False, False, 0)
        data = _fill(plan.templates[0], self._holes(body, plan, b"chat.completion", request))
        if reply.fault == "bad_json_chunk":
            data = data[: len(data) // 2]
        if reply.fault == "cut_stream":
            # Promise the whole body, deliver half, then close: a truncated response.
            head = _head(200, "application/json", len(data), False, reply.headers)
            writer.write(head + data[: len(data) // 2])
            raise _Close
        self._send(writer, request, 200, "application/json", data, reply.headers)

    async def _send_stream(
        self,
        request: _Request,
        body: dict[str, Any],
        reply: ScriptedReply,
        writer: asyncio.StreamWriter,
    ) -> None:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        pieces = reply.chunks if reply.chunks is not None else self.stream_chunks
        plan = _plan(reply, True, include_usage, max(1, pieces))
        holes = self._holes(body, plan, b"chat.completion.chunk", request)
        out = [
            _head(
                200,
                "text/event-stream",
                None,
                request.keep_alive,
                {"cache-control": "no-cache", **reply.headers},
            )
        ]
        for template in plan.templates:
            event = _fill(template, holes)
            out.append(b"%x\r\n%b\r\n" % (len(event), event))
        if reply.fault == "cut_stream":
            writer.write(b"".join(out))
            await writer.drain()
            raise _Close
        out.append(b"0\r\n\r\n")
        writer.write(b"".join(out))


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
