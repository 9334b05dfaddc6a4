"""THE run loop: one async generator of typed events per run.

``Swarm.run_async`` drains it, ``Swarm.stream`` exposes it, and the sync ``run`` (streaming or
not) iterates it on a private event loop. There is deliberately no second copy.

A run is a small state machine over the tagged outcomes of :mod:`swarmlet.outcomes`. Each step
(a model turn in :mod:`swarmlet.turn`, a tool phase in :mod:`swarmlet.toolphase`, checking the
input or the answer, applying a handoff) yields its events and ends with the outcome that names
the next step; :class:`_Run` dispatches on it until :class:`~swarmlet.outcomes.Finish`. Each
model call is one *turn*; ``max_turns`` bounds them and, like Swarm, reaching it returns the
response so far instead of raising. Entering the loop with a saved
:class:`~swarmlet.state.RunState` continues that run in this same generator.

Every event passes one point (:meth:`_Run.drive`), where lifecycle hooks observe it before the
consumer does. Only guardrails (and approvals) change where a run goes, so only they have call
sites in the steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from swarmlet.agent import Agent, Response
from swarmlet.events import (
    AgentStarted,
    Event,
    GuardrailChecked,
    Handoff,
    RunCompleted,
    RunFailed,
    RunStarted,
)
from swarmlet.exceptions import (
    GuardrailTripped,
    HookError,
    InputGuardrailTripped,
    OutputGuardrailTripped,
    RunError,
)
from swarmlet.guardrails import Guardrail, GuardrailInput, GuardrailKind, as_guardrail, check
from swarmlet.hooks import RunHooks, call_hook, hook_for
from swarmlet.models.base import Model
from swarmlet.outcomes import (
    OUTCOME_TYPES,
    Answer,
    Begin,
    CallModel,
    Finish,
    HandOff,
    Interrupted,
    Outcome,
    ResumeTools,
    RunTools,
    Tripped,
)
from swarmlet.output import FinalOutput, accept_answer
from swarmlet.racing import race
from swarmlet.running import ParentRun, record_sub_run
from swarmlet.state import PendingTurn, RunState
from swarmlet.toolphase import ToolEnvironment, tool_phase
from swarmlet.turn import TurnOptions, model_turn, with_position

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
    hooks: RunHooks | None = None
    input_guardrails: list[Any] = field(default_factory=list)
    output_guardrails: list[Any] = field(default_factory=list)


def initial_state(spec: RunSpec) -> RunState:
    """A fresh run's state. Deep copies: the caller's list and dict are never mutated."""
    return RunState(
        agent=spec.agent,
        messages=copy.deepcopy(spec.messages),
        start=len(spec.messages),
        context_variables=copy.deepcopy(spec.context_variables),
    )


def run_events(
    spec: RunSpec,
    resolve: ModelResolver,
    executor: Executor | None = None,
    state: RunState | None = None,
    *,
    resumed: bool = False,
) -> AsyncGenerator[Event, None]:
    """Run ``spec`` and yield its events, ending with RunCompleted.

    ``state``: start from this state instead of a fresh one (e.g. a stored conversation with
    the new input appended). ``resumed``: ``state`` is a paused run to continue where it
    stopped (its input was checked when it started; it is not checked again).

    Raises:
        RunError: (or a subclass) when the model call fails or a guardrail trips;
            ``.response`` holds the messages produced before. A :class:`RunFailed` event
            precedes the exception.
    """
    # The run's own generator, not a wrapper around it: every event of every run passes here,
    # and a pass-through generator costs a resumption each (docs/benchmarks.md, "Run-loop
    # overhead"). A fresh state is still made on the first step, not by this call.
    return _Run(spec, resolve, executor).drive(Begin(resumed), state)


@dataclass(slots=True)
class _Run:
    """One run in progress: its options, its state, and the step for each outcome."""

    spec: RunSpec
    resolve: ModelResolver
    executor: Executor | None
    state: RunState = field(init=False)  # set when drive() starts
    final: FinalOutput = field(default_factory=FinalOutput)
    parallel_guard: asyncio.Task[list[Event | Outcome]] | None = None

    async def drive(
        self, outcome: Outcome, state: RunState | None = None
    ) -> AsyncGenerator[Event, None]:
        """Dispatch from ``outcome`` until Finish; every event is observed here, then yielded.

        ``state``: the state to start from (default: a fresh one for the spec).
        """
        self.state = state if state is not None else initial_state(self.spec)
        try:
            while not isinstance(outcome, Finish):
                next_outcome: Outcome | None = None
                async for item in self.step(outcome):
                    if isinstance(item, OUTCOME_TYPES):
                        next_outcome = item
                    else:
                        if item.path:  # only a sub-run's events carry what _record keeps
                            self._record(item)
                        if self.spec.hooks is not None or _has_agent_hooks(item):
                            await self._observe(item)  # no coroutine per event without hooks
                        yield item
                if next_outcome is None:
                    raise AssertionError(f"a step ended without an outcome after {outcome!r}")
                outcome = next_outcome
            final = RunCompleted(self.state.response())
            logger.debug("run usage (%r): %s", self.spec.agent.name, self.state.usage.summary())
            await self._observe(final)
        except RunError as exc:
            failed = RunFailed(self.state.agent, self._positioned(exc))
            await self._observe_failure(failed)
            yield failed
            raise
        finally:
            if self.parallel_guard is not None:
                self.parallel_guard.cancel()
        yield final

    def _record(self, event: Event) -> None:
        """Keep what the run learns from an agent-tool sub-run's event: responses and usage."""
        record_sub_run(self.state, event)
        if len(event.path) != 1:  # a direct sub-run's usage already holds its own sub-runs'
            return
        ended = event.response if isinstance(event, RunCompleted) else None
        if isinstance(event, RunFailed):
            ended = event.error.response  # a failed sub-run's calls were paid for too
        if ended is not None:
            self.state.usage.merge(ended.usage)

    def step(self, outcome: Outcome) -> Step:
        """The step that follows ``outcome``."""
        if isinstance(outcome, Begin):
            return self._begin(outcome)
        if isinstance(outcome, CallModel):
            return self._call_model()
        if isinstance(outcome, RunTools):
            turn = PendingTurn(outcome.calls)
            return tool_phase(self.state, turn, self._tool_environment(), fresh=True)
        if isinstance(outcome, ResumeTools):
            return self._resume_tools()
        if isinstance(outcome, Interrupted):
            return self._pause()
        if isinstance(outcome, HandOff):
            return self._hand_off(outcome)
        if isinstance(outcome, Answer):
            return self._accept(outcome)
        if isinstance(outcome, Tripped):
            raise outcome.error  # drive() attaches the run so far and reports RunFailed
        raise AssertionError(f"no step follows {outcome!r}")  # pragma: no cover

    async def _begin(self, outcome: Begin) -> Step:
        """Announce the run; a fresh run's input guardrails run now (parallel ones start)."""
        yield RunStarted(self.state.agent, outcome.resumed)
        yield AgentStarted(self.state.agent)
        guardrails = [] if outcome.resumed else self._input_guardrails()
        blocking = [g for g in guardrails if not (g.parallel and self.spec.stream)]
        parallel = [g for g in guardrails if g.parallel and self.spec.stream]
        verdict = await self._check_input(blocking) if blocking else []
        for item in verdict:
            yield item
        if parallel:
            self.parallel_guard = asyncio.ensure_future(self._check_input(parallel))
        if any(isinstance(item, Tripped) for item in verdict):
            return
        yield ResumeTools() if self.state.pending is not None else CallModel()

    def _input_guardrails(self) -> list[Guardrail]:
        items = [*self.spec.input_guardrails, *self.state.agent.input_guardrails]
        return [as_guardrail(item) for item in items]

    async def _check_input(self, guardrails: list[Guardrail]) -> list[Event | Outcome]:
        """The run's input checked: a verdict event each, then Tripped on the first trip."""
        state = self.state
        data = GuardrailInput(state.agent, list(state.messages), state.context_variables)
        return await self._verdicts(guardrails, data, "input", InputGuardrailTripped)

    async def _verdicts(
        self,
        guardrails: list[Guardrail],
        data: GuardrailInput,
        kind: GuardrailKind,
        trip: type[GuardrailTripped],
    ) -> list[Event | Outcome]:
        """Run ``guardrails`` concurrently; their events in order, then Tripped if one did."""
        results = await asyncio.gather(*(check(g, data, self._run_agent) for g in guardrails))
        items: list[Event | Outcome] = [
            GuardrailChecked(data.agent, kind, g.label, r)
            for g, r in zip(guardrails, results, strict=True)
        ]
        for guardrail, result in zip(guardrails, results, strict=True):
            if result.tripped:
                message = f"{kind} guardrail {guardrail.label!r} tripped"
                items.append(Tripped(trip(message, result=result, guardrail=guardrail.label)))
                break
        return items

    def _call_model(self) -> Step:
        """The next model turn, or the end of the run when ``max_turns`` is reached."""
        state, spec = self.state, self.spec
        if state.turn >= spec.max_turns:
            return _finish("max_turns")
        options = TurnOptions(spec.model_override, spec.stream, spec.execute_tools)
        items = model_turn(state, options, self.resolve(state.agent))
        if self.parallel_guard is not None:  # the first turn streams while guardrails decide
            items, self.parallel_guard = race(items, self.parallel_guard), None
        return items

    def _resume_tools(self) -> Step:
        turn = self.state.pending
        if turn is None:  # pragma: no cover - Begin only resumes a pending turn
            raise AssertionError("nothing to resume")
        return tool_phase(self.state, turn, self._tool_environment(), fresh=False)

    async def _pause(self) -> Step:
        waiting = [i.call_id for i in self.state.interruptions()]
        logger.debug("run paused: calls %s wait for approval", waiting)
        self.state.resumed = False  # the state is now this new pause's, to resume again
        yield Finish("interrupted")

    async def _hand_off(self, outcome: HandOff) -> Step:
        logger.debug("handoff: %r -> %r", outcome.from_agent.name, outcome.to_agent.name)
        self.state.agent = outcome.to_agent
        yield Handoff(outcome.from_agent, outcome.to_agent)
        yield AgentStarted(outcome.to_agent)
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
        state = self.state
        items = [*self.spec.output_guardrails, *state.agent.output_guardrails]
        if not items:  # the common case: no copy of the history for guardrails to read
            yield Finish("answer")
            return
        data = GuardrailInput(
            state.agent, list(state.messages), state.context_variables, state.output
        )
        guardrails = [as_guardrail(item) for item in items]
        verdict = await self._verdicts(guardrails, data, "output", OutputGuardrailTripped)
        for item in verdict:
            yield item
        if not any(isinstance(item, Tripped) for item in verdict):
            yield Finish("answer")

    def _tool_environment(self) -> ToolEnvironment:
        spec = self.spec  # what sub-runs of agents used as tools reuse from this run
        parent = ParentRun(self.resolve, self.executor, spec.stream, spec.model_override)
        return ToolEnvironment(self.executor, self._run_agent, parent)

    async def _run_agent(
        self, agent: Agent, messages: list[dict[str, Any]], context: dict[str, Any]
    ) -> Response:
        """Run ``agent`` on its own (a guardrail agent), with this run's providers."""
        spec = RunSpec(agent=agent, messages=messages, context_variables=context)
        async with contextlib.aclosing(run_events(spec, self.resolve, self.executor)) as events:
            async for event in events:
                if isinstance(event, RunCompleted) and not event.path:
                    self.state.usage.merge(event.response.usage)  # a guardrail's calls count
                    return event.response
        raise AssertionError("a run always ends with RunCompleted")  # pragma: no cover

    async def _observe(self, event: Event) -> None:
        """Call the run's hooks and the event's agent's hooks for ``event``."""
        method = hook_for(event)
        if method is None:
            return
        for hooks in self._hooks_for(event):
            try:
                await call_hook(hooks, method, event)
            except Exception as exc:
                raise HookError(
                    f"hook {type(hooks).__name__}.{method} raised {type(exc).__name__}: {exc}"
                ) from exc

    async def _observe_failure(self, event: RunFailed) -> None:
        """Hooks see a failure too; a hook failing on it must not hide the original error."""
        try:
            await self._observe(event)
        except HookError:
            logger.exception("a hook raised while the run was failing")

    def _hooks_for(self, event: Event) -> list[RunHooks]:
        agent = _agent_of(event)
        run_hooks, agent_hooks = self.spec.hooks, agent.hooks if agent is not None else None
        if agent_hooks is None:  # the common case, every event: no list to dedupe
            return [] if run_hooks is None else [run_hooks]
        found = [run_hooks, agent_hooks]
        return [h for i, h in enumerate(found) if h is not None and h not in found[:i]]

    def _positioned(self, exc: RunError) -> RunError:
        """Attach the run so far to an error raised outside a model call."""
        return exc if exc.response is not None else with_position(exc, self.state)


async def _finish(reason: str) -> Step:
    """A step that only ends the run."""
    yield Finish(reason)


def _has_agent_hooks(event: Event) -> bool:
    """Whether the agent an event concerns has hooks (most runs: no agent has any)."""
    agent = _agent_of(event)
    return agent is not None and agent.hooks is not None


def _agent_of(event: Event) -> Agent | None:
    """The agent whose hooks an event concerns (for a handoff: the agent handed to)."""
    if isinstance(event, Handoff):
        return event.to_agent
    if isinstance(event, RunCompleted):
        return event.response.agent
    return event.agent
