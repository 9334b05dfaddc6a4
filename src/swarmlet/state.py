"""The state of a run as a value: what the run loop changes while a run goes on.

The loop reads and updates one :class:`RunState`. A run that pauses for human approval returns
it (``Response.state``); it can be saved as JSON (:meth:`RunState.to_json`, format in
:mod:`swarmlet.statefile`), loaded in another process (:meth:`RunState.from_json`), have its
pending calls approved or rejected, and be resumed (``client.resume(state)``), which enters the
same run loop where the run stopped.

A paused run stopped in the middle of a tool turn. :class:`PendingTurn` records that turn: all
its calls in the model's order, the results of the calls that already ran (including a handoff
one of them asked for, which is applied only when the turn completes), the approval decision
of each call waiting for one, and the saved sub-run of each agent-tool call whose own run
paused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from swarmlet.agent import Agent, Response
from swarmlet.exceptions import RunStateError
from swarmlet.models.base import ToolCall
from swarmlet.tools import ToolOutcome
from swarmlet.usage import Usage

__all__ = ["Approval", "Interruption", "PendingTurn", "RunState"]

Decision = Literal["pending", "approved", "rejected"]


@dataclass(slots=True)
class Approval:
    """The decision on one call that needs approval; ``message`` explains a rejection."""

    status: Decision = "pending"
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Interruption:
    """A tool call waiting for approval.

    Attributes:
        call_id: pass it to ``state.approve`` / ``state.reject``.
        tool_name: the tool the model called.
        arguments: the arguments it sent (JSON text).
        agent: the name of the agent whose tool it is.
        path: for a call inside an agent-tool's sub-run, the tool-call ids leading to it
            (outermost first); empty for the run's own calls.
    """

    call_id: str
    tool_name: str
    arguments: str
    agent: str
    path: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)
class PendingTurn:
    """A tool turn that stopped because some of its calls wait for a decision.

    Attributes:
        calls: every call of the turn, in the model's order.
        results: outcomes of the calls that already ran (or were rejected), by call id.
        approvals: the decision on each call that needs one, by call id.
        paused_runs: the paused sub-run of each agent-tool call whose own run paused, by
            call id.
    """

    calls: list[ToolCall]
    results: dict[str, ToolOutcome] = field(default_factory=dict)
    approvals: dict[str, Approval] = field(default_factory=dict)
    paused_runs: dict[str, RunState] = field(default_factory=dict)

    def waiting(self) -> list[ToolCall]:
        """Calls without a result that cannot run yet (an undecided approval or sub-run)."""
        return [c for c in self.calls if c.id not in self.results and not self.ready(c.id)]

    def ready(self, call_id: str) -> bool:
        """Whether a call without a result may run now (approved, decided, or never asked)."""
        sub_run = self.paused_runs.get(call_id)
        if sub_run is not None:
            return not sub_run.interruptions()
        approval = self.approvals.get(call_id)
        return approval is None or approval.status != "pending"


@dataclass(slots=True, eq=False)
class RunState:
    """Where a run is.

    Attributes:
        agent: the active agent.
        messages: the whole conversation: the caller's messages, then the run's.
        start: index in ``messages`` where the run's own messages begin.
        context_variables: the run's context variables, updates applied.
        turn: model calls made so far.
        output: the accepted final answer (``Response.output``), once there is one.
        sub_runs: the final responses of agent-tool sub-runs, keyed by their event path
            joined with ``/`` (``Response.sub_runs``).
        usage: token usage of the run's model calls so far (sub-runs' included).
        pending: the tool turn the run paused in, if it paused.
        resumed: set when a resume starts from this object (it is then changed by that run,
            so resuming it again is refused; load it from JSON again to retry).
    """

    agent: Agent
    messages: list[dict[str, Any]]
    start: int
    context_variables: dict[str, Any]
    turn: int = 0
    output: Any = None
    sub_runs: dict[str, Response] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    pending: PendingTurn | None = None
    resumed: bool = False

    def response(self) -> Response:
        """The :class:`Response` for the run so far (a paused run's carries this state)."""
        interruptions = self.interruptions()
        return Response(
            messages=self.messages[self.start :],
            agent=self.agent,
            context_variables=self.context_variables,
            output=self.output,
            sub_runs=dict(self.sub_runs),
            usage=self.usage.snapshot(),
            interruptions=interruptions,
            state=self if interruptions else None,
        )

    def interruptions(self) -> list[Interruption]:
        """The calls waiting for a decision, sub-runs' included."""
        if self.pending is None:
            return []
        found = []
        for call in self.pending.waiting():
            sub_run = self.pending.paused_runs.get(call.id)
            if sub_run is None:
                found.append(Interruption(call.id, call.name, call.arguments, self.agent.name))
            else:
                found += [_nested(item, call.id) for item in sub_run.interruptions()]
        return found

    def approve(self, call_id: str) -> None:
        """Let the pending call ``call_id`` run when the run resumes.

        Raises:
            RunStateError: ``call_id`` is not a call waiting for a decision.
        """
        self._approval(call_id).status = "approved"

    def reject(self, call_id: str, message: str | None = None) -> None:
        """Decline the pending call ``call_id``: the model is told it was declined.

        ``message`` (optional) is what the model is told instead of the default text.

        Raises:
            RunStateError: ``call_id`` is not a call waiting for a decision.
        """
        approval = self._approval(call_id)
        approval.status, approval.message = "rejected", message

    def _approval(self, call_id: str) -> Approval:
        found = self._approvals_for(call_id)
        if not found:
            waiting = ", ".join(i.call_id for i in self.interruptions()) or "none"
            raise RunStateError(
                f"tool call {call_id!r} is not waiting for approval (waiting: {waiting})"
            )
        if len(found) > 1:
            raise RunStateError(f"tool call id {call_id!r} is ambiguous in this run's sub-runs")
        return found[0]

    def _approvals_for(self, call_id: str) -> list[Approval]:
        if self.pending is None:
            return []
        found = []
        own = self.pending.approvals.get(call_id)
        if own is not None and own.status == "pending" and call_id not in self.pending.results:
            found.append(own)
        for sub_run in self.pending.paused_runs.values():
            found += sub_run._approvals_for(call_id)
        return found

    def to_json(self, *, key: str | bytes | None = None) -> str:
        """This state as versioned JSON (see :mod:`swarmlet.statefile`).

        ``key`` signs it (HMAC-SHA256), so that :meth:`from_json` with the same key refuses
        any change; without one, a SHA-256 digest still catches corruption and casual edits.

        Raises:
            RunStateError: a context variable (or tool result) JSON cannot represent.
        """
        from swarmlet.statefile import dump_state

        return dump_state(self, key=key)

    @classmethod
    def from_json(
        cls, text: str, agents: Agent | list[Agent], *, key: str | bytes | None = None
    ) -> RunState:
        """Load a state written by :meth:`to_json`.

        ``agents``: the starting agent or a list of agents; agents reachable from their
        functions are found too (:func:`swarmlet.graph.reachable_agents`). Pass any agent
        that only a ``Result(agent=...)`` or a factory hands off to.

        Raises:
            RunStateError: the text is not a run state, its version is not supported, its
                digest or signature does not match, or it names an agent not found.
        """
        from swarmlet.statefile import load_state

        return load_state(text, agents, key=key)


def _nested(item: Interruption, call_id: str) -> Interruption:
    """A sub-run's interruption as seen from the run whose call ``call_id`` started it."""
    return dataclasses.replace(item, path=(call_id, *item.path))
