"""Guardrails: checks that stop a run (or a tool call) whose input or output is not acceptable.

Three kinds, one result type:

- *input guardrails* (``Agent(input_guardrails=[...])`` of the starting agent, and
  ``input_guardrails=`` of the run) check the run's input before the first model call;
- *output guardrails* (``Agent(output_guardrails=[...])`` of the answering agent, and
  ``output_guardrails=`` of the run) check the final answer;
- *tool guardrails* (``@tool(before=..., after=...)``) check a tool call before it runs and its
  result after; they can let it through, replace what the model is told, or stop the run.

A guardrail is a function (sync or async) taking one :class:`GuardrailInput` (tool guardrails:
one :class:`ToolCallInput`) and returning a :class:`GuardrailResult` or a plain ``bool``
meaning *tripped*; or an :class:`~swarmlet.agent.Agent` whose answer says whether it tripped
(a structured output with a ``tripped`` field, or JSON text such as ``{"tripped": true}``).
Wrap one in :class:`Guardrail` to name it or to run an input guardrail in parallel with the
first model call. A guardrail that raises stops the run with ``GuardrailError``: a check that
could not be made never lets the run go on unchecked.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from swarmlet.agent import Agent, Response
from swarmlet.exceptions import GuardrailError, UsageError
from swarmlet.tools import encode_result

__all__ = [
    "Guardrail",
    "GuardrailInput",
    "GuardrailKind",
    "GuardrailResult",
    "ToolCallInput",
    "as_guardrail",
    "check",
]


GuardrailKind = Literal["input", "output", "tool_before", "tool_after"]
"""Where a guardrail checks: the run's input, its answer, or around a tool call."""


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """What a guardrail decided.

    Attributes:
        tripped: ``True`` stops the run (a tool guardrail with ``replacement`` set does not).
        info: anything that explains the decision; carried on the exception and events.
        replacement: tool guardrails only: tell the model this instead of the tool's result
            (before: the tool does not run; after: its result is discarded) and go on.
    """

    tripped: bool
    info: Any = None
    replacement: str | None = None

    @classmethod
    def replace(cls, message: str, info: Any = None) -> GuardrailResult:
        """A tool guardrail's verdict: the model is told ``message`` and the run goes on."""
        return cls(tripped=False, info=info, replacement=message)


@dataclass(frozen=True, slots=True)
class GuardrailInput:
    """What an input or output guardrail inspects.

    Attributes:
        agent: the starting agent (input) or the agent that answered (output).
        messages: the conversation: the run's input, plus (for output guardrails) the run's
            messages up to and including the answer.
        context_variables: the run's context variables.
        output: output guardrails only: the final answer (its text, or its structured value).
    """

    agent: Agent
    messages: list[dict[str, Any]]
    context_variables: dict[str, Any]
    output: Any = None

    @property
    def text(self) -> str:
        """The answer's text (output guardrails) or the last user message's text (input)."""
        if self.output is not None:
            return encode_result(self.output)  # a structured answer as JSON
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""


@dataclass(frozen=True, slots=True)
class ToolCallInput:
    """What a tool guardrail inspects.

    Attributes:
        agent: the agent whose tool is called.
        call_id: the call's id.
        name: the tool's name.
        arguments: the arguments the model sent, decoded (``{}`` if they are not a JSON
            object: the tool call will report that to the model itself).
        context_variables: the run's context variables.
        result: ``after`` guardrails only: the text the model would be told.
        error: ``after`` guardrails only: ``"Type: message"`` when the call failed.
    """

    agent: Agent
    call_id: str
    name: str
    arguments: dict[str, Any]
    context_variables: dict[str, Any]
    result: str | None = None
    error: str | None = None


GuardrailFunction = Callable[[Any], "GuardrailResult | bool | Awaitable[GuardrailResult | bool]"]
"""A guardrail function: one input value in, a result or a ``bool`` (tripped) out."""


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A guardrail with options.

    Attributes:
        check: the function or agent that decides.
        name: shown in events and exceptions (default: the function's or agent's name).
        parallel: input guardrails in streamed runs only: run while the first model call
            streams instead of before it. Text may then reach the caller before a trip,
            which cancels the run. Default ``False``: nothing is streamed before they pass.
    """

    check: GuardrailFunction | Agent
    name: str = ""
    parallel: bool = False

    @property
    def label(self) -> str:
        """The name used in events and errors."""
        if self.name:
            return self.name
        if isinstance(self.check, Agent):
            return self.check.name
        return getattr(self.check, "__name__", type(self.check).__name__)


def as_guardrail(item: Any) -> Guardrail:
    """Accept a :class:`Guardrail`, a function or an agent."""
    if isinstance(item, Guardrail):
        return item
    if isinstance(item, Agent) or callable(item):
        return Guardrail(item)
    raise UsageError(f"a guardrail must be a function, an Agent or a Guardrail, got {item!r}")


AgentRunner = Callable[[Agent, list[dict[str, Any]], dict[str, Any]], Awaitable[Response]]
"""Runs an agent on messages (with context variables) and returns its response."""


async def check(guardrail: Guardrail, data: Any, run_agent: AgentRunner) -> GuardrailResult:
    """Ask ``guardrail`` about ``data``.

    Raises:
        GuardrailError: the guardrail raised, or answered something that is not a verdict.
    """
    try:
        if isinstance(guardrail.check, Agent):
            verdict = await _ask_agent(guardrail.check, data, run_agent)
        else:
            verdict = guardrail.check(data)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        return _as_result(verdict)
    except Exception as exc:
        raise GuardrailError(
            f"guardrail {guardrail.label!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


async def _ask_agent(agent: Agent, data: Any, run_agent: AgentRunner) -> Any:
    """Run a guardrail agent on what is checked; its answer is the verdict."""
    if isinstance(data, GuardrailInput):
        messages = data.messages
        context = data.context_variables
    else:
        messages = [{"role": "user", "content": json.dumps(_tool_call_summary(data))}]
        context = data.context_variables
    response = await run_agent(agent, messages, context)
    # Response.output: the validated value when the agent has an output_type, else the text.
    output = getattr(response, "output", None)
    if output is None or isinstance(output, str):
        last = response.messages[-1].get("content") if response.messages else None
        text = output or _text_of(last)
        try:
            output = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(
                f"guardrail agent {agent.name!r} answered {text[:80]!r}; it must answer "
                'with a "tripped" field (an output_type, or JSON such as {"tripped": false})'
            ) from None
    return output


def _tool_call_summary(data: ToolCallInput) -> dict[str, Any]:
    summary = {"tool": data.name, "arguments": data.arguments}
    if data.result is not None:
        summary["result"] = data.result
    return summary


def _as_result(verdict: Any) -> GuardrailResult:
    """A guardrail's return value as a GuardrailResult (a bool means *tripped*)."""
    if isinstance(verdict, GuardrailResult):
        return verdict
    if isinstance(verdict, bool):
        return GuardrailResult(tripped=verdict)
    tripped = (
        verdict.get("tripped") if isinstance(verdict, dict) else getattr(verdict, "tripped", None)
    )
    if isinstance(tripped, bool):
        return GuardrailResult(tripped=tripped, info=verdict)
    raise TypeError(
        f"a guardrail must return a GuardrailResult or a bool (tripped), got {verdict!r}"
    )


def _text_of(content: Any) -> str:
    """Text of a message's content (a string, or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
