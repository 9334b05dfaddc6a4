#!/usr/bin/env bash
# Create the benchmark virtualenv bench/.venv: swarmlet (editable, from this repo) plus the
# peers it is compared with. The peers never become swarmlet dependencies.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# One resolver run for everything, so pip finds an `openai` version that swarmlet
# (openai>=1.40), openai-swarm and openai-agents all accept (see bench/constraints.txt).
"$VENV/bin/python" -m pip install --quiet \
    -c "$HERE/constraints.txt" \
    -e "$ROOT" \
    'openai[aiohttp]' openai-swarm openai-agents matplotlib psutil orjson pyinstrument urllib3
"$VENV/bin/python" - <<'PY'
from importlib.metadata import version
for name in ("swarmlet", "openai", "openai-swarm", "openai-agents", "httpx2", "aiohttp", "urllib3", "orjson"):
    try:
        print(f"{name}=={version(name)}")
    except Exception as exc:  # noqa: BLE001
        print(f"{name}: not installed ({exc})")
PY
touch "$VENV/.bench-ready"
