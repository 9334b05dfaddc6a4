"""Profile one framework's workload with pyinstrument (bench/.venv has it).

    bench/.venv/bin/python bench/profile_swarmlet.py --framework swarmlet --mode sequential --n 200

Starts its own bench server process, runs the workload once in this process under the
profiler, and writes bench/results/profile-<framework>-<mode>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
import frameworks  # noqa: E402
import run_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", default="swarmlet")
    parser.add_argument("--mode", default="sequential", choices=run_case.MODES)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    from pyinstrument import Profiler

    bench_server = bench.server(args.latency, 8, 8)
    with bench_server as url:
        run_case.raise_fd_limit()
        fw = frameworks.FRAMEWORKS[args.framework](url, max(args.n, 10))
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        if fw.is_async:

            async def go() -> None:
                await run_case._async_workload(fw, "sequential", 1)
                profiler.start()
                await run_case._async_workload(fw, args.mode, args.n)
                profiler.stop()

            asyncio.run(go())
        else:
            run_case._sync_workload(fw, "sequential", 1, 1)
            profiler.start()
            run_case._sync_workload(fw, args.mode, args.n, args.n)
            profiler.stop()
    out = HERE / "results" / f"profile-{args.framework}-{args.mode}.txt"
    out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    print(out)


if __name__ == "__main__":
    main()
