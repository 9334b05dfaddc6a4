"""The tagged outcomes that drive the run loop.

Each step of a run (a model turn, a tool phase, checking an answer) ends by producing exactly
one of these values; :func:`swarmlet.loop.run_events` dispatches on it to choose the next step.
A run starts at :class:`Begin` (a resumed run too, with ``resumed=True``) and ends at
:class:`Finish` (or raises at :class:`Tripped`).

::

    Begin --(input guardrails pass)--> CallModel
      `--(an input guardrail trips)--> Tripped (raises)

    CallModel --(no tool calls)--> Answer --(accepted)--> Finish
        |                            |--(rejected: retry)--> CallModel
        |                            `--(output guardrail trips)--> Tripped
        |--(tool calls)--> RunTools --> CallModel
        |                     |------> HandOff --> CallModel
        |                     |--(a call needs approval)--> Interrupted --> Finish
        |                     `--(tool guardrail stops)--> Tripped

    Begin(resumed) --(the state has a pending turn)--> ResumeTools --> (as RunTools)
        `--(max_turns reached, or execute_tools=False)--> Finish
"""

from __future__ import annotations

from dataclasses import dataclass

from swarmlet.agent import Agent
from swarmlet.exceptions import GuardrailTripped
from swarmlet.models.base import AssistantMessage, ToolCall

__all__ = [
    "OUTCOME_TYPES",
    "Answer",
    "Begin",
    "CallModel",
    "Finish",
    "HandOff",
    "Interrupted",
    "Outcome",
    "ResumeTools",
    "RunTools",
    "Tripped",
]


@dataclass(frozen=True, slots=True)
class Begin:
    """The run is (re)entered: announce it, and check the input of a fresh run."""

    resumed: bool = False


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
class ResumeTools:
    """Continue the tool turn a paused run stopped in (``RunState.pending``)."""


@dataclass(frozen=True, slots=True)
class Interrupted:
    """Some calls of the tool turn wait for approval; the turn is kept in the state."""


@dataclass(frozen=True, slots=True)
class HandOff:
    """A tool handed the conversation from ``from_agent`` to ``to_agent``."""

    from_agent: Agent
    to_agent: Agent


@dataclass(frozen=True, slots=True)
class Tripped:
    """A guardrail stopped the run; ``error`` is raised with the run so far attached."""

    error: GuardrailTripped


@dataclass(frozen=True, slots=True)
class Finish:
    """The run is over: ``"answer"``, ``"max_turns"``, ``"execute_tools"``, ``"interrupted"``."""

    reason: str


Outcome = (
    Begin | CallModel | Answer | RunTools | ResumeTools | HandOff | Interrupted | Tripped | Finish
)
"""Any outcome of a step."""


OUTCOME_TYPES = (
    Begin,
    CallModel,
    Answer,
    RunTools,
    ResumeTools,
    HandOff,
    Interrupted,
    Tripped,
    Finish,
)
"""The classes of :data:`Outcome`, for telling a step's outcome from its events."""
