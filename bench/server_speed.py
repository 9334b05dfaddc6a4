"""The scripted server's own cost: its CPU per conversation under fixed clients.

    bench/.venv/bin/python bench/server_speed.py [--n 1000] [--src DIR]

Runs the bench server process and drives it with the aiohttp floor client (sequential and
streamed) and with swarmlet-fasthttp (1,000 concurrent conversations at 200 ms latency), then
prints the server process's CPU ms per conversation and the client's CPU and wall time for
each. Used
to compare server implementations (docs/benchmarks.md, "The scripted server"): ``--src`` puts
another checkout's ``src`` first on the server's path, e.g. one made with
``git worktree add /tmp/old <commit>``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--src", help="serve with the swarmlet found in this src directory")
    args = parser.parse_args()
    env = None
    if args.src:
        env = {**os.environ, "PYTHONPATH": os.path.abspath(args.src)}
    rows = []
    for latency, framework, mode, n in (
        (0.0, "floor-aiohttp", "sequential", args.n),
        (0.0, "floor-aiohttp", "streamed", args.n),
        (0.2, "swarmlet-fasthttp", "concurrent", 1000),
    ):
        with bench.server(latency, 8, 8, env) as target:
            result = bench.run_case(framework, mode, n, target, 120, 0.2)
        rows.append(
            {
                "client": framework,
                "mode": mode,
                "n": n,
                "status": result["status"],
                "server_cpu_ms_per_conv": round(result.get("server_cpu_ms_per_conv", 0), 3),
                "client_cpu_ms_per_conv": round(result.get("cpu_ms_per_conv", 0), 3),
                "client_wall_s": round(result.get("wall_s", 0), 2),
                "load": result["load_before"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
