"""What tracing costs: the three-call conversation with tracing absent, off and on.

Cases, each in a fresh interpreter, interleaved over several rounds (the machine is shared):

* ``absent``: OpenTelemetry cannot be imported (a ``sys.meta_path`` finder refuses it, exactly
  as an interpreter without the packages would);
* ``off``: OpenTelemetry installed, tracing not enabled (the default);
* ``on-noop``: tracing on into OpenTelemetry's ``NoOpTracerProvider``: the observer's own cost
  (wrapping, context switching, building attributes) without an SDK recording anything;
* ``on``: ``swarmlet.tracing.enable(provider)`` with the SDK's ``InMemorySpanExporter`` behind a
  ``SimpleSpanProcessor`` (every span is exported synchronously as it ends);
* ``on-content``: the same with ``capture_content=True``.

Two transports: ``http`` (FastHTTPModel to bench/bench_server.py in its own process, whose CPU
is not counted) and ``scripted`` (the in-process ScriptedModel: no network, so tracing's share
of the CPU is at its largest). CPU is the client process's user+sys per conversation, after a
warm-up; ``import swarmlet`` is timed in each fresh interpreter too.

    .venv/bin/python bench/bench_tracing.py            # writes bench/results/tracing.{json,md}
    .venv/bin/python bench/bench_tracing.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CASES = ("absent", "off", "on-noop", "on", "on-content")
TRANSPORTS = ("scripted", "http")
ANSWER = "Your order A1 has shipped."


class _NoOpenTelemetry:
    """A finder that makes ``import opentelemetry...`` fail as if it were not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _agents() -> Any:
    from swarmlet import Agent

    def lookup_order(order_id: str) -> str:
        """Look up an order's status."""
        return json.dumps({"order_id": order_id, "status": "shipped"})

    sales = Agent(name="Sales", model="scripted", instructions="Sales.", functions=[lookup_order])

    def transfer_to_sales() -> Any:
        """Hand the conversation to sales."""
        return sales

    return Agent(name="Triage", model="scripted", instructions="T.", functions=[transfer_to_sales])


def _model(transport: str, base_url: str | None, n: int) -> Any:
    if transport == "http":
        from swarmlet.models.fast_http import FastHTTPModel

        return FastHTTPModel(base_url=str(base_url), api_key="bench", model="scripted")
    from swarmlet.testing import ScriptedModel, tool_call

    script: list[Any] = []
    for _ in range(n):
        script += [tool_call("transfer_to_sales"), tool_call("lookup_order", {"order_id": "A1"})]
        script.append(ANSWER)
    return ScriptedModel(script)


def _enable(case: str) -> Any:
    if not case.startswith("on"):
        return None
    if case == "on-noop":
        from opentelemetry import trace

        import swarmlet.tracing

        swarmlet.tracing.enable(trace.NoOpTracerProvider())
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import swarmlet.tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    swarmlet.tracing.enable(provider, capture_content=case == "on-content")
    return exporter


def child(case: str, transport: str, n: int, base_url: str | None) -> dict[str, Any]:
    """One measurement in this (fresh) interpreter."""
    if case == "absent":
        sys.meta_path.insert(0, _NoOpenTelemetry())
    started = time.perf_counter()
    import swarmlet

    import_seconds = time.perf_counter() - started
    exporter = _enable(case)
    client = swarmlet.Swarm(client=_model(transport, base_url, n + 1))
    triage = _agents()
    prompt = [{"role": "user", "content": "Where is my order A1?"}]

    async def conversations(count: int) -> list[str]:
        answers = []
        for _ in range(count):
            response = await client.run_async(triage, prompt)
            answers.append(str(response.messages[-1]["content"]))
        return answers

    async def main() -> tuple[list[str], float, float]:
        await conversations(1)  # warm-up: connections, lazy imports, first-run caches
        if exporter is not None:
            exporter.clear()
        cpu, wall = _cpu(), time.perf_counter()
        answers = await conversations(n)
        return answers, _cpu() - cpu, time.perf_counter() - wall

    answers, cpu, wall = asyncio.run(main())
    assert answers == [ANSWER] * n, answers[:3]
    spans = len(exporter.get_finished_spans()) if exporter is not None else 0
    loaded = any(m.startswith("opentelemetry") for m in sys.modules)
    return {
        "case": case,
        "transport": transport,
        "n": n,
        "cpu_ms": cpu * 1000 / n,
        "wall_ms": wall * 1000 / n,
        "import_s": import_seconds,
        "spans_per_conversation": spans / n,
        "opentelemetry_imported": loaded,
    }


def _run_child(case: str, transport: str, n: int, base_url: str | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", case, "--transport", transport, "--n", str(n)]
    if base_url:
        command += ["--base-url", base_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def parent(rounds: int, n: int) -> None:
    """Every case x transport, interleaved over ``rounds``; medians to bench/results/."""
    sys.path.insert(0, str(HERE))
    from bench import server  # the bench server process, as the main benchmark starts it

    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with server(0.0, 8, 8) as (base_url, _pid):
        for round_no in range(rounds):
            for transport in TRANSPORTS:
                for case in CASES:
                    result = _run_child(case, transport, n, base_url)
                    result["round"] = round_no
                    runs.append(result)
                    print(json.dumps(result), flush=True)
    summary = _summarise(runs)
    meta = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "rounds": rounds,
        "n": n,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tracing.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    (RESULTS / "tracing.md").write_text(_table(summary, meta))
    print(_table(summary, meta))


def _summarise(runs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
    summary = {}
    for transport in TRANSPORTS:
        for case in CASES:
            mine = [r for r in runs if r["case"] == case and r["transport"] == transport]
            summary[(transport, case)] = {
                "cpu_ms": statistics.median(r["cpu_ms"] for r in mine),
                "cpu_min": min(r["cpu_ms"] for r in mine),
                "cpu_max": max(r["cpu_ms"] for r in mine),
                "import_s": statistics.median(r["import_s"] for r in mine),
                "spans": mine[0]["spans_per_conversation"],
            }
    return summary


def _table(summary: dict[tuple[str, str], dict[str, float]], meta: dict[str, Any]) -> str:
    lines = [
        f"Tracing overhead, {meta['date_utc']} UTC, Python {meta['python']}, {meta['cpus']} CPUs,"
        f" load {meta['load_before'][0]:.2f} before / {meta['load_after'][0]:.2f} after;"
        f" median of {meta['rounds']} rounds x {meta['n']} conversations.",
        "",
        "| transport | case | client CPU ms / conversation (min-max) | vs absent | spans / conv"
        " | import swarmlet s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for transport in TRANSPORTS:
        base = summary[(transport, "absent")]["cpu_ms"]
        for case in CASES:
            row = summary[(transport, case)]
            delta = (row["cpu_ms"] / base - 1) * 100
            lines.append(
                f"| {transport} | {case} | {row['cpu_ms']:.3f} ({row['cpu_min']:.3f}-"
                f"{row['cpu_max']:.3f}) | {delta:+.1f} % | {row['spans']:.0f} |"
                f" {row['import_s']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=CASES)
    parser.add_argument("--transport", choices=TRANSPORTS, default="scripted")
    parser.add_argument("--base-url")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 50 conversations")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.transport, args.n, args.base_url)))
    elif args.quick:
        parent(2, 50)
    else:
        parent(args.rounds, args.n)


if __name__ == "__main__":
    main()
