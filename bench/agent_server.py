"""Agent-server benchmarks: what serving a run over HTTP + SSE costs, and 1,000 streams at once.

1. **Overhead**: the benchmark conversation (handoff -> lookup_order -> answer) on a scripted
   model with zero latency, run (a) in-process through ``Swarm.stream`` and (b) through
   ``POST /runs`` on a ``swarmlet serve``-style server in its own process, one run at a time.
   Reported: CPU per run (in-process: this process; served: the server process, read from
   /proc), the added CPU, and latency p50/p99 (client-observed for the server).
2. **1,000 concurrent SSE streams** on one server process, model latency 0.2 s per call (three
   calls per run): errors, wall time, server CPU and peak memory (VmHWM).

    .venv/bin/python bench/agent_server.py            # both; ~1-2 min on 2 cores
    .venv/bin/python bench/agent_server.py --runs 500 --streams 1000

The model is swarmlet's ScriptedModel inside the server process, so only the server is measured.
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

from swarmlet import Agent

TOKEN = "bench-token-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"messages": [{"role": "user", "content": "Where is my order A1?"}]}


def build_agents(latency: float) -> tuple[Any, Any]:
    """The benchmark conversation's agents and a ScriptedModel that plays it."""
    from swarmlet.models.base import ModelRequest
    from swarmlet.testing import ScriptedModel, reply, tool_call

    def lookup_order(order_id: str) -> dict[str, str]:
        """Look an order up."""
        return {"order_id": order_id, "status": "shipped"}

    orders = Agent(name="Orders", functions=[lookup_order])

    def transfer_to_orders() -> Agent:
        """Hand order questions to the orders agent."""
        return orders

    triage = Agent(name="Triage", functions=[transfer_to_orders])

    def respond(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last["role"] == "user":
            return reply(None, tool_call("transfer_to_orders"), delay=latency)
        if any(c["function"]["name"] == "lookup_order" for m in request.messages
               for c in m.get("tool_calls") or []):  # fmt: skip
            return reply("Your order A1 has shipped.", delay=latency)
        return reply(None, tool_call("lookup_order", {"order_id": "A1"}), delay=latency)

    return triage, ScriptedModel(responder=respond)


def serve(port: int, latency: float) -> None:
    """Run the server (the child process)."""
    import uvicorn

    from swarmlet import Swarm
    from swarmlet.server import ServerSettings, TokenAuth, create_app

    agent, model = build_agents(latency)
    settings = ServerSettings(auth=TokenAuth(frozenset({TOKEN})))
    app = create_app(agent, swarm=Swarm(client=model), settings=settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                backlog=4096)  # fmt: skip


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def in_process(runs: int) -> dict[str, float]:
    from swarmlet import Swarm

    agent, model = build_agents(0.0)
    client = Swarm(client=model)
    latencies = []
    for _ in range(20):  # warm-up
        async for _event in client.stream(agent, BODY["messages"]):
            pass
    start_cpu = time.process_time()
    for _ in range(runs):
        began = time.perf_counter()
        async for _event in client.stream(agent, BODY["messages"]):
            pass
        latencies.append(time.perf_counter() - began)
    cpu = (time.process_time() - start_cpu) / runs
    return {"cpu_ms": cpu * 1e3, "p50_ms": _percentile(latencies, 0.5) * 1e3,
            "p99_ms": _percentile(latencies, 0.99) * 1e3}  # fmt: skip


async def one_stream(session: aiohttp.ClientSession, url: str) -> tuple[bool, float, int]:
    """POST /runs and read the SSE stream to its end: (completed?, seconds, events)."""
    began = time.perf_counter()
    events, last = 0, b""
    async with session.post(f"{url}/runs", json=BODY, headers=HEADERS) as response:
        if response.status != 200:
            return False, time.perf_counter() - began, 0
        async for line in response.content:
            if line.startswith(b"data:"):
                events += 1
                last = line
    ok = b'"run_ended"' in last and b'"completed"' in last
    return ok, time.perf_counter() - began, events


async def served(url: str, pid: int, runs: int) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=10)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(20):
            await one_stream(session, url)
        start_cpu, start_client = _cpu(pid), time.process_time()
        results = [await one_stream(session, url) for _ in range(runs)]
        server_cpu = (_cpu(pid) - start_cpu) / runs
        client_cpu = (time.process_time() - start_client) / runs
    latencies = [seconds for _, seconds, _ in results]
    return {"errors": sum(not ok for ok, _, _ in results), "server_cpu_ms": server_cpu * 1e3,
            "client_cpu_ms": client_cpu * 1e3, "events": results[0][2],
            "p50_ms": _percentile(latencies, 0.5) * 1e3,
            "p99_ms": _percentile(latencies, 0.99) * 1e3}  # fmt: skip


async def concurrent(url: str, pid: int, streams: int) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await one_stream(session, url)
        rss_before, start_cpu = _rss_mb(pid), _cpu(pid)
        began = time.perf_counter()
        outcomes = await asyncio.gather(
            *(one_stream(session, url) for _ in range(streams)), return_exceptions=True
        )
        wall = time.perf_counter() - began
    ok = [o for o in outcomes if isinstance(o, tuple) and o[0]]
    failures = [repr(o)[:120] for o in outcomes if not (isinstance(o, tuple) and o[0])]
    latencies = [o[1] for o in ok]
    return {"streams": streams, "errors": len(failures), "wall_s": wall,
            "server_cpu_s": _cpu(pid) - start_cpu, "rss_before_mb": rss_before,
            "peak_rss_mb": _peak_rss_mb(pid),
            "p50_s": _percentile(latencies, 0.5) if latencies else float("nan"),
            "p99_s": _percentile(latencies, 0.99) if latencies else float("nan"),
            "first_failures": failures[:3]}  # type: ignore[dict-item]  # fmt: skip


def _start_server(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--latency", str(latency)]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


def _raise_fd_limit() -> None:
    """1,000 streams need more than the usual 1,024 file descriptors (both ends)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    _raise_fd_limit()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--latency", type=float, default=0.2, help="model latency, part 2")
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.latency)
        return
    print("load before:", os.getloadavg())
    report: dict[str, Any] = {"in_process": asyncio.run(in_process(args.runs))}
    process, url = _start_server(0.0)
    try:
        report["served"] = asyncio.run(served(url, process.pid, args.runs))
    finally:
        process.terminate()
        process.wait()
    process, url = _start_server(args.latency)
    try:
        report["concurrent"] = asyncio.run(concurrent(url, process.pid, args.streams))
    finally:
        process.terminate()
        process.wait()
    report["added_cpu_ms"] = report["served"]["server_cpu_ms"] - report["in_process"]["cpu_ms"]
    print("load after:", os.getloadavg())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
