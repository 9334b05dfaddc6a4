"""Properties of stream merging: however a reply is cut into deltas, it merges to the same message.

``DeltaAccumulator`` must not care how a server splits a reply: where content is cut, how tool
arguments are fragmented, whether several tool calls (or several fragments) share a chunk,
whether later fragments repeat the id and name, or how content and tool fragments interleave.
End to end, a streamed run must leave the same history as a non-streamed one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarmlet import Agent, Swarm
from swarmlet.events import RunCompleted
from swarmlet.models.base import AssistantMessage, MessageDelta, ToolCall, ToolCallFragment
from swarmlet.models.merge import DeltaAccumulator
from swarmlet.models.sse import read_deltas
from swarmlet.testing import Reply, ScriptedModel

text = st.text(st.characters(codec="utf-8"), max_size=40)
nonempty = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
arguments = st.one_of(
    text,  # anything, even broken JSON: merging must not interpret it
    st.dictionaries(names, st.one_of(st.integers(), text, st.booleans()), max_size=4).map(
        json.dumps
    ),
)


@st.composite
def messages(draw: st.DrawFn) -> AssistantMessage:
    count = draw(st.integers(0, 4))
    ids = draw(st.lists(nonempty, min_size=count, max_size=count, unique=True))
    calls = [ToolCall(id=i, name=draw(names), arguments=draw(arguments)) for i in ids]
    return AssistantMessage(
        content=draw(st.none() | nonempty),
        tool_calls=calls,
        refusal=draw(st.none() | nonempty),
        finish_reason=draw(st.sampled_from(["stop", "tool_calls", "length"])),
    )


def cuts(draw: st.DrawFn, value: str) -> list[str]:
    """``value`` cut at arbitrary points (pieces may be empty)."""
    points = sorted(draw(st.lists(st.integers(0, len(value)), max_size=6)))
    bounds = [0, *points, len(value)]
    return [value[a:b] for a, b in itertools.pairwise(bounds)]


@dataclass
class _Atom:
    """One piece of a reply, before pieces are grouped into chunks."""

    kind: str  # "content", "refusal" or "call"
    text: str | None = None
    fragment: ToolCallFragment | None = None


@st.composite
def atom_streams(draw: st.DrawFn, message: AssistantMessage) -> list[list[_Atom]]:
    """Per source (content, refusal, each call), its pieces in order."""
    sources: list[list[_Atom]] = []
    for kind, value in (("content", message.content), ("refusal", message.refusal)):
        if value is not None:
            sources.append([_Atom(kind, piece) for piece in cuts(draw, value) if piece])
    for index, call in enumerate(message.tool_calls):
        repeat = draw(st.booleans())  # some servers repeat id and name on every fragment
        pieces = cuts(draw, call.arguments)
        fragments = [ToolCallFragment(index, call.id, call.name, pieces[0])]
        fragments += [
            ToolCallFragment(
                index, call.id if repeat else None, call.name if repeat else None, piece
            )
            for piece in pieces[1:]
        ]
        sources.append([_Atom("call", fragment=f) for f in fragments])
    return sources


@st.composite
def split_replies(draw: st.DrawFn) -> tuple[AssistantMessage, list[MessageDelta]]:
    """A message and one arbitrary way a server could stream it."""
    message = draw(messages())
    sources = [s for s in draw(atom_streams(message)) if s]
    # Interleave the sources arbitrarily, keeping each source's own order.
    order: list[_Atom] = []
    while sources:
        source = sources[draw(st.integers(0, len(sources) - 1))]
        order.append(source.pop(0))
        sources = [s for s in sources if s]
    # Group consecutive atoms into chunks; a chunk holds at most one content and one refusal
    # piece but any number of tool-call fragments.
    deltas: list[MessageDelta] = [MessageDelta(role="assistant")]
    current = MessageDelta()
    for atom in order:
        clash = atom.kind != "call" and getattr(current, atom.kind) is not None
        if clash or draw(st.booleans()):
            deltas.append(current)
            current = MessageDelta()
        if atom.kind == "call":
            assert atom.fragment is not None
            current.tool_calls.append(atom.fragment)
        else:
            setattr(current, atom.kind, atom.text)
    deltas.append(current)
    if draw(st.booleans()):
        current.finish_reason = message.finish_reason
    else:
        deltas.append(MessageDelta(finish_reason=message.finish_reason))
    if draw(st.booleans()):  # a trailing usage-style chunk with nothing in it
        deltas.append(MessageDelta())
    return message, deltas


def merge(deltas: list[MessageDelta]) -> AssistantMessage:
    accumulator = DeltaAccumulator()
    for delta in deltas:
        accumulator.add(delta)
    return accumulator.message()


@given(split_replies())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_split_merges_to_the_original_message(
    case: tuple[AssistantMessage, list[MessageDelta]],
) -> None:
    message, deltas = case
    assert merge(deltas) == message


def wire(delta: MessageDelta) -> bytes:
    """``delta`` as the data of one Chat Completions stream chunk."""
    calls = [
        {
            "index": f.index,
            **({"id": f.id} if f.id is not None else {}),
            "function": {
                k: v for k, v in (("name", f.name), ("arguments", f.arguments)) if v is not None
            },
        }
        for f in delta.tool_calls
    ]
    fields = {"role": delta.role, "content": delta.content, "refusal": delta.refusal}
    piece = {k: v for k, v in fields.items() if v is not None}
    if calls:
        piece["tool_calls"] = calls
    return json.dumps(
        {"choices": [{"index": 0, "delta": piece, "finish_reason": delta.finish_reason}]}
    ).encode()


@given(split_replies(), st.data())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_chunks_merged_per_read_merge_to_the_same_message(
    case: tuple[AssistantMessage, list[MessageDelta]], data: st.DataObject
) -> None:
    # The provider merges the chunks of each network read: any cut of the stream into reads.
    message, deltas = case
    chunks = [wire(delta) for delta in deltas]
    cut = sorted(data.draw(st.lists(st.integers(0, len(chunks)), max_size=4)))
    bounds = [0, *cut, len(chunks)]
    reads = [chunks[a:b] for a, b in itertools.pairwise(bounds)]
    merged = [delta for read in reads for delta in read_deltas(read)[0]]
    assert merge(merged) == message
    assert len(merged) <= len(deltas)


def test_merging_a_read_keeps_text_before_tool_calls_and_the_end_last() -> None:
    deltas = [
        MessageDelta(role="assistant", content="Look"),
        MessageDelta(content="ing up."),
        MessageDelta(tool_calls=[ToolCallFragment(0, "call_1", "lookup", '{"id"')]),
        MessageDelta(tool_calls=[ToolCallFragment(0, arguments=': "A1"}')]),
        MessageDelta(content="late text"),  # after a tool call: not moved before it
        MessageDelta(finish_reason="tool_calls"),
        MessageDelta(content="after the end"),  # never merged into the finished delta
    ]
    read = [wire(delta) for delta in deltas]
    merged, done = read_deltas([*read, b"[DONE]", wire(MessageDelta(content="ignored"))])
    assert done
    assert [d.content for d in merged] == ["Looking up.", "late text", "after the end"]
    assert merged[0].tool_calls == [ToolCallFragment(0, "call_1", "lookup", '{"id": "A1"}')]
    assert merged[1].finish_reason == "tool_calls"


def test_a_usage_chunk_joins_the_delta_before_unless_the_reply_ended() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    usage_chunk = json.dumps({"choices": [], "usage": usage}).encode()
    empty_chunk = json.dumps({"choices": []}).encode()  # skipped: nothing in it
    merged, done = read_deltas([wire(MessageDelta(content="hi")), empty_chunk, usage_chunk])
    assert not done
    assert [(d.content, d.usage and d.usage.total_tokens) for d in merged] == [("hi", 5)]
    ended = wire(MessageDelta(content="hi", finish_reason="stop"))
    merged, _ = read_deltas([ended, usage_chunk])
    assert [(d.finish_reason, d.usage and d.usage.total_tokens) for d in merged] == [
        ("stop", None),
        (None, 5),
    ]


@given(messages(), st.integers(1, 10))
def test_calls_streamed_last_index_first_still_merge_in_index_order(
    message: AssistantMessage, size: int
) -> None:
    fragments = []
    for index, call in reversed(list(enumerate(message.tool_calls))):
        args = call.arguments
        fragments.append(ToolCallFragment(index, call.id, call.name, args[:size]))
        fragments += [
            ToolCallFragment(index, arguments=args[k : k + size])
            for k in range(size, len(args), size)
        ]
    deltas = [
        MessageDelta(content=message.content, refusal=message.refusal),
        MessageDelta(tool_calls=fragments, finish_reason=message.finish_reason),
    ]
    assert merge(deltas) == message


# --------------------------------------------------------------------------- end to end


def echo(value: str = "") -> dict[str, Any]:
    """Return the value it was given."""
    return {"echo": value}


replies = st.lists(
    st.builds(
        lambda calls, content: Reply(content=content, tool_calls=calls),
        st.lists(
            st.builds(
                lambda i, arg, name: ToolCall(
                    id=f"call_{i}", name=name, arguments=json.dumps({"value": arg})
                ),
                st.integers(0, 10**9),
                text,
                st.sampled_from(["echo", "missing_tool"]),
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda c: c.id,
        ),
        st.none() | nonempty,
    ),
    max_size=3,
)


async def _history(script: list[Reply], final: str, chunk_size: int, stream: bool) -> Any:
    model = ScriptedModel([*script, final], chunk_size=chunk_size)
    swarm = Swarm(client=model)
    agent = Agent(name="Echo", functions=[echo])
    user = [{"role": "user", "content": "go"}]
    if stream:
        async for event in swarm.stream(agent, user):
            if isinstance(event, RunCompleted):
                response = event.response
    else:
        response = await swarm.run_async(agent, user)
    model.assert_all_consumed()
    return response.messages


@given(replies, nonempty, st.integers(1, 12))
@settings(max_examples=60, deadline=None)
def test_streamed_and_complete_runs_leave_the_same_history(
    script: list[Reply], final: str, chunk_size: int
) -> None:
    streamed = asyncio.run(_history(script, final, chunk_size, stream=True))
    complete = asyncio.run(_history(script, final, 1, stream=False))
    assert streamed == complete
    assert len(streamed) == len(script) + sum(len(r.tool_calls) for r in script) + 1
    assert streamed[-1]["content"] == final
