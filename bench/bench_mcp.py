"""What swarmlet's MCP connection owner costs per tool call, against the bare ``mcp`` client.

Every connection lives on swarmlet's MCP loop, in a thread of its own, and callers reach it
with ``run_coroutine_threadsafe`` (see docs/DESIGN.md, "MCP tools"). This measures what that
hop adds to a ``tools/call`` over stdio, against the test server in tests/mcp_test_server.py:

* ``hop``: ``call_on_loop`` of a coroutine that does nothing (the hop alone);
* ``mcp.Client``: ``await client.call_tool("add", ...)`` on the caller's own loop;
* ``swarmlet``: ``await server.call_tool("add", ...)`` through the owner task;
* the same two with 32 calls in flight at once (wall time per call).

Cases are interleaved over several rounds (the machine is shared); the medians are reported.

    .venv/bin/python bench/bench_mcp.py            # writes bench/results/mcp.{json,md}
    .venv/bin/python bench/bench_mcp.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from swarmlet.mcp import MCPServer
from swarmlet.mcp._loop import call_on_loop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER = [str(ROOT / "tests" / "mcp_test_server.py"), "tools"]
CONCURRENCY = 32


async def _nothing() -> None:
    return None


async def _per_call(call: Callable[[], Awaitable[Any]], calls: int, concurrent: int) -> float:
    """Microseconds of wall time per call, ``concurrent`` calls in flight at a time."""
    started = time.perf_counter()
    for _ in range(calls // concurrent):
        await asyncio.gather(*(call() for _ in range(concurrent)))
    return (time.perf_counter() - started) / calls * 1e6


async def _round(client: Client, server: MCPServer, calls: int) -> dict[str, float]:
    arguments = {"a": 1, "b": 2}

    def bare() -> Awaitable[Any]:
        return client.call_tool("add", arguments)

    def owned() -> Awaitable[Any]:
        return server.call_tool("add", arguments)

    return {
        "hop": await _per_call(lambda: call_on_loop(_nothing()), calls, 1),
        "mcp.Client": await _per_call(bare, calls, 1),
        "swarmlet": await _per_call(owned, calls, 1),
        f"mcp.Client x{CONCURRENCY}": await _per_call(bare, calls, CONCURRENCY),
        f"swarmlet x{CONCURRENCY}": await _per_call(owned, calls, CONCURRENCY),
    }


async def measure(rounds: int, calls: int) -> dict[str, list[float]]:
    """Run the cases ``rounds`` times after a warm-up; all samples by case."""
    parameters = StdioServerParameters(command=sys.executable, args=SERVER)
    server = MCPServer.stdio(sys.executable, SERVER)
    samples: dict[str, list[float]] = {}
    async with Client(parameters) as client, server:
        await _round(client, server, CONCURRENCY)  # warm-up
        for _ in range(rounds):
            for case, value in (await _round(client, server, calls)).items():
                samples.setdefault(case, []).append(value)
    return samples


def report(samples: dict[str, list[float]], rounds: int, calls: int) -> str:
    """The results as a markdown table."""
    lines = [
        f"MCP `tools/call` over stdio, {calls} calls per case and round, {rounds} rounds, "
        f"median of rounds (Python {platform.python_version()}, {platform.machine()}).",
        "",
        "| case | µs per call |",
        "| --- | ---: |",
    ]
    lines += [f"| {case} | {statistics.median(values):.0f} |" for case, values in samples.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    args = parser.parse_args()
    rounds, calls = (2, 64) if args.quick else (5, 512)
    samples = asyncio.run(measure(rounds, calls))
    text = report(samples, rounds, calls)
    print(text)
    if not args.quick:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "mcp.md").write_text(text, encoding="utf-8")
        (HERE / "results" / "mcp.json").write_text(json.dumps(samples, indent=2), "utf-8")


if __name__ == "__main__":
    main()
