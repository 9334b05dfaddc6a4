#!/usr/bin/env bash
# Set up a .venv with swarmlet and run the quickstart demo (two agents and a handoff).
# Without OPENAI_API_KEY/OPENAI_BASE_URL it runs offline on swarmlet's ScriptedModel.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
.venv/bin/python examples/quickstart.py "$@"
