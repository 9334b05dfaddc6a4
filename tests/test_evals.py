"""Evals end to end: a scripted model that is right on some cases and wrong on others on purpose."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from swarmlet import Agent
from swarmlet.cli import app
from swarmlet.evals import EvalCase, evaluate, load_cases, run_evals
from swarmlet.exceptions import UsageError
from swarmlet.models.base import AssistantMessage, MessageDelta, Model, ModelRequest

CASES = [
    {"conversation": [{"role": "user", "content": "I want a refund"}], "function": "refund"},
    {"conversation": [{"role": "user", "content": "buy shoes"}], "function": "sell"},
    {"conversation": [{"role": "user", "content": "hello"}], "function": "None"},
    {
        "conversation": [
            {"role": "user", "content": "earlier message"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "flaky"},
        ],
        "function": "sell",
    },
    {"conversation": [{"role": "user", "content": "explode"}], "function": "None"},
]
# With n=5: refund 5/5, shoes 0/5 (answers "refund"), hello 5/5, flaky 3/5, explode 0/5.
EXPECTED_CORRECT = [5, 0, 5, 3, 0]

# The agents module used by the CLI tests: the same responder, written out as a file.
AGENTS_FILE = textwrap.dedent(
    """
    from swarmlet import Agent
    from swarmlet.testing import ScriptedModel, tool_call

    flaky_calls = []

    def responder(request):
        last = request.messages[-1]["content"]
        if last == "I want a refund" or last == "buy shoes":
            return tool_call("refund", {"reason": "x"})
        if last == "flaky":
            flaky_calls.append(1)
            return tool_call("sell") if len(flaky_calls) % 2 else "sorry?"
        if last == "explode":
            return RuntimeError("backend down")
        return "Hi there!"

    def refund(reason: str) -> str:
        raise AssertionError("evals must not execute tools")

    def sell() -> str:
        raise AssertionError("evals must not execute tools")

    def make_agent():
        return Agent(name="Shop", model=ScriptedModel(responder=responder),
                     functions=[refund, sell])
    """
)


def _agents(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "shop_agents.py"
    path.write_text(AGENTS_FILE)
    namespace: dict[str, Any] = {}
    exec(compile(AGENTS_FILE, str(path), "exec"), namespace)
    return namespace


def _cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(CASES))
    return path


def test_load_cases_reads_swarm_format_and_none(tmp_path: Path) -> None:
    cases = load_cases(_cases_file(tmp_path))
    assert [case.expected for case in cases] == ["refund", "sell", None, "sell", None]
    assert cases[3].last_user_message == "flaky"
    assert cases[0].source == "cases.json#1"


@pytest.mark.parametrize("content", ['{"conversation": []}', "[1]", "not json"])
def test_load_cases_rejects_malformed_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UsageError):
        load_cases(path)


async def test_accuracy_per_case_and_overall_with_errors_counted_wrong(tmp_path: Path) -> None:
    agent = _agents(tmp_path)["make_agent"]()
    seen: list[int] = []
    report = await run_evals(
        agent,
        load_cases(_cases_file(tmp_path)),
        n=5,
        concurrency=3,
        progress=lambda outcome: seen.append(outcome.case_index),
    )
    assert [case.correct for case in report.cases] == EXPECTED_CORRECT
    assert [case.accuracy for case in report.cases] == [1.0, 0.0, 1.0, 0.6, 0.0]
    assert report.runs == 25 and report.correct == 13
    assert report.accuracy == pytest.approx(13 / 25)
    assert sorted(seen) == [i for i in range(5) for _ in range(5)]  # progress once per run
    assert report.cases[1].got == ["refund"] * 5
    assert report.cases[2].got == [None] * 5
    assert report.cases[3].counts == {"sell": 3, "None": 2}
    explode = report.cases[4]
    assert explode.counts == {"error": 5}
    assert len(explode.errors) == 5
    assert "backend down" in explode.errors[0] and "ModelError" in explode.errors[0]
    # one model call per run, never a second turn (max_turns=1, tools not executed)
    assert len(agent.model.requests) == 25


class _CountingModel(Model):
    """Tracks how many requests are in flight at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    async def complete(self, request: ModelRequest) -> AssistantMessage:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.01)
        self.active -= 1
        return AssistantMessage(content="hi")

    async def stream(self, request: ModelRequest) -> Any:  # pragma: no cover - not streamed
        yield MessageDelta(content="hi")


async def test_concurrency_is_limited() -> None:
    model = _CountingModel()
    cases = [EvalCase([{"role": "user", "content": str(i)}], None) for i in range(4)]
    report = await run_evals(Agent(model=model), cases, n=5, concurrency=3)
    assert model.peak == 3
    assert report.accuracy == 1.0 and report.runs == 20


def test_sync_evaluate_takes_a_path(tmp_path: Path) -> None:
    agent = _agents(tmp_path)["make_agent"]()
    report = evaluate(agent, _cases_file(tmp_path), n=2)
    # flaky alternates sell / text: 1 of 2 right
    assert [case.correct for case in report.cases] == [2, 0, 2, 1, 0]
    data = json.loads(report.to_json())
    assert data["runs"] == 10 and data["correct"] == 5 and data["accuracy"] == 0.5


def _cli_eval(tmp_path: Path, *extra: str) -> Any:
    (tmp_path / "shop_agents.py").write_text(AGENTS_FILE)
    args = ["eval", str(_cases_file(tmp_path)), "--agent", f"{tmp_path}/shop_agents.py:make_agent"]
    return CliRunner().invoke(app, [*args, *extra])


def test_cli_eval_writes_json_and_passes_above_min_accuracy(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = _cli_eval(tmp_path, "-n", "5", "--min-accuracy", "0.5", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Overall accuracy: 52.0% (13/25 runs)" in result.output
    assert "flaky" in result.output and "sell ×3" in result.output
    data = json.loads(out.read_text())
    assert data["accuracy"] == pytest.approx(0.52)
    assert [case["correct"] for case in data["cases"]] == EXPECTED_CORRECT
    assert [case["runs"] for case in data["cases"]] == [5] * 5
    assert data["cases"][1]["expected"] == "sell"
    assert data["cases"][1]["counts"] == {"refund": 5}
    assert data["cases"][2]["expected"] == "None"
    assert data["cases"][4]["got"] == ["error"] * 5
    assert "backend down" in data["cases"][4]["errors"][0]


def test_cli_eval_exits_1_below_min_accuracy_and_counts_repetitions(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = _cli_eval(tmp_path, "-n", "3", "--min-accuracy", "0.9", "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "below --min-accuracy" in result.output
    data = json.loads(out.read_text())
    assert data["runs"] == 15
    # flaky over 3 runs: sell, text, sell
    assert [case["correct"] for case in data["cases"]] == [3, 0, 3, 2, 0]


def test_cli_eval_needs_exactly_one_agent_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(_cases_file(tmp_path))])
    assert result.exit_code == 2
    assert "exactly one of --agent" in result.output
    assert "Traceback" not in result.output
