"""The three values a swarmlet program is written in: Agent, Result and Response.

They keep the field names, defaults and pydantic base of Swarm's ``swarm.types`` so code
written for Swarm constructs and inspects them unchanged. swarmlet adds a few optional fields
(``strict``, ``tool_timeout``, ``model_settings``, ``output_type``, ``output_retries``;
``Response.output``) and lets ``model`` be a provider instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarmlet.hooks import RunHooks
from swarmlet.models.base import Model, provider_kind
from swarmlet.usage import Usage

__all__ = ["Agent", "AgentFunction", "Instructions", "Response", "Result"]

AgentFunction = Callable[..., Any]
"""A tool: any callable (sync or async) whose return is a value, an Agent or a Result."""

_INHERIT_OUTPUT: Any = object()

Instructions = str | Callable[..., str]
"""A system prompt, or a callable taking ``context_variables`` and returning one."""


class Agent(BaseModel):
    """An LLM persona: instructions plus the functions it may call.

    Attributes:
        name: shown as ``sender`` on the agent's messages and in handoffs.
        model: a model name for the client's endpoint (Swarm's meaning), a provider
            instance (a :class:`swarmlet.models.Model`) that serves this agent regardless of
            the client, or an SDK-style client (``openai.AsyncOpenAI()``, anything with
            ``.chat.completions.create``), which is wrapped in an ``OpenAIChatModel``.
        instructions: the system prompt, or a callable receiving ``context_variables``.
        functions: the agent's tools. A tool returning an Agent hands the conversation off.
        tool_choice: sent as the API's ``tool_choice`` when set (``"auto"``, ``"required"``...).
        parallel_tool_calls: sent to the API when the agent has tools; ``False`` also makes
            swarmlet execute this agent's tool calls one at a time.
        strict: describe every tool in OpenAI strict mode (see :func:`swarmlet.tool` for a
            per-function switch).
        tool_timeout: seconds a tool call may take before it is reported to the model as
            timed out; ``None`` waits forever.
        model_settings: extra Chat Completions parameters (``temperature``, ``max_tokens``...).
        output_type: the type of the final answer (pydantic model, dataclass, TypedDict,
            ``list[...]``, scalar...): requested as JSON schema, validated, and returned as
            ``Response.output`` (see :mod:`swarmlet.output`). ``None``: plain text.
        output_retries: how many times an invalid final answer is sent back to the model with
            the validation error before the run raises ``OutputValidationError``.
        input_guardrails: checks of the run's input when a run starts with this agent
            (functions, Agents or :class:`~swarmlet.guardrails.Guardrail`).
        output_guardrails: checks of this agent's final answer.
        hooks: a :class:`~swarmlet.hooks.RunHooks` called for this agent's events only.
        mcp_servers: :class:`swarmlet.mcp.MCPServer` objects whose tools the agent may also
            call (anything with an async ``bound_tools(agent)`` method works).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "Agent"
    model: str | Model = "gpt-4o"
    instructions: Instructions = "You are a helpful agent."
    functions: list[AgentFunction] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    strict: bool = False
    tool_timeout: float | None = None
    model_settings: dict[str, Any] = Field(default_factory=dict)
    output_type: Any = None
    output_retries: int = Field(default=1, ge=0)
    mcp_servers: list[Any] = Field(default_factory=list)

    def as_tool(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        output_type: Any = _INHERIT_OUTPUT,
        max_turns: int = 10,
        max_depth: int = 4,
        update_context: bool = False,
    ) -> AgentFunction:
        """This agent as a tool for another agent's ``functions`` (delegation, not handoff).

        The tool takes a ``task``; calling it runs this agent on the task alone (its own
        history) and returns its final output, text or structured, as the tool result.

        Args:
            name: the tool name (default: the agent's name in snake case).
            description: the tool description (default: from the agent's name and
                instructions).
            output_type: the sub-run's structured output type (default: the agent's own).
            max_turns: model calls the sub-run may make.
            max_depth: how deep agent-tools may nest when this one is called.
            update_context: return the context variables the sub-run changed to the caller
                (merged in call order after the turn); by default nothing flows back.

        See :mod:`swarmlet.agent_tool` for failures, context variables and events.
        """
        from swarmlet.agent_tool import make_agent_tool

        return make_agent_tool(
            self,
            name,
            description,
            **({} if output_type is _INHERIT_OUTPUT else {"output_type": output_type}),
            max_turns=max_turns,
            max_depth=max_depth,
            update_context=update_context,
        )

    @field_validator("output_type")
    @classmethod
    def _check_output_type(cls, value: Any) -> Any:
        from swarmlet.output import validate_output_type  # pydantic schema work, on use only

        return validate_output_type(value)

    @field_validator("mcp_servers")
    @classmethod
    def _check_tool_providers(cls, servers: list[Any]) -> list[Any]:
        for server in servers:
            if not callable(getattr(server, "bound_tools", None)):
                raise ValueError(
                    f"mcp_servers takes swarmlet.mcp.MCPServer objects, got {type(server).__name__}"
                )
        return servers

    @field_validator("model", mode="before")
    @classmethod
    def _provider_or_client(cls, value: Any) -> Any:
        """Keep names and providers; wrap an SDK-style client; refuse anything else."""
        if isinstance(value, str) or provider_kind(value) == "provider":
            return value
        from swarmlet.models.openai_compat import OpenAIChatModel  # imports openai: only now

        return OpenAIChatModel(value)

    input_guardrails: list[Any] = Field(default_factory=list)
    output_guardrails: list[Any] = Field(default_factory=list)
    hooks: RunHooks | None = None
    history_filter: Any = None


class Result(BaseModel):
    """What a tool may return to do several things at once.

    Attributes:
        value: the tool's answer to the model (strings as they are, anything else as JSON).
        agent: if set, the conversation is handed off to this agent.
        context_variables: merged into the run's context variables.
    """

    value: Any = ""
    agent: Agent | None = None
    context_variables: dict[str, Any] = Field(default_factory=dict)


class Response(BaseModel):
    """The outcome of a run.

    Attributes:
        messages: the messages the run added (plain dicts, Swarm's shape).
        agent: the agent that was active when the run ended.
        context_variables: the context variables after every update made during the run.
        output: the final answer: with ``output_type`` set on the answering agent, the
            validated value (an instance of that type); otherwise the final message's text.
            ``None`` when the run stopped without a final answer (``max_turns``).
        sub_runs: the final responses of the sub-runs of agents used as tools
            (:meth:`Agent.as_tool`), keyed by the path of tool-call ids that started them,
            joined with ``/`` (``"call_a"``, or ``"call_a/call_b"`` for one nested inside it).
        usage: token usage of the run's model calls, in total and ``by_agent``
            (:class:`~swarmlet.usage.Usage`; agent-tool and guardrail sub-runs included).
        interruptions: tool calls waiting for human approval
            (:class:`~swarmlet.state.Interruption`); non-empty only when the run paused.
        state: the paused run's :class:`~swarmlet.state.RunState`, to save, approve or reject
            calls on, and resume (``client.resume(response.state)``); ``None`` otherwise.
    """

    messages: list[dict[str, Any]] = Field(default_factory=list)
    agent: Agent | None = None
    context_variables: dict[str, Any] = Field(default_factory=dict)
    output: Any = None
    sub_runs: dict[str, Response] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    interruptions: list[Any] = Field(default_factory=list)
    state: Any = None
