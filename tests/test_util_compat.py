"""Swarm's ``swarm.util`` helpers behave as before (and merge every tool-call delta)."""

from __future__ import annotations

import pytest

from swarmlet.util import debug_print, merge_chunk


def test_merge_chunk_merges_content_and_every_tool_call_of_a_chunk() -> None:
    final: dict = {"content": "", "tool_calls": {}}  # type: ignore[type-arg]
    merge_chunk(final, {"role": "assistant", "content": "Hel", "tool_calls": None})
    merge_chunk(final, {"content": "lo", "tool_calls": None})
    merge_chunk(
        final,
        {
            "content": None,
            "tool_calls": [
                {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x"'}},
                {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
            ],
        },
    )
    merge_chunk(final, {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]})
    assert final["content"] == "Hello"
    assert final["tool_calls"][0] == {"id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}}
    assert final["tool_calls"][1]["function"]["name"] == "g"
    assert "role" not in final


def test_debug_print_prints_only_when_debugging(capsys: pytest.CaptureFixture[str]) -> None:
    debug_print(False, "hidden")
    debug_print(True, "shown", 42)
    out = capsys.readouterr().out
    assert "hidden" not in out and out.rstrip().endswith("shown 42")
