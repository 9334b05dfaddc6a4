"""JSON for the HTTP provider: ``orjson`` when installed, the standard library otherwise.

orjson is optional: several times faster than the standard library, never required.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads", "stdlib_dumps"]


def stdlib_dumps(obj: Any) -> bytes:
    """``obj`` as UTF-8 JSON bytes, with the standard library."""
    return json.dumps(obj, ensure_ascii=False).encode()


def _codec() -> tuple[Callable[[Any], bytes], Callable[[bytes | str], Any]]:
    try:
        orjson = importlib.import_module("orjson")
    except ImportError:
        return stdlib_dumps, json.loads
    orjson_dumps = orjson.dumps

    def exact_dumps(obj: Any) -> bytes:
        # orjson hands back its output in a buffer of at least 4 KiB. A request body lives
        # until its reply arrives, so with 10,000 conversations in flight those buffers alone
        # held ~40 MB; an exact-size copy costs ~0.6 us (docs/benchmarks.md, issue-8 targets).
        return memoryview(orjson_dumps(obj)).tobytes()

    return exact_dumps, orjson.loads


dumps, loads = _codec()
