"""The state of a run as a value: what the run loop changes while a run goes on.

The loop reads and updates one :class:`RunState`; a run that stops can hand it back to the
caller, and a run can be entered again from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from swarmlet.agent import Agent, Response

__all__ = ["RunState"]


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
    """

    agent: Agent
    messages: list[dict[str, Any]]
    start: int
    context_variables: dict[str, Any]
    turn: int = 0
    output: Any = None
    sub_runs: dict[str, Response] = field(default_factory=dict)

    def response(self) -> Response:
        """The :class:`Response` for the run so far."""
        return Response(
            messages=self.messages[self.start :],
            agent=self.agent,
            context_variables=self.context_variables,
            output=self.output,
            sub_runs=dict(self.sub_runs),
        )
