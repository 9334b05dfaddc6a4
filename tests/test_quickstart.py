"""The README's demo program runs offline and shows a handoff."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs_offline_on_the_scripted_model(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("No OPENAI_API_KEY set: using swarmlet's ScriptedModel")
    assert "English Agent: calls transfer_to_spanish_agent" in lines
    assert "Spanish Agent: ¡Hola! ¿En qué puedo ayudarte?" in lines
    assert lines[-1] == "Active agent at the end: Spanish Agent"
