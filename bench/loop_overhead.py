"""swarmlet's own CPU per benchmark conversation: the run loop with an in-process model.

The benchmark conversation (handoff -> lookup_order -> answer, 3 model calls) on a model that
answers from memory, so no HTTP client, server or socket is involved: what is left is the run
loop (turns, tool phase, events, hooks plumbing, message cleaning, usage). CPU is this
process's ``time.process_time`` (all threads) over ``--n`` conversations, ``--rounds`` times.

    python bench/loop_overhead.py [--stream] [--sync-tools auto|caller|threads] [--profile]

To compare two checkouts, run the same file under each:
``PYTHONPATH=/path/to/other/src python bench/loop_overhead.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import frameworks

import swarmlet
from swarmlet.events import RunCompleted
from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
    ToolCallFragment,
)
from swarmlet.usage import ModelUsage

USAGE = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)


class CannedModel(Model):
    """The bench server's three replies, chosen from the request like the server does."""

    def _reply(self, request: ModelRequest) -> AssistantMessage:
        last = request.messages[-1]
        if last["role"] == "user":
            call = ToolCall("call_1", "transfer_to_sales", "{}")
            return AssistantMessage(tool_calls=[call], usage=USAGE)
        if request.agent_name == "Sales" and '"assistant"' in str(last.get("content")):
            call = ToolCall("call_2", "lookup_order", '{"order_id": "A1"}')
            return AssistantMessage(tool_calls=[call], usage=USAGE)
        return AssistantMessage(content=frameworks.ANSWER, usage=USAGE)

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        return self._reply(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[MessageDelta]:
        message = self._reply(request)
        for call in message.tool_calls:
            yield MessageDelta(tool_calls=[ToolCallFragment(0, call.id, call.name, "")])
            yield MessageDelta(tool_calls=[ToolCallFragment(0, None, None, call.arguments)])
        for piece in ("Your order ", "A1 has ", "shipped.") if message.content else ():
            yield MessageDelta(content=piece)
        yield MessageDelta(finish_reason="stop", usage=message.usage)


async def conversation(client: Any, triage: Any, stream: bool) -> str:
    if not stream:
        response = await client.run_async(triage, frameworks.PROMPT)
        return str(response.messages[-1]["content"])
    final = None
    async for event in client.stream(triage, frameworks.PROMPT):
        if isinstance(event, RunCompleted):
            final = event.response
    assert final is not None
    return str(final.messages[-1]["content"])


async def main(args: argparse.Namespace) -> None:
    client = swarmlet.Swarm(client=CannedModel(), sync_tools=args.sync_tools)
    triage, _ = frameworks._swarm_agents(swarmlet.Agent, frameworks.slow_tool)
    for _ in range(20):  # warm-up; also checks the conversation ends as the bench's does
        assert await conversation(client, triage, args.stream) == frameworks.ANSWER
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            await conversation(client, triage, args.stream)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "40"))
        )
        return
    rounds = []
    for _ in range(args.rounds):
        start = time.process_time()
        for _ in range(args.n):
            await conversation(client, triage, args.stream)
        rounds.append((time.process_time() - start) / args.n * 1e6)
    report = {
        "swarmlet": str(Path(swarmlet.__file__).parent),
        "stream": args.stream,
        "sync_tools": args.sync_tools,
        "us_per_conv": [round(r) for r in rounds],
        "median_us": round(statistics.median(rounds)),
        "load1": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="conversations per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--sync-tools", default="auto", choices=("auto", "threads", "caller"))
    parser.add_argument("--profile", action="store_true", help="cProfile instead of timing")
    asyncio.run(main(parser.parse_args()))
