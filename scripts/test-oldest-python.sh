#!/usr/bin/env bash
# Run the test suite on the oldest supported Python (3.10), when this machine has one.
# The offline-model tests are left out here: they compile llama-cpp-python a second time; so
# are the Ray tests (the ray extra is a large install, and its code is the same on 3.10).
# (Python 3.10 differs in ways that matter: asyncio.TimeoutError is not TimeoutError there.)
# The agent server (tests/agent_server) is left out too: its FastAPI needs Python >= 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."

py=""
for candidate in "$HOME"/.pyenv/versions/3.10*/bin/python python3.10; do
    # A pyenv shim may exist without a working 3.10 behind it: try it.
    if "$candidate" --version >/dev/null 2>&1; then
        py="$candidate"
        break
    fi
done
if [ -z "$py" ]; then
    echo "== Python 3.10 not found on this machine: skipping the oldest-Python run"
    exit 0
fi
echo "== pytest on $("$py" --version)"
if [ ! -x .venv310/bin/python ]; then
    "$py" -m venv .venv310
fi
.venv310/bin/python -m pip install --quiet --upgrade pip
.venv310/bin/python -m pip install --quiet -e '.[dev,fast,analysis,mcp]'
.venv310/bin/python -m pytest -q -p no:cacheprovider \
    --ignore=tests/test_local_model.py --ignore=tests/test_llama_server.py \
    --ignore=tests/test_demo_command.py --ignore=tests/agent_server \
    --ignore=tests/test_batch_ray.py
