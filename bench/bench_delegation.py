"""Delegation benchmarks: agent-tool fan-out, ``Swarm.map`` at scale, a killed-and-resumed batch.

The model server is swarmlet's ScriptedServer in its own process (its CPU is never counted),
with 0.2 s latency per request and a responder that plays every part:

* ``fanout``: a coordinator calls k = 8 agent-tools in one turn; each sub-run makes 2 model
  calls (a call of its ``work`` tool, then an answer). Measured from the typed stream: the tool
  phase's wall time (first top-level ``ToolCallStarted`` to last top-level
  ``ToolCallFinished``), against the same with k = 1 (one sub-run). Target: k = 8 <= 1.15x k = 1.
* ``map``: 10,000 runs of the three-call conversation (handoff -> lookup_order -> answer) with
  ``map_async(concurrency=1000)``: errors, client CPU per run against a sequential run of the
  same conversation (one at a time, same server), peak RSS. Target: zero errors, CPU per run
  <= 1.2x sequential.
* ``batch``: ``swarmlet batch`` over 10,000 inputs, SIGKILLed half-way, then ``--resume``:
  the output must hold exactly 10,000 distinct ids (and 10,000 lines).

    .venv/bin/python bench/bench_delegation.py            # writes bench/results/delegation.*
    .venv/bin/python bench/bench_delegation.py --quick    # smaller numbers, a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LATENCY = 0.2
ANSWER = "Your order A1 has shipped."


# --------------------------------------------------------------------------- the server process


def _responder(body: dict[str, Any]) -> Any:
    from swarmlet.testing.server import ScriptedReply, conversation_responder

    tools = [t["function"]["name"] for t in body.get("tools") or []]
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    workers = [name for name in tools if name.startswith("worker_")]
    if workers:  # the fan-out coordinator
        if last.get("role") == "tool":
            return ScriptedReply(content="all workers done")
        return ScriptedReply(
            tool_calls=[{"name": w, "arguments": {"task": "work"}} for w in workers]
        )
    if "work" in tools:  # a fan-out sub-run
        if last.get("role") == "tool":
            return ScriptedReply(content="worked")
        return ScriptedReply(tool_calls=[{"name": "work", "arguments": {}}])
    if not tools and last.get("role") == "user":  # the batch agent
        return ScriptedReply(content=f"echo: {last.get('content')}")
    return conversation_responder(body)


def serve(latency: float) -> None:
    """Run the server until killed; print its base URL first."""
    from swarmlet.testing.server import ScriptedServer

    _raise_fd_limit()
    server = ScriptedServer(responder=_responder, latency=latency, record=False)
    server.start()
    print(server.base_url, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """The server subprocess."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# --------------------------------------------------------------------------- measurements


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _client(base_url: str) -> Any:
    from swarmlet import Swarm
    from swarmlet.models.fast_http import FastHTTPModel

    return Swarm(client=FastHTTPModel(base_url=base_url, api_key="bench", max_connections=1000))


def _fanout_agents(k: int) -> Any:
    from swarmlet import Agent

    async def work() -> str:
        """Do the work."""
        return "done"

    workers = [
        Agent(name=f"Worker {i}", model="scripted", functions=[work]).as_tool(f"worker_{i}")
        for i in range(k)
    ]
    return Agent(name="Coordinator", model="scripted", functions=workers)


async def _tool_phase_seconds(client: Any, coordinator: Any) -> float:
    from swarmlet.events import ToolCallFinished, ToolCallStarted

    started = finished = 0.0
    prompt = [{"role": "user", "content": "go"}]
    async for event in client.stream(coordinator, prompt):
        if event.path:
            continue
        if isinstance(event, ToolCallStarted) and not started:
            started = time.perf_counter()
        elif isinstance(event, ToolCallFinished):
            finished = time.perf_counter()
    return finished - started


async def bench_fanout(base_url: str, rounds: int) -> dict[str, Any]:
    client = _client(base_url)
    one, eight = _fanout_agents(1), _fanout_agents(8)
    await _tool_phase_seconds(client, one)  # warm-up
    singles, fans = [], []
    for _ in range(rounds):  # interleaved: load changes hit both alike
        singles.append(await _tool_phase_seconds(client, one))
        fans.append(await _tool_phase_seconds(client, eight))
    single, fan = statistics.median(singles), statistics.median(fans)
    return {
        "k": 8,
        "rounds": rounds,
        "one_sub_run_s": single,
        "k8_tool_phase_s": fan,
        "ratio": fan / single,
        "one_sub_run_all_s": singles,
        "k8_all_s": fans,
    }


def _conversation_agents() -> Any:
    from swarmlet import Agent

    def lookup_order(order_id: str) -> str:
        """Look up an order's status."""
        return json.dumps({"order_id": order_id, "status": "shipped"})

    sales = Agent(name="Sales", model="scripted", instructions="Sales.", functions=[lookup_order])

    def transfer_to_sales() -> Any:
        """Hand the conversation to sales."""
        return sales

    return Agent(name="Triage", model="scripted", instructions="T.", functions=[transfer_to_sales])


async def bench_map(base_url: str, runs: int, concurrency: int, sequential: int) -> dict[str, Any]:
    from swarmlet import Response

    client, triage = _client(base_url), _conversation_agents()
    prompt = "Where is my order A1?"
    await client.map_async(triage, [prompt] * 20, concurrency=20)  # warm-up
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(sequential):
        response = await client.run_async(triage, [{"role": "user", "content": prompt}])
        assert response.output == ANSWER
    sequential_cpu = (_cpu() - cpu) / sequential
    sequential_wall = (time.perf_counter() - wall) / sequential
    cpu, wall = _cpu(), time.perf_counter()
    results = await client.map_async(triage, [prompt] * runs, concurrency=concurrency)
    map_cpu, map_wall = _cpu() - cpu, time.perf_counter() - wall
    errors = [r for r in results if not isinstance(r, Response)]
    wrong = [r for r in results if isinstance(r, Response) and r.output != ANSWER]
    return {
        "runs": runs,
        "concurrency": concurrency,
        "errors": len(errors),
        "wrong_answers": len(wrong),
        "first_error": str(errors[0]) if errors else None,
        "sequential_runs": sequential,
        "sequential_cpu_ms_per_run": sequential_cpu * 1000,
        "sequential_wall_ms_per_run": sequential_wall * 1000,
        "map_cpu_ms_per_run": map_cpu * 1000 / runs,
        "map_wall_s": map_wall,
        "cpu_ratio": (map_cpu / runs) / sequential_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bench_batch(base_url: str, total: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "agents.py").write_text(
            "from swarmlet import Agent\necho = Agent(name='Echo', model='scripted')\n"
        )
        (tmp / "in.jsonl").write_text(
            "".join(json.dumps({"id": f"q{i}", "input": f"q{i}"}) + "\n" for i in range(total))
        )
        out = tmp / "out.jsonl"
        command = [sys.executable, "-m", "swarmlet.cli", "batch", str(tmp / "agents.py:echo")]
        command += [str(tmp / "in.jsonl"), "--out", str(out), "--concurrency", str(concurrency)]
        command += ["--base-url", base_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        started = time.perf_counter()
        first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        while _lines(out) < total // 2 and first.poll() is None:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        at_kill = _lines(out)
        torn = out.read_bytes()[-1:] != b"\n"
        resumed = subprocess.run(
            [*command, "--resume"], env=env, stderr=subprocess.DEVNULL, check=False
        )
        wall = time.perf_counter() - started
        records = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["id"] for r in records]
    return {
        "inputs": total,
        "concurrency": concurrency,
        "lines_at_kill": at_kill,
        "torn_line_at_kill": torn,
        "resume_exit_code": resumed.returncode,
        "lines": len(records),
        "distinct_ids": len(set(ids)),
        "errors": sum(r["error"] is not None for r in records),
        "expected_ids_present": set(ids) == {f"q{i}" for i in range(total)},
        "wall_s": wall,
    }


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# --------------------------------------------------------------------------- report


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def report(results: dict[str, Any]) -> str:
    fan, mapped, batch = results["fanout"], results["map"], results["batch"]
    lines = [
        f"Run {results['started']} UTC, Python {results['python']}, {results['cpus']} CPUs.",
        f"uptime before: `{results['uptime_before']}`",
        f"uptime after: `{results['uptime_after']}`",
    ]
    if "fanout_map_run" in results:  # the batch was rerun alone
        earlier = results["fanout_map_run"]
        lines[0] = f"Batch run {results['started']} UTC, Python {results['python']}."
        lines += [
            f"Fan-out and map: run {earlier['started']} UTC,",
            f"uptime before: `{earlier['uptime_before']}`",
            f"uptime after: `{earlier['uptime_after']}`",
        ]
    lines += [
        "",
        "| benchmark | result | target |",
        "| --- | --- | --- |",
        f"| fan-out k=8, tool phase | {fan['k8_tool_phase_s']:.3f} s vs one sub-run "
        f"{fan['one_sub_run_s']:.3f} s = **{fan['ratio']:.3f}x** (median of {fan['rounds']}) "
        "| <= 1.15x |",
        f"| map {mapped['runs']:,} runs @ {mapped['concurrency']} | {mapped['errors']} errors, "
        f"{mapped['wrong_answers']} wrong answers, {mapped['map_wall_s']:.1f} s wall | 0 errors |",
        f"| map CPU per run | {mapped['map_cpu_ms_per_run']:.2f} ms vs sequential "
        f"{mapped['sequential_cpu_ms_per_run']:.2f} ms = **{mapped['cpu_ratio']:.2f}x** "
        "| <= 1.2x |",
        f"| map peak RSS | {mapped['peak_rss_mb']:.0f} MB (whole client process) | reported |",
        f"| batch {batch['inputs']:,}, SIGKILL at {batch['lines_at_kill']:,} lines, resumed "
        f"| {batch['lines']:,} lines, **{batch['distinct_ids']:,} distinct ids**, "
        f"{batch['errors']} errors | exactly {batch['inputs']:,} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--latency", type=float, default=LATENCY)
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--batch-only", action="store_true", help="only the batch benchmark")
    args = parser.parse_args()
    if args.serve:
        serve(args.latency)
        return
    _raise_fd_limit()
    quick = args.quick
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "latency_s": args.latency,
        "uptime_before": _uptime(),
    }
    name = "delegation-quick" if quick else "delegation"
    server = Server(args.latency)
    try:
        if args.batch_only:  # keep the other parts of the last run
            previous = json.loads((RESULTS / f"{name}.json").read_text())
            results["fanout"], results["map"] = previous["fanout"], previous["map"]
            keys = ("started", "uptime_before", "uptime_after")
            results["fanout_map_run"] = previous.get("fanout_map_run") or {
                k: previous[k] for k in keys
            }
        else:
            results["fanout"] = asyncio.run(bench_fanout(server.base_url, 3 if quick else 7))
            print("fanout", json.dumps(results["fanout"]), flush=True)
            runs, concurrency = (1000, 200) if quick else (10_000, 1000)
            results["map"] = asyncio.run(
                bench_map(server.base_url, runs, concurrency, 10 if quick else 60)
            )
            print("map", json.dumps(results["map"]), flush=True)
        results["batch"] = bench_batch(server.base_url, 1000 if quick else 10_000, 256)
        print("batch", json.dumps(results["batch"]), flush=True)
    finally:
        server.close()
    results["uptime_after"] = _uptime()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    main()
