"""Every exception swarmlet raises, under one base class.

::

    SwarmletError                      base of everything below
    ├── UsageError                     the caller misused the API (fix the code, do not retry)
    │   └── SchemaError                a function cannot be described as a tool
    ├── ConfigurationError             no usable endpoint: missing key, bad URL, unknown model
    ├── ToolArgumentsError             a model's tool arguments do not fit the function
    ├── RunStateError                  a saved run state cannot be used (version, digest, agent,
    │                                  call id): nothing of it runs
    └── RunError                       a run stopped; ``.response`` holds everything produced so far
        ├── ModelError                 the model endpoint failed after the client's retries
        │   ├── ModelTimeoutError      ... by timing out
        │   ├── ModelConfigurationError  ... by refusing the key or not knowing the model
        │   └── ModelResponseError     ... by answering something that is not a usable reply
        ├── OutputValidationError      the final answer never matched the agent's output_type
        ├── ScriptExhaustedError       a ScriptedModel was asked for more replies than it had
        ├── MaxDepthError              agent-tools nested deeper than their max_depth
        ├── GuardrailTripped           a guardrail stopped the run; ``.result`` says why
        │   ├── InputGuardrailTripped  ... on the run's input, before any model output
        │   ├── OutputGuardrailTripped ... on the final answer
        │   └── ToolGuardrailTripped   ... before or after a tool call
        ├── GuardrailError             a guardrail itself raised (the run stops: fail closed)
        ├── HookError                  a lifecycle hook raised (the run stops)
        └── MCPServerError             an MCP server could not be reached, timed out or failed

Tool failures are *not* raised out of a run: a tool that raises, times out or receives bad
arguments becomes a tool message telling the model what went wrong, and the run goes on.
``ToolArgumentsError`` is only seen when validating arguments directly. The same holds for
``MCPServerError`` during an MCP tool call; it is raised out of a run only when an agent's MCP
server cannot list its tools, so the run cannot even ask the model.

``UsageError`` also subclasses ``TypeError`` and ``ConfigurationError`` subclasses
``ValueError`` so code written against the built-in exceptions keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swarmlet.agent import Response
    from swarmlet.guardrails import GuardrailResult

__all__ = [
    "ConfigurationError",
    "GuardrailError",
    "GuardrailTripped",
    "HookError",
    "InputGuardrailTripped",
    "MCPServerError",
    "MaxDepthError",
    "ModelConfigurationError",
    "ModelError",
    "ModelResponseError",
    "ModelTimeoutError",
    "OutputGuardrailTripped",
    "OutputValidationError",
    "RunError",
    "RunStateError",
    "SchemaError",
    "ScriptExhaustedError",
    "SwarmletError",
    "ToolArgumentsError",
    "ToolGuardrailTripped",
    "UsageError",
]


class SwarmletError(Exception):
    """Base class of every exception raised by swarmlet."""


class UsageError(SwarmletError, TypeError):
    """The API was called in a way that can never work (a bug in the calling code)."""


class SchemaError(UsageError):
    """A Python function cannot be turned into a tool schema (e.g. an unsupported annotation)."""


class ConfigurationError(SwarmletError, ValueError):
    """No usable model endpoint: missing API key, malformed base URL, refused key, unknown model."""


class ToolArgumentsError(SwarmletError):
    """Arguments sent by a model are not valid JSON, not an object, or fail validation."""


class RunStateError(SwarmletError, ValueError):
    """A saved run state cannot be used: it is not a run state, its version is not supported,
    its digest or signature does not match, it names an unknown agent, or a call id given to
    approve/reject is not waiting for a decision. Nothing of such a state is executed."""


class RunError(SwarmletError):
    """A run stopped before the model gave a final answer.

    Attributes:
        response: the messages, active agent and context variables produced up to the fault,
            so a caller can persist them and retry. ``None`` only if raised outside a run.
        agent_name: name of the agent that was active when the run stopped.
        turn: 1-based number of the model call during which the run stopped.
    """

    def __init__(
        self,
        message: str,
        *,
        response: Response | None = None,
        agent_name: str | None = None,
        turn: int | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.agent_name = agent_name
        self.turn = turn


class ModelError(RunError):
    """The model endpoint failed (HTTP error, connection failure) after the client's retries.

    Attributes:
        status_code: the HTTP status of the last attempt, when there was one.
    """

    def __init__(self, message: str, *, status_code: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.status_code = status_code


class ModelTimeoutError(ModelError):
    """The model endpoint did not answer in time."""


class ModelConfigurationError(ModelError, ConfigurationError):
    """The endpoint refused the API key, does not know the model, or has no such route."""


class ModelResponseError(ModelError):
    """The endpoint answered, but not with a usable chat completion (no choices, bad JSON...)."""


class ScriptExhaustedError(RunError):
    """A :class:`swarmlet.testing.ScriptedModel` received a request after its last reply."""


class OutputValidationError(RunError):
    """The final answer did not match the agent's ``output_type``, retries included.

    Attributes:
        errors: the validation errors of the last answer (``"path: message; ..."``).
        content: the last answer's raw text (also the last message of ``response``).
    """

    def __init__(
        self, message: str, *, errors: str = "", content: str | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.errors = errors
        self.content = content


class GuardrailTripped(RunError):
    """A guardrail tripped and stopped the run.

    Attributes:
        result: the :class:`~swarmlet.guardrails.GuardrailResult` the guardrail returned
            (its ``info`` says why).
        guardrail: the guardrail's name.
        response: the run so far (see :class:`RunError`).
    """

    def __init__(
        self, message: str, *, result: GuardrailResult, guardrail: str, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.result = result
        self.guardrail = guardrail


class InputGuardrailTripped(GuardrailTripped):
    """An input guardrail tripped: the run stopped before any model output reached the caller."""


class OutputGuardrailTripped(GuardrailTripped):
    """An output guardrail tripped on the final answer."""


class ToolGuardrailTripped(GuardrailTripped):
    """A tool guardrail stopped the run before or after a tool call."""


class GuardrailError(RunError):
    """A guardrail raised instead of answering; the run stops rather than go on unchecked."""


class HookError(RunError):
    """A lifecycle hook raised; the run stops. The hook's exception is the ``__cause__``."""


class MaxDepthError(RunError):
    """An agent-tool was called more than ``max_depth`` agent-tools deep (see ``as_tool``).

    Raised inside the tool, so the calling model sees it as a tool error.
    """


class MCPServerError(RunError):
    """An MCP server could not be started or reached, did not answer in time, or failed.

    Attributes:
        server: the name of the MCP server (see :class:`swarmlet.mcp.MCPServer`).
    """

    def __init__(self, message: str, *, server: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.server = server
