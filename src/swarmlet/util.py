"""Helpers kept for drop-in compatibility with Swarm's ``swarm.util`` module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swarmlet.schema import function_schema

__all__ = ["function_to_json"]


def function_to_json(func: Callable[..., Any]) -> dict[str, Any]:
    """Swarm's helper: describe ``func`` as a Chat Completions tool dict.

    Same output as ``swarm.util.function_to_json`` for the types Swarm understands; richer
    annotations (``Optional``, ``Literal``, ``list[int]``, pydantic models...) are described
    properly instead of falling back to ``"string"``. Equivalent to
    ``function_schema(func).to_tool()``.
    """
    return function_schema(func).to_tool()
