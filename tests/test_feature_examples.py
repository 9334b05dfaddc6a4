"""The runnable examples of the feature docs (docs/*.md) run offline and print what they say."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out.splitlines()


def test_guardrails_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("guardrails.py", capsys) == [
        "input blocked by no_card_numbers: 16 digits; model calls: 0",
        "tool said: Refused: refunds above 100 need a manager.",
        "answer: I cannot refund that much myself.",
        "answer withheld by no_promises",
    ]


def test_hooks_example(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("hooks.py", capsys)
    assert lines[:3] == [
        "[Triage] model call #1",
        '[Triage] to_billing -> {"assistant": "Billing"}',
        "handoff Triage -> Billing",
    ]
    assert lines[-2:] == ["run ended", "You owe 12 EUR."]


def test_approvals_example(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("approvals.py", capsys)
    assert lines[0].startswith('waiting for approval: transfer({"amount": 500, "to": "Bob"})')
    assert lines[1:] == ["  (transferring 500 to Bob)", "Done: 500 sent to Bob."]


def test_usage_example(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("usage.py", capsys)
    assert lines[0] == "requests: 2"
    assert lines[1].startswith("tokens: ") and not lines[1].startswith("tokens: 0 in")
    assert [line.split(":")[0].strip() for line in lines[2:]] == ["Triage", "Billing"]


def test_history_example(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run("history.py", capsys)
    support_calls = lines[lines.index("call 2 (Support) was sent:") :]
    assert support_calls[1] == "  user: what did I order?"  # only the last turn
    assert "  assistant: ['transfer_to_support']" not in support_calls  # no triage tool calls
    assert any(line.endswith("... (shortened)") for line in support_calls)
    assert lines[-1] == "the run's history keeps all 8 messages"
