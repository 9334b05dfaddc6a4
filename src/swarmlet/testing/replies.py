"""Scripted chat-completion replies and their encoding into reusable byte templates.

:class:`ScriptedReply` says what one answer of the scripted server
(:mod:`swarmlet.testing.server`) is, including the fault to put on the wire. Replies are
encoded once per kind of request (complete or streamed, with or without usage, chunk count)
into templates whose holes take the per-response values, because the benchmarks serve the same
few replies tens of thousands of times.
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAULTS",
    "PREFIX",
    "USAGE",
    "Plan",
    "Responder",
    "ScriptedReply",
    "coerce",
    "dumps",
    "fill",
    "loads",
    "plan",
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


dumps, loads = _codec()


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
    _plans: dict[tuple[bool, bool, int], Plan] = field(
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


def coerce(reply: ScriptedReply | str) -> ScriptedReply:
    """``reply`` as a ScriptedReply (a ``str`` is its text content)."""
    return ScriptedReply(content=reply) if isinstance(reply, str) else reply


# ---------------------------------------------------------------------------------------------
# Encoding replies into byte templates.
#
# A template is a tuple of parts: bytes, or an int naming a hole filled per response. Holes keep
# per-response values (completion id, timestamp, model, usage, generated tool-call ids) out of the
# cached encoding, so serving a reused reply is a join, not a JSON dump.

_Part = bytes | int
_Template = tuple[_Part, ...]
PREFIX = -1  # '{"id":...,"object":...,"created":...,"model":...,'
USAGE = -2  # '{"prompt_tokens":...,...}'


@dataclass(frozen=True)
class Plan:
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
        text = args if isinstance(args, str) else dumps(args).decode()
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
            parts.append(dumps(call.id))
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
    parts: list[_Part] = [b'{"role":"assistant","content":', dumps(content), b',"tool_calls":']
    if not calls or reply.fault == "null_content":
        return [*parts, b"null}"]
    for i, (call, id_part) in enumerate(zip(calls, ids, strict=True)):
        parts += [b"[" if i == 0 else b",", b'{"id":', id_part, b',"type":"function","function":']
        parts.append(dumps({"name": call.name, "arguments": call.arguments}) + b"}")
    return [*parts, b"]}"]


def _body_plan(reply: ScriptedReply) -> Plan:
    """The complete (non-streamed) ``chat.completion`` body."""
    calls = _calls(reply)
    ids = _id_parts(calls)
    parts: list[_Part] = [PREFIX, b'"choices":[']
    if reply.fault != "empty_choices":
        finish = b"null" if reply.fault == "no_finish_reason" else _finish(calls)
        if reply.fault == "null_content":
            finish = b'"stop"'
        parts += [b'{"index":0,"message":', *_message_parts(reply, calls, ids)]
        parts += [b',"logprobs":null,"finish_reason":', finish, b"}"]
    parts += [b'],"usage":', USAGE, b"}"]
    generated = sum(isinstance(p, int) and p >= 0 for p in ids)
    return Plan((_merge(parts),), generated, _tokens(reply, calls))


def _event(delta: Iterable[_Part], finish: bytes = b"null") -> _Template:
    """One SSE event carrying a single-choice ``chat.completion.chunk``."""
    head: list[_Part] = [b"data: ", PREFIX, b'"choices":[{"index":0,"delta":']
    tail = b',"logprobs":null,"finish_reason":' + finish + b"}]}\n\n"
    return _merge([*head, *delta, tail])


def _call_start(index: int, call: _Call, id_part: _Part) -> list[_Part]:
    """The first fragment of a streamed tool call: id, type and name, empty arguments."""
    fn = b',"type":"function","function":{"name":' + dumps(call.name) + b',"arguments":""}}'
    return [b'{"index":%d,"id":' % index, id_part, fn]


def _call_piece(index: int, piece: str) -> bytes:
    return b'{"index":%d,"function":{"arguments":%b}}' % (index, dumps(piece))


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
    events += [_event([b'{"content":%b}' % dumps(p)]) for p in _split(content or "", pieces)]
    if reply.fault != "null_content":
        events += _tool_events(reply, calls, pieces)
    if reply.fault != "no_finish_reason":
        finish = b'"stop"' if reply.fault == "null_content" else _finish(calls)
        events.append(_event([b"{}"], finish))
    return events


_EMPTY_CHOICES = _merge([b"data: ", PREFIX, b'"choices":[]}\n\n'])
_USAGE_EVENT = _merge([b"data: ", PREFIX, b'"choices":[],"usage":', USAGE, b"}\n\n"])
_BAD_EVENT: _Template = (b'data: {"id":"chatcmpl-broken","choices":[{"delta": nope}\n\n',)
_DONE_EVENT: _Template = (b"data: [DONE]\n\n",)


def _stream_plan(reply: ScriptedReply, include_usage: bool, pieces: int) -> Plan:
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
    return Plan(tuple(events), generated, _tokens(reply, calls))


def plan(reply: ScriptedReply, stream: bool, include_usage: bool, pieces: int) -> Plan:
    """The encoding of ``reply`` for one kind of request, made once and cached on the reply."""
    key = (stream, include_usage, pieces if stream else 0)
    encoded = reply._plans.get(key)
    if encoded is None:
        encoded = _stream_plan(reply, include_usage, pieces) if stream else _body_plan(reply)
        reply._plans[key] = encoded
    return encoded


def fill(template: _Template, holes: dict[int, bytes]) -> bytes:
    """One response's bytes: the template with its holes filled."""
    return b"".join([p if isinstance(p, bytes) else holes[p] for p in template])
