"""Swarm's module path ``swarm.repl.repl``: ``run_demo_loop`` and Swarm's two print helpers.

A Swarm program that imports ``from swarm.repl.repl import pretty_print_messages`` (or
``process_and_print_streaming_response``) works after changing ``swarm`` to ``swarmlet``. The
helpers print what Swarm's do: the speaking agent's name, its text, and its tool calls with
their arguments, using the same ANSI colours (blue names, magenta tool names).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from swarmlet.agent import Response
from swarmlet.repl.session import run_demo_loop

__all__ = ["pretty_print_messages", "process_and_print_streaming_response", "run_demo_loop"]

_NAME = "\033[94m"
_TOOL = "\033[95m"
_RESET = "\033[0m"


def process_and_print_streaming_response(response: Iterable[dict[str, Any]]) -> Response | None:
    """Print a ``client.run(..., stream=True)`` stream as it arrives; return its ``Response``.

    Each reply starts with the speaking agent's name; tool calls are printed by name as they
    start; a reply's text ends with a newline at its ``{"delim": "end"}``.
    """
    printed_text = False
    sender = ""
    for event in response:
        if "response" in event:
            result: Response = event["response"]
            return result
        sender = event.get("sender") or sender
        if event.get("delim") == "end":
            if printed_text:
                print()
            printed_text = False
        if event.get("content"):
            if not printed_text:
                print(f"{_NAME}{sender}:{_RESET}", end=" ", flush=True)
            print(event["content"], end="", flush=True)
            printed_text = True
        for call in event.get("tool_calls") or []:
            name = (call.get("function") or {}).get("name")
            if name:
                print(f"{_NAME}{sender}: {_TOOL}{name}{_RESET}()")
    return None


def pretty_print_messages(messages: Iterable[dict[str, Any]]) -> None:
    """Print the assistant messages of a run: who spoke, what it said, which tools it called."""
    for message in messages:
        if message.get("role") != "assistant":
            continue
        print(f"{_NAME}{message.get('sender', 'Assistant')}{_RESET}:", end=" ")
        if message.get("content"):
            print(message["content"])
        calls = message.get("tool_calls") or []
        if len(calls) > 1:
            print()
        for call in calls:
            function = call.get("function") or {}
            print(f"{_TOOL}{function.get('name')}{_RESET}({_arguments(function.get('arguments'))})")


def _arguments(raw: str | None) -> str:
    """``a=1, b="x"`` for a call's JSON arguments (the raw text if it is not a JSON object)."""
    try:
        parsed = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return raw or ""
    if not isinstance(parsed, dict):
        return raw or ""
    return ", ".join(f"{key}={json.dumps(value)}" for key, value in parsed.items())
