"""Run the whole benchmark and write bench/results/{results.json,results.md,chart.png}.

Starts the model servers as separate processes, runs every framework x mode case in its own
fresh interpreter (bench/run_case.py) under a time box, measures import times, and writes the
results. Use ``bash bench/run.sh`` (which sets up bench/.venv first); ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PY = sys.executable

ASYNC_PEERS = [
    "raw-openai",
    "swarmlet",
    "swarmlet-fasthttp",
    "swarmlet-sdk-aiohttp",
    "openai-agents",
]
SYNC_PEERS = ["openai-swarm", "swarmlet-sync", "swarmlet-sync-threads"]
# Concurrent cases only: the default provider with the GC tuning docs/benchmarks.md suggests.
GC_TUNED = "swarmlet-fasthttp-gc"
IMPORTS = {"swarmlet": "swarmlet", "openai-swarm": "swarm", "openai-agents": "agents"}
IMPORTS["raw-openai"] = "openai"
# What any program on swarmlet's dependencies pays before swarmlet's own modules: asyncio,
# pydantic, and building a first pydantic model (which loads pydantic's plugins once). A
# reference for reading the import bound on a machine slower or faster than the one it was set on.
DEPENDENCY_FLOOR = (
    "asyncio + pydantic (one model)",
    "import asyncio, pydantic; pydantic.create_model('M', x=(int, 0))",
)
# The transport floor (bench/floor.py): sequential and streamed only.
FLOORS = [
    "floor-http.client",
    "floor-urllib3",
    "floor-aiohttp",
    "floor-httpx2-async",
    "floor-httpx2-sync",
]
NO_TOOLS = {"swarmlet-sdk-aiohttp"}  # a transport variant: its tool phase is swarmlet's
PAIR = ("floor-aiohttp", "swarmlet-fasthttp")
"""The default provider and its bare transport, run back to back for the 2.0x target."""


@contextlib.contextmanager
def server(
    latency: float, chunks: int, tool_calls: int, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """A bench server process; yields its base URL and process id."""
    proc = subprocess.Popen(
        [
            PY,
            str(HERE / "bench_server.py"),
            "--latency",
            str(latency),
            "--stream-chunks",
            str(chunks),
            "--tool-calls",
            str(tool_calls),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"bench server did not start: {url!r}")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def server_cpu(pid: int) -> float:
    """CPU seconds (user+sys) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_case(
    framework: str,
    mode: str,
    n: int,
    server: tuple[str, int],
    timeout: float,
    tool_seconds: float,
) -> dict[str, Any]:
    """One case in a fresh interpreter, killed after ``timeout`` seconds.

    Also reports the server's CPU per conversation over the whole case (warm-up included, so
    it slightly overstates; at 10 ms clock ticks it is coarse for short cases).
    """
    url, server_pid = server
    cpu_before = server_cpu(server_pid)
    cmd = [PY, str(HERE / "run_case.py"), "--framework", framework, "--mode", mode]
    cmd += ["--n", str(n), "--base-url", url, "--tool-seconds", str(tool_seconds)]
    cmd += ["--deadline", str(max(1.0, timeout - 10))]
    base = {"framework": framework, "mode": mode, "n": n, "load_before": load()}
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "status": f"timeout after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    partial = json.loads(lines[-1]).get("deadline") if lines else None
    if partial is not None:
        status = f"timeout after {partial['deadline_s']:.0f} s"
        return {**base, **partial, "status": status, "load_after": load()}
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {**base, "status": f"crashed (exit {done.returncode}): {tail[0][:200]}"}
    result = json.loads(lines[-1])
    if "skipped" in result:
        return {**base, "status": "skipped"}
    status = "ok" if result["errors"] == 0 and result["wrong_answers"] == 0 else "errors"
    elapsed = time.perf_counter() - started
    served = (server_cpu(server_pid) - cpu_before) * 1000 / (n + 1)  # +1: the warm-up
    return {
        **base,
        **result,
        "status": status,
        "case_s": elapsed,
        "server_cpu_ms_per_conv": served,
        "load_after": load(),
    }


def import_time(module: str, repeats: int, statement: str | None = None) -> dict[str, Any]:
    """Median wall and CPU time of ``import module`` in fresh interpreters (pyc caches warm).

    The CPU time (the process's own, around the import alone) is what the wall time would be
    on an idle machine: an import is single-threaded CPU work once files are cached. On this
    shared machine the wall time swings with the load (0.23-0.52 s for one build, load 2.6).
    ``statement`` replaces ``import module`` (for the dependency floor).

    The warm-up run writes the byte-code caches even where ``PYTHONDONTWRITEBYTECODE`` is set
    (as it is on the CI machines): an installed package has them, and without them every run
    would time compiling swarmlet's sources (about 50 ms here) rather than importing them.
    """
    statement = statement or f"import {module}"
    code = (
        f"import time; t = time.perf_counter(); c = time.process_time(); {statement}; "
        "print(time.perf_counter() - t, time.process_time() - c)"
    )
    writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([PY, "-c", statement], check=True, capture_output=True, env=writing)
    pairs = [
        subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True).stdout.split()
        for _ in range(repeats)
    ]
    times = [float(wall) for wall, _ in pairs]
    cpu = [float(c) for _, c in pairs]
    return {
        "module": module,
        "median_s": statistics.median(times),
        "runs": times,
        "cpu_median_s": statistics.median(cpu),
    }


def import_breakdown(module: str, top: int = 12) -> list[dict[str, Any]]:
    """Self import time summed by top-level package, from ``python -X importtime``."""
    done = subprocess.run(
        [PY, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True
    )
    totals: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        try:
            self_us = int(parts[0].split(":", 1)[1])
        except ValueError:
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0) + self_us
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [{"module": name, "cumulative_ms": us / 1000} for name, us in ranked]


def versions() -> dict[str, str]:
    out = {}
    dists = ("swarmlet", "openai", "openai-swarm", "openai-agents", "httpx2", "aiohttp")
    for dist in (*dists, "urllib3", "orjson"):
        with contextlib.suppress(Exception):
            out[dist] = version(dist)
    return out


def machine() -> dict[str, Any]:
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def plan(quick: bool, frameworks: list[str]) -> list[tuple[str, str, int]]:
    """(framework, mode, n) for every case; concurrent cases are in increasing N."""
    seq_n = 20 if quick else 200
    tools_n = 2 if quick else 5
    peers = [f for f in frameworks if f not in FLOORS]
    cases: list[tuple[str, str, int]] = []
    for mode in ("sequential", "streamed"):
        cases += [(f, mode, seq_n) for f in frameworks if f != GC_TUNED]
    for f in peers:
        if not f.startswith("swarmlet-sync"):
            cases += [(f, "concurrent", n) for n in ((100,) if quick else (100, 1000, 10000))]
    tooled = [f for f in peers if f not in NO_TOOLS and f != GC_TUNED]
    cases += [(f, "tools", tools_n) for f in tooled]
    cases += [(f, "tools-async", tools_n) for f in tooled if f in ASYNC_PEERS]
    return cases


def paired_rounds(
    server: tuple[str, int], rounds: int, n: int, timeout: float
) -> list[dict[str, Any]]:
    """``PAIR`` run back to back, ``rounds`` times per mode: the floor ratio without drift.

    On a shared machine the load moves between two cases minutes apart; a ratio of two cases
    run one right after the other, taken as the median over rounds, is steadier than one ratio
    of the main table.
    """
    out = []
    for round_no in range(rounds):
        for mode in ("sequential", "streamed"):
            for framework in PAIR:
                result = run_case(framework, mode, n, server, timeout, 0.2)
                out.append({**result, "round": round_no})
                print("paired", _progress(result), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    parser.add_argument("--tool-calls", type=int, default=8)
    parser.add_argument("--tool-seconds", type=float, default=0.2)
    parser.add_argument("--stream-chunks", type=int, default=8)
    parser.add_argument("--only", nargs="*", help="run only these frameworks")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--rounds", type=int, default=7, help="paired floor rounds")
    # 1,000 conversations per paired case: at 200 (about 0.3 s of CPU) one round's ratio moved
    # from 1.3x to 3.7x on a shared VM; at 1,000 the rounds of the next run stayed in 1.4-2.4x.
    parser.add_argument("--pair-n", type=int, default=1000, help="conversations per paired case")
    args = parser.parse_args()

    frameworks = FLOORS + ASYNC_PEERS + SYNC_PEERS + [GC_TUNED]
    if importlib.util.find_spec("swarmlet.models.fast_http") is None:
        frameworks = [f for f in frameworks if f not in ("swarmlet-fasthttp", GC_TUNED)]
    if args.only:
        frameworks = [f for f in frameworks if f in args.only]
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "settings": {
            "timeout_s": args.timeout,
            "tool_calls": args.tool_calls,
            "tool_seconds": args.tool_seconds,
            "stream_chunks": args.stream_chunks,
            "concurrent_latency_s": 0.2,
            "http": "openai client, max_retries=0, httpx2.Limits(max_connections=max_keepalive="
            "max(N, 10)) for every framework on the SDK; FastHTTPModel(max_connections=max(N, "
            "10)); RLIMIT_NOFILE raised to the hard limit",
        },
        "load_start": load(),
        "cases": [],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    broken: set[str] = set()
    with (
        server(0.0, args.stream_chunks, args.tool_calls) as fast_server,
        server(0.2, args.stream_chunks, args.tool_calls) as slow_server,
    ):
        for framework, mode, n in plan(args.quick, frameworks):
            if mode == "concurrent" and framework in broken:
                report["cases"].append(
                    {"framework": framework, "mode": mode, "n": n, "status": "not run: broke"}
                )
                continue
            target = slow_server if mode == "concurrent" else fast_server
            # 30,000 requests on 2 shared cores: the largest case gets twice the time box.
            timeout = args.timeout * (2 if n >= 10000 else 1)
            result = run_case(framework, mode, n, target, timeout, args.tool_seconds)
            if mode == "concurrent" and result["status"] != "ok":
                broken.add(framework)
            report["cases"].append(result)
            print(_progress(result), flush=True)
        if all(f in frameworks for f in PAIR):
            rounds = 2 if args.quick else args.rounds
            n = 20 if args.quick else args.pair_n
            report["paired"] = paired_rounds(fast_server, rounds, n, args.timeout)
    repeats = 3 if args.quick else 7
    report["imports"] = {name: import_time(mod, repeats) for name, mod in IMPORTS.items()}
    label, statement = DEPENDENCY_FLOOR
    report["imports"]["dependencies (reference)"] = import_time(label, repeats, statement)
    report["import_breakdown_swarmlet"] = import_breakdown("swarmlet")
    report["load_end"] = load()
    (out / "results.json").write_text(json.dumps(report, indent=2))
    from report import write_chart, write_markdown

    write_markdown(report, out / "results.md")
    write_chart(report, out / "chart.png")
    print((out / "results.md").read_text())


def _progress(r: dict[str, Any]) -> str:
    if "cpu_ms_per_conv" not in r:
        return f"{r['framework']:18} {r['mode']:12} n={r['n']:<6} {r['status']}"
    return (
        f"{r['framework']:18} {r['mode']:12} n={r['n']:<6} {r['status']:6} "
        f"cpu/conv={r['cpu_ms_per_conv']:7.2f} ms wall={r['wall_s']:7.2f} s "
        f"rss={r['peak_rss_mb']:6.1f} MB req/conv={r['requests_per_conversation']:.2f} "
        f"load={r['load_before']}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
