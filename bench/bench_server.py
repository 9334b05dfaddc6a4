"""The benchmark's model server: swarmlet's ScriptedServer plus request counting and a tool mode.

Runs as its own process (so its CPU never lands on the client being measured) with a raised
file-descriptor limit. It answers the benchmark conversation with swarmlet's built-in
``conversation_responder`` and adds, through the public ``responder`` hook only:

* counting: every chat request is counted; a request for the model ``__stats__`` is not, and is
  answered with a JSON text ``{"requests": n, "tool_gaps": [...]}`` (and resets the gap list);
* a parallel-tools conversation: when the tools include ``slow_tool`` and the last message is
  not a tool result, the reply calls ``slow_tool`` ``--tool-calls`` times in one message; after
  the results it answers "Your order A1 has shipped.". The server notes the time between that
  tool-call request and the next request (the client's whole tool phase, seen from outside).

    python bench/bench_server.py --port 0 --latency 0.2 --stream-chunks 8 --tool-calls 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import time
from typing import Any

from swarmlet.testing.server import ScriptedReply, ScriptedServer, conversation_responder

SHIPPED = "Your order A1 has shipped."


class CountingResponder:
    """Wraps the conversation responder with counting and the parallel-tools conversation."""

    def __init__(self, tool_calls: int) -> None:
        self.requests = 0
        self.tool_gaps: list[float] = []
        self._pending_tool_request: float | None = None
        self._fanout = ScriptedReply(
            tool_calls=[
                {"name": "slow_tool", "arguments": json.dumps({"i": i}), "id": f"call_slow_{i}"}
                for i in range(tool_calls)
            ]
        )
        self._shipped = ScriptedReply(content=SHIPPED)

    def __call__(self, body: dict[str, Any]) -> ScriptedReply | str:
        now = time.perf_counter()
        if body.get("model") == "__stats__":
            stats = {"requests": self.requests, "tool_gaps": self.tool_gaps}
            self.tool_gaps = []
            return json.dumps(stats)
        self.requests += 1
        if self._pending_tool_request is not None:
            self.tool_gaps.append(now - self._pending_tool_request)
            self._pending_tool_request = None
        tools = {
            (tool.get("function") or {}).get("name")
            for tool in body.get("tools") or ()
            if isinstance(tool, dict)
        }
        if "slow_tool" in tools:
            if _last_role(body) == "tool":
                return self._shipped
            self._pending_tool_request = now
            return self._fanout
        return conversation_responder(body)


def _last_role(body: dict[str, Any]) -> str | None:
    messages = body.get("messages") or []
    last = messages[-1] if messages else None
    return last.get("role") if isinstance(last, dict) else None


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE to the hard limit (10,000 connections need 10,000+ descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--stream-chunks", type=int, default=8)
    parser.add_argument("--tool-calls", type=int, default=8)
    args = parser.parse_args()
    raise_fd_limit()
    server = ScriptedServer(
        host=args.host,
        port=args.port,
        latency=args.latency,
        stream_chunks=args.stream_chunks,
        responder=CountingResponder(args.tool_calls),
        record=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve_forever(on_listening=lambda url: print(url, flush=True)))


if __name__ == "__main__":
    main()
