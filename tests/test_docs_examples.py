"""The Python examples in the feature docs run as written (offline, on scripted models)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["structured-output.md", "fanout.md", "agents-as-tools.md"]


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("page", PAGES)
def test_every_python_block_runs(page: str) -> None:
    blocks = _python_blocks(page)
    assert blocks, f"{page} has no python example"
    namespace: dict[str, object] = {"__name__": "__docs__"}  # later blocks build on earlier
    for block in blocks:
        exec(compile(block, f"{page} example", "exec"), namespace)
