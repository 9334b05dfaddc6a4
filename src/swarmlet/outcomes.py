"""The tagged outcomes that drive the run loop.

Each step of a run (a model turn, a tool phase, checking an answer) ends by producing exactly
one of these values; :func:`swarmlet.loop.run_events` dispatches on it to choose the next step.
A run starts at :class:`CallModel` (or, when it resumes a paused run, at whatever the saved
state says comes next) and ends at :class:`Finish`.

::

    CallModel --(no tool calls)--> Answer --(accepted)--> Finish
        |                            `--(rejected: retry)--> CallModel
        |--(tool calls)--> RunTools --> CallModel
        |                     `------> HandOff --> CallModel
        `--(max_turns reached, or execute_tools=False)--> Finish
"""

from __future__ import annotations

from dataclasses import dataclass

from swarmlet.agent import Agent
from swarmlet.models.base import AssistantMessage, ToolCall

__all__ = ["OUTCOME_TYPES", "Answer", "CallModel", "Finish", "HandOff", "Outcome", "RunTools"]


@dataclass(frozen=True, slots=True)
class CallModel:
    """Call the active agent's model (again): the next turn."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The model answered without tool calls; the answer still has to be accepted."""

    message: AssistantMessage


@dataclass(frozen=True, slots=True)
class RunTools:
    """The model asked for these tool calls (already in the history); run them."""

    calls: list[ToolCall]


@dataclass(frozen=True, slots=True)
class HandOff:
    """A tool handed the conversation from ``from_agent`` to ``to_agent``."""

    from_agent: Agent
    to_agent: Agent


@dataclass(frozen=True, slots=True)
class Finish:
    """The run is over; ``reason`` is ``"answer"``, ``"max_turns"`` or ``"execute_tools"``."""

    reason: str


Outcome = CallModel | Answer | RunTools | HandOff | Finish
"""Any outcome of a step."""


OUTCOME_TYPES = (CallModel, Answer, RunTools, HandOff, Finish)
"""The classes of :data:`Outcome`, for telling a step's outcome from its events."""
