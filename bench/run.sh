#!/usr/bin/env bash
# The whole benchmark in one command: set up bench/.venv if needed, run, write bench/results/.
#   bash bench/run.sh            # full run (~20 min on 2 cores)
#   bash bench/run.sh --quick    # smoke run (~2 min)
# Extra arguments go to bench/bench.py (e.g. --timeout 60, --only swarmlet openai-swarm).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ ! -f "$HERE/.venv/.bench-ready" ]]; then
    bash "$HERE/setup.sh"
fi
echo "load before: $(uptime)"
"$HERE/.venv/bin/python" "$HERE/bench.py" "$@"
echo "load after: $(uptime)"
