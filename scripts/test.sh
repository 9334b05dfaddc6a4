#!/usr/bin/env bash
# Set up (a .venv with swarmlet and its dev, local, fast, server, postgres, ray, analysis and
# mcp extras, Debian's PostgreSQL server for the session tests and Debian's Chromium for the
# web UI tests) and run every check:
# ruff (lint + format), mypy (strict), then the whole pytest suite.
# This is THE test command: README.md shows it and .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# llama-cpp-python (the `local` extra) compiles from source the first time (~5 min on 2 cores);
# pip caches the wheel afterwards.
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev,local,fast,server,postgres,ray,analysis,mcp]'
# The session tests start a real PostgreSQL server from Debian's binaries.
bash scripts/install-postgres.sh
# The web UI's browser tests drive Debian's Chromium through Playwright.
bash scripts/install-chromium.sh

echo "== ruff"
.venv/bin/ruff check src tests examples
.venv/bin/ruff format --check src tests examples
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest -q "$@"
