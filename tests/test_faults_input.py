"""Hostile input through the real HTTP path: huge messages, odd characters, deep nesting.

Policies (docs/failures.md): any size the endpoint accepts goes through unchanged; control
characters are sent as they are (JSON-escaped); lone surrogates, which UTF-8 cannot encode, are
sent as U+FFFD while the caller's own messages stay untouched; tool arguments nested deeper than
Python's JSON decoder can follow become a tool error, never a ``RecursionError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from swarmlet import Agent, Response, Swarm
from swarmlet.events import RunCompleted
from swarmlet.testing.server import ScriptedReply, ScriptedServer

MODES = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])


def echo_last_message(body: dict[str, Any]) -> ScriptedReply:
    """Answer with the text of the last message the server received."""
    return ScriptedReply(content=body["messages"][-1]["content"])


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


async def run(
    server: ScriptedServer, agent: Agent, messages: list[dict[str, Any]], stream: bool
) -> Response:
    swarm = Swarm(client=openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0))
    if not stream:
        return await swarm.run_async(agent, messages)
    async for event in swarm.stream(agent, messages):
        if isinstance(event, RunCompleted):
            return event.response
    raise AssertionError("no RunCompleted")


# --------------------------------------------------------------------------- size


@MODES
async def test_ten_megabyte_message_goes_through_and_back(
    server: ScriptedServer, stream: bool
) -> None:
    big = "".join(f"line {i}: é∑😀 payload\n" for i in range(500_000))[: 10 * 1024 * 1024]
    assert len(big) == 10 * 1024 * 1024
    server.responder = echo_last_message
    response = await run(server, Agent(), [{"role": "user", "content": big}], stream)
    assert server.requests[0]["messages"][-1]["content"] == big
    assert response.messages[0]["content"] == big


# --------------------------------------------------------------------------- characters

CONTROL = "tab\tnul\x00bell\x07esc\x1b[31mred\x1b[0m del\x7f cr\r lf\n c1\x85 bom\ufeff rtl\u202e"


@MODES
async def test_control_characters_round_trip_unchanged(
    server: ScriptedServer, stream: bool
) -> None:
    def shout(text: str) -> str:
        return text + CONTROL

    server.add(ScriptedReply(tool_calls=[{"name": "shout", "arguments": {"text": CONTROL}}]))
    server.add(ScriptedReply(content=CONTROL))
    response = await run(
        server, Agent(functions=[shout]), [{"role": "user", "content": CONTROL}], stream
    )
    sent = server.requests[1]["messages"]
    assert sent[1]["content"] == CONTROL  # the user message
    assert json.loads(sent[2]["tool_calls"][0]["function"]["arguments"]) == {"text": CONTROL}
    assert sent[3]["content"] == CONTROL + CONTROL  # the tool result
    assert response.messages[1]["content"] == CONTROL + CONTROL
    assert response.messages[2]["content"] == CONTROL  # the model's answer


def from_non_utf8(raw: bytes) -> str:
    """How Python hands over undecodable bytes (file names, subprocess output)."""
    return raw.decode("utf-8", errors="surrogateescape")


@MODES
async def test_lone_surrogates_are_sent_as_replacement_characters(
    server: ScriptedServer, stream: bool
) -> None:
    name = from_non_utf8(b"report-\xff\xfe.txt")  # "report-\udcff\udcfe.txt"
    lone = "half a pair: \ud83d!"

    def list_files() -> list[str]:
        return [name]

    def read_log() -> str:
        return lone

    server.add(
        ScriptedReply(tool_calls=[{"name": "list_files"}, {"name": "read_log"}]),
        "Found one file.",
    )
    messages = [{"role": "user", "content": f"look at {name}"}]
    response = await run(server, Agent(functions=[list_files, read_log]), messages, stream)
    assert response.messages[-1]["content"] == "Found one file."
    sent = server.requests[1]["messages"]
    assert sent[1]["content"] == "look at report-\ufffd\ufffd.txt"
    assert sent[3]["content"] == '["report-\ufffd\ufffd.txt"]'
    assert sent[4]["content"] == "half a pair: \ufffd!"
    # Only the wire copy is repaired: the caller's message and the history keep their text.
    assert messages[0]["content"] == f"look at {name}"
    assert response.messages[2]["content"] == lone


@MODES
async def test_reply_text_with_odd_unicode_is_kept_exactly(
    server: ScriptedServer, stream: bool
) -> None:
    odd = "zero\u200bwidth, combining e\u0301, emoji 👩‍👩‍👧, nul \x00, replacement \ufffd"
    server.add(ScriptedReply(content=odd, chunks=7))
    response = await run(server, Agent(), [{"role": "user", "content": "hi"}], stream)
    assert response.messages[0]["content"] == odd


# --------------------------------------------------------------------------- nesting


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def depth(value: Any) -> int:
    level = 0
    while isinstance(value, dict):
        value, level = value["a"], level + 1
    return level


@MODES
async def test_arguments_nested_200_levels_reach_the_tool(
    server: ScriptedServer, stream: bool
) -> None:
    received: list[int] = []

    def store(tree: dict[str, Any]) -> str:
        received.append(depth(tree))
        return "stored"

    server.add(
        ScriptedReply(tool_calls=[{"name": "store", "arguments": f'{{"tree":{nested(200)}}}'}]),
        "Stored.",
    )
    response = await run(
        server, Agent(functions=[store]), [{"role": "user", "content": "x"}], stream
    )
    assert received == [200]
    assert response.messages[1]["content"] == "stored"


@MODES
async def test_arguments_nested_too_deeply_become_a_tool_error(
    server: ScriptedServer, stream: bool
) -> None:
    called: list[Any] = []

    def store(tree: list[Any]) -> str:
        called.append(tree)
        return "stored"

    arguments = '{"tree":' + "[" * 100_000 + "]" * 100_000 + "}"
    server.add(ScriptedReply(tool_calls=[{"name": "store", "arguments": arguments}]), "Too deep.")
    response = await run(
        server, Agent(functions=[store]), [{"role": "user", "content": "x"}], stream
    )
    assert called == []
    assert response.messages[1]["content"] == (
        "Error: Invalid arguments for store: arguments are nested too deeply to decode"
    )
    assert response.messages[2]["content"] == "Too deep."
    assert server.requests[1]["messages"][-1]["content"] == response.messages[1]["content"]
