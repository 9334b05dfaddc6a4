"""Lifecycle hooks: code of yours that observes a run as it goes.

Subclass :class:`RunHooks`, override the methods you need (plain or ``async def``), and pass an
instance to a run (``client.run(..., hooks=MyHooks())``) or to an agent
(``Agent(hooks=MyHooks())``: called only for that agent's events). Each method receives the
typed event the run yields at that moment: hooks are driven by the event stream itself, so what
hooks see and what a stream consumer sees cannot disagree, in streamed and non-streamed runs
alike. The run waits for each hook before going on.

Hooks observe; they cannot change a run (guardrails and approvals do that). Events of an agent
used as a tool (a sub-run) reach the same hooks, with a non-empty ``event.path``.

Exception policy: a hook that raises stops the run with :class:`~swarmlet.exceptions.HookError`
(the hook's exception as ``__cause__``, the run so far as ``.response``), because a hook that
silently stopped working (an audit log, a cost meter) is worse than a run that stops. The one
exception: a hook raising in ``on_run_end`` for a run that is already failing is logged, and
the original error is raised.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from swarmlet.events import (
        AgentStarted,
        Event,
        Handoff,
        ModelRequested,
        ModelResponded,
        RunCompleted,
        RunFailed,
        RunStarted,
        ToolCallFinished,
        ToolCallStarted,
    )

__all__ = ["RunHooks", "hook_for"]


class RunHooks:
    """Methods called as a run goes; override any of them (sync or async). All do nothing."""

    def on_run_start(self, event: RunStarted) -> Any:
        """The run started (or resumed: ``event.resumed``)."""

    def on_run_end(self, event: RunCompleted | RunFailed) -> Any:
        """The run ended: completed (maybe paused for approval), or failed."""

    def on_agent_start(self, event: AgentStarted) -> Any:
        """An agent became active: the starting agent, or one handed off to."""

    def on_model_request(self, event: ModelRequested) -> Any:
        """A model call is about to be made; ``event.request`` is what will be sent."""

    def on_model_response(self, event: ModelResponded) -> Any:
        """A model call returned; ``event.message`` is the complete reply."""

    def on_tool_start(self, event: ToolCallStarted) -> Any:
        """A tool call is about to run."""

    def on_tool_end(self, event: ToolCallFinished) -> Any:
        """A tool call finished (``event.error`` is set if it failed)."""

    def on_handoff(self, event: Handoff) -> Any:
        """The conversation passed from one agent to another."""


_METHOD_BY_EVENT = {
    "RunStarted": "on_run_start",
    "RunCompleted": "on_run_end",
    "RunFailed": "on_run_end",
    "AgentStarted": "on_agent_start",
    "ModelRequested": "on_model_request",
    "ModelResponded": "on_model_response",
    "ToolCallStarted": "on_tool_start",
    "ToolCallFinished": "on_tool_end",
    "Handoff": "on_handoff",
}


def hook_for(event: Event) -> str | None:
    """The name of the hook method ``event`` triggers, if any."""
    return _METHOD_BY_EVENT.get(type(event).__name__)


async def call_hook(hooks: RunHooks, method: str, event: Event) -> None:
    """Call ``hooks.method(event)``, awaiting it if it is async."""
    result = getattr(hooks, method)(event)
    if inspect.isawaitable(result):
        await result
