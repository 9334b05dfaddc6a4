"""Function-calling evals in Swarm's format: does the agent call the right tool (or none)?

An eval-case file is a JSON list of ``{"conversation": [messages...], "function": NAME}``;
``"function": "None"`` means the agent should answer without calling a tool. Each case runs
``n`` times with ``max_turns=1`` and ``execute_tools=False`` (only the first model call
matters, nothing is executed) and the name of the first tool call is compared to the
expectation. A run that fails counts as wrong and keeps its error text.

::

    report = evaluate(triage_agent, load_cases("triage_cases.json"), client=client, n=5)
    assert report.accuracy >= 0.9, report.to_json()
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent
from swarmlet.core import Swarm
from swarmlet.exceptions import ConfigurationError, RunError, UsageError

__all__ = [
    "NO_FUNCTION",
    "CaseResult",
    "EvalCase",
    "EvalReport",
    "RunOutcome",
    "evaluate",
    "load_cases",
    "run_evals",
]

NO_FUNCTION = "None"
"""How eval files (and reports) spell "no tool call expected/made"."""

ERROR_LABEL = "error"
"""How a failed run is counted in :attr:`CaseResult.counts`."""

Progress = Callable[["RunOutcome"], None]
"""Called once per finished run (e.g. to advance a progress bar)."""


@dataclass(frozen=True)
class EvalCase:
    """One eval case.

    Attributes:
        conversation: the messages given to the agent.
        expected: the function the first tool call should name, ``None`` for "no tool call".
        source: where the case came from (``file.json#3``), for reports.
    """

    conversation: list[dict[str, Any]]
    expected: str | None
    source: str = ""

    @property
    def last_user_message(self) -> str:
        """The content of the conversation's last user message (what the case is about)."""
        for message in reversed(self.conversation):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""


@dataclass(frozen=True)
class RunOutcome:
    """One run of one case: the function called first (``None``: no call), or the error."""

    case_index: int
    function: str | None
    error: str | None = None

    @property
    def label(self) -> str:
        """``error``, ``None`` or the function name: the key used in counts."""
        if self.error is not None:
            return ERROR_LABEL
        return self.function if self.function is not None else NO_FUNCTION


@dataclass
class CaseResult:
    """All runs of one case."""

    case: EvalCase
    runs: list[RunOutcome] = field(default_factory=list)

    @property
    def expected(self) -> str | None:
        return self.case.expected

    @property
    def got(self) -> list[str | None]:
        """The function called first in each run (``None``: no call or an error)."""
        return [run.function for run in self.runs]

    @property
    def correct(self) -> int:
        return sum(run.error is None and run.function == self.expected for run in self.runs)

    @property
    def accuracy(self) -> float:
        return self.correct / len(self.runs) if self.runs else 0.0

    @property
    def counts(self) -> dict[str, int]:
        """How often each outcome label occurred, most frequent first."""
        return dict(Counter(run.label for run in self.runs).most_common())

    @property
    def errors(self) -> list[str]:
        return [run.error for run in self.runs if run.error is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.case.source,
            "last_user_message": self.case.last_user_message,
            "expected": self.expected if self.expected is not None else NO_FUNCTION,
            "got": [run.label for run in self.runs],
            "counts": self.counts,
            "correct": self.correct,
            "runs": len(self.runs),
            "accuracy": self.accuracy,
            "errors": self.errors,
        }


@dataclass
class EvalReport:
    """The results of an eval: one :class:`CaseResult` per case, in the cases' order."""

    cases: list[CaseResult]

    @property
    def correct(self) -> int:
        return sum(case.correct for case in self.cases)

    @property
    def runs(self) -> int:
        return sum(len(case.runs) for case in self.cases)

    @property
    def accuracy(self) -> float:
        """Correct runs over all runs (0.0 when nothing ran)."""
        return self.correct / self.runs if self.runs else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "correct": self.correct,
            "runs": self.runs,
            "cases": [case.to_dict() for case in self.cases],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON (what ``swarmlet eval --out`` writes)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def load_cases(path: str | Path) -> list[EvalCase]:
    """Read an eval-case file in Swarm's format.

    Raises:
        UsageError: the file is not a JSON list of ``{"conversation", "function"}`` objects.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read eval cases from {path}: {exc}") from exc
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a JSON list of eval cases")
    return [_parse_case(item, f"{path.name}#{i}") for i, item in enumerate(data, 1)]


def _parse_case(item: Any, source: str) -> EvalCase:
    if not isinstance(item, dict) or not isinstance(item.get("conversation"), list):
        raise UsageError(f"{source}: a case needs a 'conversation' list of messages")
    function = item.get("function")
    if function is not None and not isinstance(function, str):
        raise UsageError(f"{source}: 'function' must be a string (\"None\" for no call)")
    expected = None if function in (None, NO_FUNCTION, "") else function
    return EvalCase(list(item["conversation"]), expected, source)


async def run_evals(
    agent: Agent,
    cases: Sequence[EvalCase],
    *,
    client: Any = None,
    n: int = 5,
    concurrency: int = 8,
    progress: Progress | None = None,
    context_variables: dict[str, Any] | None = None,
    model_override: str | None = None,
) -> EvalReport:
    """Run every case ``n`` times, at most ``concurrency`` runs at once.

    Args:
        client: anything ``Swarm(client=...)`` accepts, or a ``Swarm``.
        progress: called after each run finishes.
        context_variables: given to every run (for instructions that read them).
        model_override: model name used instead of the agents' own.

    Raises:
        ConfigurationError: the endpoint refused the key or does not know the model (other
            run failures are recorded in the report as wrong answers).
    """
    if n < 1 or concurrency < 1:
        raise UsageError("n and concurrency must both be at least 1")
    swarm = client if isinstance(client, Swarm) else Swarm(client=client)
    limit = asyncio.Semaphore(concurrency)
    results = [CaseResult(case) for case in cases]

    async def one(index: int) -> None:
        async with limit:
            outcome = await _run_once(
                swarm, agent, index, cases[index], context_variables, model_override
            )
        results[index].runs.append(outcome)
        if progress is not None:
            progress(outcome)

    tasks = [asyncio.ensure_future(one(i)) for i in range(len(cases)) for _ in range(n)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # a configuration error aborts the eval: stop the other runs too
            task.cancel()
    return EvalReport(results)


async def _run_once(
    swarm: Swarm,
    agent: Agent,
    index: int,
    case: EvalCase,
    context_variables: dict[str, Any] | None,
    model_override: str | None,
) -> RunOutcome:
    """One run of one case; failures become the outcome instead of stopping the eval."""
    try:
        response = await swarm.run_async(
            agent,
            case.conversation,
            context_variables,
            model_override,
            max_turns=1,
            execute_tools=False,
        )
    except ConfigurationError:
        raise  # a refused key or unknown model fails every run the same way: stop the eval
    except RunError as exc:
        return RunOutcome(index, None, f"{type(exc).__name__}: {exc}")
    return RunOutcome(index, _first_function(response.messages))


def _first_function(messages: list[dict[str, Any]]) -> str | None:
    for message in messages:
        for call in message.get("tool_calls") or []:
            return str(call["function"]["name"])
    return None


def evaluate(
    agent: Agent,
    cases: Sequence[EvalCase] | str | Path,
    *,
    client: Any = None,
    n: int = 5,
    concurrency: int = 8,
    context_variables: dict[str, Any] | None = None,
    model_override: str | None = None,
) -> EvalReport:
    """Synchronous :func:`run_evals` for test suites; ``cases`` may be a path to a case file.

    Must not be called from a running event loop (use ``await run_evals(...)`` there).
    """
    loaded = load_cases(cases) if isinstance(cases, (str, Path)) else cases
    return asyncio.run(
        run_evals(
            agent,
            loaded,
            client=client,
            n=n,
            concurrency=concurrency,
            context_variables=context_variables,
            model_override=model_override,
        )
    )
