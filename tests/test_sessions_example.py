"""examples/sessions.py runs offline and continues its conversation across two processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_sessions_example_continues_across_processes(tmp_path: Path) -> None:
    db = tmp_path / "chats.db"

    def run() -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "sessions.py"), str(db)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    first = run()
    assert "Spanish Agent: ¡Hola! ¿Qué tal?" in first
    assert "¿Sigues ahí?" not in first
    second = run()
    assert second.startswith("Answered by: Spanish Agent")
    assert "user: ¿Sigues ahí?\nSpanish Agent: Seguimos: ya son 4 mensajes." in second
