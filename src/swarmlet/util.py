"""Helpers kept for drop-in compatibility with Swarm's ``swarm.util`` module."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from swarmlet.schema import function_schema

__all__ = ["debug_print", "function_to_json", "merge_chunk", "merge_fields"]


def function_to_json(func: Callable[..., Any]) -> dict[str, Any]:
    """Swarm's helper: describe ``func`` as a Chat Completions tool dict.

    Same output as ``swarm.util.function_to_json`` for the types Swarm understands; richer
    annotations (``Optional``, ``Literal``, ``list[int]``, pydantic models...) are described
    properly instead of falling back to ``"string"``. Equivalent to
    ``function_schema(func).to_tool()``.
    """
    return function_schema(func).to_tool()


def debug_print(debug: bool, *args: object) -> None:
    """Print ``args`` with a timestamp when ``debug`` is true (Swarm's helper).

    swarmlet itself logs through the ``swarmlet`` logger instead; this stays for programs
    that call it directly.
    """
    if debug:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        print(f"[{stamp}] {' '.join(map(str, args))}")


def merge_fields(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Append the string fields of ``source`` to ``target``, recursing into dicts."""
    for key, value in source.items():
        if isinstance(value, str):
            target[key] = target.get(key, "") + value
        elif isinstance(value, dict):
            merge_fields(target.setdefault(key, {}), value)


def merge_chunk(final_response: dict[str, Any], delta: dict[str, Any]) -> None:
    """Merge one streamed delta dict into ``final_response`` (Swarm's helper).

    Unlike Swarm's, every tool-call delta of the chunk is merged (by its ``index``), and
    ``final_response["tool_calls"]`` is created as a dict keyed by index when missing.
    """
    delta = {k: v for k, v in delta.items() if k not in ("role", "sender")}
    tool_calls = delta.pop("tool_calls", None) or []
    merge_fields(final_response, delta)
    calls = final_response.setdefault("tool_calls", {})
    for call in tool_calls:
        fragment = {k: v for k, v in call.items() if k != "index"}
        merge_fields(calls.setdefault(call["index"], {}), fragment)
