"""One benchmark case (framework x mode) in a fresh interpreter; prints one JSON line.

Measures only the workload: imports, client construction and one warm-up conversation happen
before the clock starts. CPU is this process's user+sys (all threads) from
``resource.getrusage``; the model server is another process and is not counted. Peak RSS is
``ru_maxrss`` of this process, so it includes the imports.

    python bench/run_case.py --framework swarmlet --mode concurrent --n 1000 --base-url URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import frameworks
from bench_server import raise_fd_limit
from floor import FLOORS

REGISTRY: dict[str, type[frameworks.Framework]] = {
    **frameworks.FRAMEWORKS,
    **{floor.name: floor for floor in FLOORS},
}

MODES = ("sequential", "streamed", "concurrent", "tools", "tools-async")


def server_stats(base_url: str) -> dict[str, Any]:
    """Ask the bench server for its request count (the stats request is not counted)."""
    body = json.dumps({"model": "__stats__", "messages": []}).encode()
    request = urllib.request.Request(
        base_url.rstrip("/") + "/chat/completions",
        data=body,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        payload = json.loads(answer.read())
    return json.loads(payload["choices"][0]["message"]["content"])


def _usage() -> tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


async def _async_workload(fw: frameworks.Framework, mode: str, n: int) -> list[Any]:
    """n conversations of ``mode`` on the running loop: answers (str) or exceptions."""
    if mode in ("sequential", "streamed"):
        return [await fw.conversation(mode == "streamed") for _ in range(n)]
    if mode == "concurrent":
        return await frameworks.gather_all(lambda: fw.conversation(False), n)
    answers = []
    for _ in range(n):
        frameworks.TOOL_SPANS.clear()
        answers.append(await fw.tools_conversation(mode == "tools-async"))
        SPANS.append(_span())
    return answers


def _sync_workload(fw: frameworks.Framework, mode: str, n: int, workers: int) -> list[Any]:
    """The same for synchronous frameworks; concurrency comes from a thread pool."""
    if mode in ("sequential", "streamed"):
        return [fw.conversation_sync(mode == "streamed") for _ in range(n)]
    if mode == "concurrent":
        return frameworks.run_threads(lambda: fw.conversation_sync(False), n, workers)
    answers = []
    for _ in range(n):
        frameworks.TOOL_SPANS.clear()
        answers.append(fw.tools_conversation_sync())
        SPANS.append(_span())
    return answers


SPANS: list[float] = []


def _span() -> float:
    got = frameworks.TOOL_SPANS
    return max(e for _, e in got) - min(s for s, _ in got) if got else float("nan")


def _measure(
    fw: frameworks.Framework, mode: str, n: int, workers: int, base_url: str
) -> dict[str, Any]:
    """Warm up once, then run the workload between two usage/stat readings."""
    warm_mode = mode if mode.startswith("tools") else "sequential"

    async def run_async() -> tuple[list[Any], dict[str, Any]]:
        await _async_workload(fw, warm_mode, 1)
        SPANS.clear()
        reading = await asyncio.to_thread(_reading, base_url)
        answers = await _async_workload(fw, mode, n)
        await fw.aclose()
        return answers, reading

    if fw.is_async:
        answers, start = asyncio.run(run_async())
    else:
        _sync_workload(fw, warm_mode, 1, 1)
        SPANS.clear()
        start = _reading(base_url)
        answers = _sync_workload(fw, mode, n, workers)
    end = _reading(base_url)
    return {"answers": answers, "start": start, "end": end}


def _reading(base_url: str) -> dict[str, Any]:
    u, s = _usage()
    stats = server_stats(base_url)
    BEFORE[0] = stats["requests"]
    return {"user": u, "sys": s, "wall": time.perf_counter(), "stats": stats}


def _watchdog(deadline: float, args: argparse.Namespace) -> None:
    """At ``deadline`` s, print what the case got to (peak RSS, requests served) and exit.

    A time-boxed case that does not finish still reports its peak RSS with every
    conversation in flight, instead of being killed without a word.
    """

    def fire() -> None:
        time.sleep(deadline)
        with contextlib.suppress(Exception):
            served = server_stats(args.base_url)["requests"] - BEFORE[0]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            report = {"deadline_s": deadline, "peak_rss_mb": rss, "requests_by_deadline": served}
            print(json.dumps({"framework": args.framework, "deadline": report}), flush=True)
        os._exit(3)

    threading.Thread(target=fire, daemon=True).start()


BEFORE = [0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", required=True, choices=sorted(REGISTRY))
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--tool-seconds", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=0, help="threads for sync frameworks")
    parser.add_argument("--deadline", type=float, default=0, help="give up after s (0: never)")
    args = parser.parse_args()
    raise_fd_limit()
    frameworks.TOOL_SECONDS = args.tool_seconds
    fw_cls = REGISTRY[args.framework]
    pool = max(args.n, 10) if args.mode == "concurrent" else 10
    workers = args.workers or args.n
    if args.mode == "tools-async" and not fw_cls.is_async:
        print(json.dumps({"skipped": "synchronous framework: no async tools"}))
        return
    if args.deadline:
        _watchdog(args.deadline, args)
    fw = fw_cls(args.base_url, pool)
    measured = _measure(fw, args.mode, args.n, workers, args.base_url)
    answers, start, end = measured["answers"], measured["start"], measured["end"]
    u0, s0, w0 = start["user"], start["sys"], start["wall"]
    u1, s1, wall = end["user"], end["sys"], end["wall"] - w0
    before, stats = start["stats"]["requests"], end["stats"]
    errors = [a for a in answers if isinstance(a, BaseException)]
    wrong = [a for a in answers if isinstance(a, str) and a != frameworks.ANSWER]
    result: dict[str, Any] = {
        "framework": args.framework,
        "mode": args.mode,
        "n": args.n,
        "ok": len(answers) - len(errors) - len(wrong),
        "errors": len(errors),
        "wrong_answers": len(wrong),
        "first_error": repr(errors[0])[:300]
        if errors
        else (repr(wrong[0])[:300] if wrong else None),
        "requests": stats["requests"] - before,
        "requests_per_conversation": (stats["requests"] - before) / max(1, args.n),
        "cpu_ms_per_conv": (u1 - u0 + s1 - s0) * 1000 / args.n,
        "user_ms_per_conv": (u1 - u0) * 1000 / args.n,
        "sys_ms_per_conv": (s1 - s0) * 1000 / args.n,
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.mode.startswith("tools"):
        spans = SPANS
        gaps = stats["tool_gaps"]
        result["tool_span_s"] = statistics.median(spans)
        result["tool_gap_s"] = statistics.median(gaps) if gaps else None
        result["tool_seconds"] = args.tool_seconds
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
