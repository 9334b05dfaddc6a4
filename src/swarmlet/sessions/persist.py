"""A run on a session: load the conversation, run, and store each message as it completes.

:func:`persisted_run` wraps the run loop's event stream. It holds the session's lease for the
whole run, so two runs on one session never interleave; it restores the history, the active
agent (found by name among the agents reachable from the entry agent) and the context
variables; and it observes the run's own events (not sub-runs'):

- ``MessageCompleted`` -> the assistant message is appended;
- ``ToolCallFinished`` -> that tool result is appended (parallel calls: in completion order,
  which the Chat Completions protocol accepts -- results are matched to calls by id);
- ``TurnStarted``/``Handoff``/``RunCompleted`` -> the active agent's name and the context
  variables are stored when they changed.

The consumer pulls events from the generator, so each write finishes before the run goes on:
a crash loses at most the model call in flight. A run that crashed mid tool phase leaves
calls without results; the next run stores a result for each saying so (the protocol rejects
a history with unanswered calls), then goes on.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncGenerator, Callable
from typing import Any

from swarmlet.agent import Agent
from swarmlet.events import (
    Event,
    Handoff,
    MessageCompleted,
    RunCompleted,
    ToolCallFinished,
    TurnStarted,
)
from swarmlet.exceptions import (
    GuardrailTripped,
    InputGuardrailTripped,
    OutputGuardrailTripped,
    RunStateError,
    UsageError,
)
from swarmlet.graph import reachable_agents
from swarmlet.sessions.base import SessionState
from swarmlet.sessions.session import Lease, Session
from swarmlet.state import RunState

__all__ = ["persisted_resume", "persisted_run", "resume_on_session", "unanswered_calls"]

StartRun = Callable[[RunState], AsyncGenerator[Event, None]]
"""Starts the run loop from a given state (``run_events(spec, ..., state=state)``)."""

UNANSWERED = "Error: the run stopped before this tool call finished; it may not have run."


async def persisted_run(
    session: Session,
    entry_agent: Agent,
    messages: list[dict[str, Any]],
    context_variables: dict[str, Any],
    start: StartRun,
) -> AsyncGenerator[Event, None]:
    """Run on ``session``: ``messages`` are the new input, appended to its stored history.

    ``context_variables`` given here update the stored ones. The lease is released as
    ``idle`` when the run completes, ``error`` when it raises, ``interrupted`` when the
    consumer stops early.

    Raises:
        SessionBusy: another run holds the session (``on_busy="raise"``, or the wait timed out).
        UsageError: the stored active agent is not reachable from ``entry_agent``, or the
            session is paused waiting for approval (resume it instead).
    """
    async with session.hold() as lease:
        stored = await session.load()
        # The lease made the status "running"; a paused run's state is still there.
        if stored.run_state is not None:
            await lease.release("paused", stored.run_state)
            raise UsageError(
                f"session {session.session_id!r} is paused waiting for approval: resume it"
            )
        agent = _active_agent(entry_agent, stored)
        repaired = unanswered_calls([*stored.messages, *messages])
        history = [*stored.messages, *repaired, *messages]
        state = RunState(
            agent=agent,
            messages=copy.deepcopy(history),
            start=len(history),
            context_variables=copy.deepcopy({**stored.context_variables, **context_variables}),
        )
        await lease.append([*repaired, *messages])
        recorder = _Recorder(lease, stored, state, before_input=len(history) - len(messages))
        await recorder.save()
        async for event in _recorded(recorder, start(state)):
            yield event


async def resume_on_session(
    session: Session, state: RunState, start: StartRun
) -> AsyncGenerator[Event, None]:
    """Resume the run paused on ``session`` from ``state`` (its stored state, decided on);
    what ``client.resume(state, session=...)`` does.

    Taking the lease and checking that the session is still paused *at this point* makes a
    resume happen once: a second resume of the same pause (another process, a retry) finds
    the session moved on and is refused before anything runs.

    Raises:
        SessionBusy: another run holds the session.
        RunStateError: the session is not paused, or paused at another point than ``state``.
    """
    # Checked first without the lease too: a refused resume then leaves the session untouched.
    _check_same_pause(session.session_id, await session.load(), state)
    async with session.hold() as lease:
        stored = await session.load()
        try:
            _check_same_pause(session.session_id, stored, state)
        except RunStateError:  # another resume got here first: leave what it left
            await lease.release("paused" if stored.run_state else "idle", stored.run_state)
            raise
        async for event in _resumed(lease, stored, state, start):
            yield event


async def persisted_resume(
    session: Session,
    entry_agent: Agent,
    decide: Callable[[RunState], None],
    start: StartRun,
) -> AsyncGenerator[Event, None]:
    """Resume the run paused on ``session`` (waiting for approval), storing as it goes.

    The paused run's :class:`RunState` is loaded from the session under its lease (agents
    found from ``entry_agent``), ``decide`` approves or rejects its calls
    (``state.approve(id)`` / ``state.reject(id)``), and ``start`` resumes it
    (``client.resume_stream``). If ``decide`` raises (e.g. an unknown call id), the session
    stays paused with its state unchanged.

    Raises:
        RunStateError: the session is not paused (e.g. another process resumed it first).
    """
    async with session.hold() as lease:
        stored = await session.load()
        if stored.run_state is None:
            await lease.release("idle")
            raise RunStateError(f"session {session.session_id!r} has no paused run to resume")
        try:
            state = RunState.from_json(stored.run_state, entry_agent)
            decide(state)
        except BaseException:
            await lease.release("paused", stored.run_state)  # nothing ran: keep the pause
            raise
        async for event in _resumed(lease, stored, state, start):
            yield event


async def _resumed(
    lease: Lease, stored: SessionState, state: RunState, start: StartRun
) -> AsyncGenerator[Event, None]:
    """Run the resume on a held lease, storing its events."""
    recorder = _Recorder(lease, stored, state, before_input=len(stored.messages))
    # The paused turn's finished calls are stored already (state.messages holds them back).
    recorder.count = recorder.answer_at = len(stored.messages)
    # Consume the paused state before any approved call runs: if this process dies
    # mid-call, a retry finds nothing to resume instead of running the call twice.
    await recorder.save()
    async for event in _recorded(recorder, start(state)):
        yield event


def _check_same_pause(session_id: str, stored: SessionState, state: RunState) -> None:
    if stored.run_state is None:
        raise RunStateError(
            f"session {session_id!r} is not paused: nothing to resume (already resumed?)"
        )
    if _last_assistant(stored.messages) != _last_assistant(state.messages):
        raise RunStateError(
            f"this RunState is not where session {session_id!r} is paused (the session has "
            "moved on): load the session's run_state again"
        )


def _last_assistant(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((m for m in reversed(messages) if m.get("role") == "assistant"), None)


async def _recorded(
    recorder: _Recorder, events: AsyncGenerator[Event, None]
) -> AsyncGenerator[Event, None]:
    """Pass a run's events on, storing the run's own as they come."""
    async with contextlib.aclosing(events):
        try:
            async for event in events:
                if not event.path:
                    await recorder.record(event)
                yield event
        except GuardrailTripped as trip:
            await recorder.withdraw(trip)
            raise


def _active_agent(entry_agent: Agent, stored: SessionState) -> Agent:
    """The agent the conversation was with, found by name; the entry agent for a new one."""
    if stored.agent_name is None or stored.agent_name == entry_agent.name:
        return entry_agent
    agent = reachable_agents(entry_agent).get(stored.agent_name)
    if agent is None:
        raise UsageError(
            f"session {stored.session_id!r} was last with agent {stored.agent_name!r}, which "
            f"cannot be found from {entry_agent.name!r} (see swarmlet.graph for what can be)"
        )
    return agent


def unanswered_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool messages answering the calls that have no result in ``messages`` (a crashed run).

    Calls answered by the caller's new messages (e.g. after ``execute_tools=False``) are not
    touched: the check runs over the stored history and the new input together.
    """
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    missing: list[dict[str, Any]] = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            if call.get("id") not in answered:
                name = (call.get("function") or {}).get("name")
                missing.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.get("id"),
                        "tool_name": name,
                        "content": UNANSWERED,
                    }
                )
    return missing


class _Recorder:
    """Stores a run's events on its lease, and withdraws what a guardrail rejected."""

    def __init__(
        self, lease: Lease, stored: SessionState, state: RunState, *, before_input: int
    ) -> None:
        self.lease, self.stored, self.state = lease, stored, state
        self.before_input = before_input  # messages stored before this run's input
        self.count = len(state.messages)  # messages stored so far
        self.answer_at = self.count  # where the latest assistant message is
        self.saved: tuple[str, dict[str, Any]] | None = None

    async def record(self, event: Event) -> None:
        if isinstance(event, (MessageCompleted, ToolCallFinished)):
            if isinstance(event, MessageCompleted):
                self.answer_at = self.count
            await self.lease.append([event.message])
            self.count += 1
        elif isinstance(event, (TurnStarted, Handoff)):
            await self.catch_up()
            await self.save()
        elif isinstance(event, RunCompleted):
            await self.catch_up()
            await self.save()
            # Released before the caller sees the end: a caller that stops reading at
            # RunCompleted (as run() does) finds the session stored, idle or paused.
            response = event.response
            if response.interruptions and response.state is not None:
                await self.lease.release("paused", response.state.to_json())
            else:
                await self.lease.release("idle")

    async def catch_up(self) -> None:
        """Store messages the run added without an event (e.g. a structured-output retry
        prompt): they follow everything stored, at the end of the run's history."""
        extra = self.state.messages[self.count :]
        if extra:
            await self.lease.append(extra)
            self.count += len(extra)

    async def save(self) -> None:
        """Store the active agent and the context variables, if they changed."""
        current = (self.state.agent.name, self.state.context_variables)
        if current != self.saved:
            await self.lease.save(agent_name=current[0], context_variables=current[1])
            self.saved = (current[0], copy.deepcopy(current[1]))

    async def withdraw(self, trip: GuardrailTripped) -> None:
        """Take back what a guardrail rejected: the whole run for its input, the answer for
        its output. The conversation then reads as if it had not been said."""
        if isinstance(trip, InputGuardrailTripped):
            await self.lease.truncate(self.before_input)
            stored = self.stored
            await self.lease.save(
                agent_name=stored.agent_name, context_variables=stored.context_variables
            )
        elif isinstance(trip, OutputGuardrailTripped):
            await self.lease.truncate(self.answer_at)
