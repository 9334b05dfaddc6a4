"""THE run loop: one async generator of typed events per run.

``Swarm.run_async`` drains it, ``Swarm.stream`` exposes it, and the sync ``run`` (streaming or
not) iterates it on a private event loop. There is deliberately no second copy.

A run is a small state machine over the tagged outcomes of :mod:`swarmlet.outcomes`. Each step
(a model turn in :mod:`swarmlet.turn`, a tool phase in :mod:`swarmlet.toolphase`, accepting an
answer, applying a handoff) yields its events and ends with the outcome that names the next
step; :func:`run_events` dispatches on it until :class:`~swarmlet.outcomes.Finish`. Each model
call is one *turn*; ``max_turns`` bounds them and, like Swarm, reaching it returns the response
so far instead of raising. Entering the loop with a saved :class:`~swarmlet.state.RunState`
continues that run in this same generator.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from swarmlet.agent import Agent
from swarmlet.events import Event, Handoff, RunCompleted, TurnStarted
from swarmlet.models.base import Model
from swarmlet.outcomes import OUTCOME_TYPES, Answer, CallModel, Finish, HandOff, Outcome, RunTools
from swarmlet.output import FinalOutput, accept_answer
from swarmlet.state import RunState
from swarmlet.toolphase import tool_phase
from swarmlet.turn import TurnOptions, model_turn

__all__ = ["RunSpec", "run_events"]

logger = logging.getLogger("swarmlet.run")

ModelResolver = Callable[[Agent], Model]
"""Finds the provider serving an agent (its own instance, or the client's default)."""

Step = AsyncGenerator[Event | Outcome, None]
"""A step's events, ending with the outcome that names the next step."""


@dataclass(slots=True)
class RunSpec:
    """The arguments of one run, as given to ``Swarm.run``."""

    agent: Agent
    messages: list[dict[str, Any]]
    context_variables: dict[str, Any] = field(default_factory=dict)
    model_override: str | None = None
    stream: bool = False
    max_turns: float = float("inf")
    execute_tools: bool = True


def initial_state(spec: RunSpec) -> RunState:
    """A fresh run's state. Deep copies: the caller's list and dict are never mutated."""
    return RunState(
        agent=spec.agent,
        messages=copy.deepcopy(spec.messages),
        start=len(spec.messages),
        context_variables=copy.deepcopy(spec.context_variables),
    )


async def run_events(
    spec: RunSpec,
    resolve: ModelResolver,
    executor: Executor | None = None,
    state: RunState | None = None,
) -> AsyncGenerator[Event, None]:
    """Run ``spec`` (or continue ``state``) and yield its events, ending with RunCompleted.

    Raises:
        RunError: (or a subclass) when the model call fails; ``.response`` holds the
            messages produced before the failure.
    """
    run = _Run(spec, resolve, executor, state if state is not None else initial_state(spec))
    outcome: Outcome = CallModel()
    while not isinstance(outcome, Finish):
        next_outcome: Outcome | None = None
        async for item in run.step(outcome):
            if isinstance(item, OUTCOME_TYPES):
                next_outcome = item
            else:
                yield item
        if next_outcome is None:
            raise AssertionError(f"a step ended without an outcome after {outcome!r}")
        outcome = next_outcome
    yield RunCompleted(run.state.response())


@dataclass(slots=True)
class _Run:
    """One run in progress: its options, its state, and the step for each outcome."""

    spec: RunSpec
    resolve: ModelResolver
    executor: Executor | None
    state: RunState
    final: FinalOutput = field(default_factory=FinalOutput)

    def step(self, outcome: Outcome) -> Step:
        """The step that follows ``outcome``."""
        if isinstance(outcome, CallModel):
            return self._call_model()
        if isinstance(outcome, RunTools):
            return tool_phase(self.state, outcome.calls, self.executor)
        if isinstance(outcome, HandOff):
            return self._hand_off(outcome)
        if isinstance(outcome, Answer):
            return self._accept(outcome)
        raise AssertionError(f"no step follows {outcome!r}")  # pragma: no cover

    async def _call_model(self) -> Step:
        state, spec = self.state, self.spec
        if state.turn >= spec.max_turns:
            yield Finish("max_turns")
            return
        state.turn += 1
        yield TurnStarted(state.agent, state.turn)
        options = TurnOptions(spec.model_override, spec.stream, spec.execute_tools)
        async for item in model_turn(state, options, self.resolve(state.agent)):
            yield item

    async def _hand_off(self, outcome: HandOff) -> Step:
        logger.debug("handoff: %r -> %r", outcome.from_agent.name, outcome.to_agent.name)
        self.state.agent = outcome.to_agent
        yield Handoff(outcome.from_agent, outcome.to_agent)
        yield CallModel()

    async def _accept(self, outcome: Answer) -> Step:
        """Decide whether the final answer stands.

        This is where an answer is checked before the caller sees it: structured output is
        validated first (a failed validation may ask the model again by yielding
        ``CallModel()``), then output guardrails run on the accepted answer.
        """
        if not accept_answer(self.state, self.final, outcome.message):
            yield CallModel()  # the retry prompt is in the history: ask again
            return
        yield Finish("answer")
