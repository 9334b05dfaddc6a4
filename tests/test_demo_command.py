"""The README's demo path: `swarmlet demo airline` runs offline on the bundled model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_airline_demo_runs_offline_on_the_bundled_model(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(HF_HUB_OFFLINE="1", SWARMLET_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "swarmlet.cli", "demo", "airline"],
        input="Hello, I need help with my booking\n/agent\n",
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "bundled offline model" in out and "SmolLM2-135M" in out
    assert "Traceback" not in out
    # Some agent answered or called a tool (we do not assert what a 135M model chooses),
    # and /agent named the active agent.
    agent = r"(Triage|Flight Modification|Flight Cancel|Flight Change|Lost Baggage) Agent"
    assert re.search(rf"^{agent}(: | called )", out, re.MULTILINE)
    assert re.search(rf"^Active agent: {agent}$", out, re.MULTILINE)
