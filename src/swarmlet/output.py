"""Structured output: an agent's final answer as a validated Python value.

``Agent(output_type=Report)`` asks the model for its final answer as JSON matching ``Report``'s
schema (Chat Completions ``response_format``), validates the reply with pydantic and exposes the
value as ``Response.output``. An invalid reply is sent back to the model with the validation
error, up to ``Agent.output_retries`` times; after that the run raises
:class:`~swarmlet.exceptions.OutputValidationError`.

Accepted types are whatever pydantic's ``TypeAdapter`` validates: pydantic models, dataclasses,
TypedDicts, and any other type (``list[Finding]``, ``int``, ``Literal[...]``, unions). The
endpoint's ``response_format`` must describe an *object*, so a type whose schema is not a closed
object is wrapped in one: the model answers ``{"result": <value>}`` and ``Response.output`` is
the unwrapped value.

The schema is sent in OpenAI strict mode (every object closed, every property required) when it
can be expressed so; an open mapping (``dict[str, int]``) cannot, and is sent non-strict.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic
from pydantic import TypeAdapter, ValidationError

from swarmlet.exceptions import OutputValidationError, SchemaError

if TYPE_CHECKING:
    from swarmlet.models.base import AssistantMessage
    from swarmlet.state import RunState

__all__ = [
    "WRAPPER_FIELD",
    "FinalOutput",
    "OutputRetry",
    "OutputSchema",
    "ValidOutput",
    "accept_answer",
    "check_output",
    "encode_output",
    "give_up",
    "output_schema",
    "request_format",
    "validate_output_type",
]

WRAPPER_FIELD = "result"
"""The property a non-object output is wrapped in: the model answers ``{"result": ...}``."""

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """How one ``output_type`` is requested from a model and validated.

    Attributes:
        output_type: the type given to the agent.
        name: the schema name sent to the endpoint (letters, digits, ``_``, ``-``).
        json_schema: the JSON schema of the object the model must write.
        strict: whether ``json_schema`` follows OpenAI's strict rules (and is sent as strict).
        wrapped: whether the value travels inside ``{"result": ...}``.
    """

    output_type: Any
    name: str
    json_schema: dict[str, Any]
    strict: bool
    wrapped: bool
    adapter: TypeAdapter[Any]

    def response_format(self) -> dict[str, Any]:
        """The Chat Completions ``response_format`` asking for this schema."""
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.json_schema, "strict": self.strict},
        }

    def validate_json(self, text: str) -> Any:
        """The typed value in the model's JSON ``text``.

        Raises:
            pydantic.ValidationError: the text is not JSON or does not match the type.
        """
        value = self.adapter.validate_json(text)
        return getattr(value, WRAPPER_FIELD) if self.wrapped else value

    def to_json(self, value: Any) -> str:
        """``value`` as the JSON text a model would write for it (wrapped when needed)."""
        if self.wrapped:
            value = self.adapter.validate_python({WRAPPER_FIELD: value})
        return self.adapter.dump_json(value).decode()


@functools.lru_cache(maxsize=256)
def _cached_schema(output_type: Any) -> OutputSchema:
    return _build(output_type)


def output_schema(output_type: Any) -> OutputSchema:
    """The :class:`OutputSchema` of ``output_type`` (cached for hashable types).

    Raises:
        SchemaError: pydantic cannot validate or describe the type.
    """
    try:
        hash(output_type)
    except TypeError:  # an unhashable type expression: build it every time
        return _build(output_type)
    return _cached_schema(output_type)


def _build(output_type: Any) -> OutputSchema:
    name = _schema_name(output_type)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(output_type)
        schema = adapter.json_schema()
        wrapped = not _is_closed_object(schema)
        if wrapped:
            fields: dict[str, Any] = {WRAPPER_FIELD: (output_type, ...)}
            model = pydantic.create_model(name, **fields)
            adapter = TypeAdapter(model)
            schema = adapter.json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError) as exc:
        raise SchemaError(f"output_type {output_type!r} cannot be used: {exc}") from exc
    strict_schema = _strict_or_none(schema, name)
    return OutputSchema(
        output_type=output_type,
        name=name,
        json_schema=strict_schema if strict_schema is not None else schema,
        strict=strict_schema is not None,
        wrapped=wrapped,
        adapter=adapter,
    )


def _schema_name(output_type: Any) -> str:
    raw = getattr(output_type, "__name__", None) or "output"
    name = _NAME_UNSAFE.sub("_", str(raw))[:64]
    return name or "output"


def _is_closed_object(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` is an object with named properties (what response_format needs)."""
    return schema.get("type") == "object" and "properties" in schema


def _strict_or_none(schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    """``schema`` in OpenAI strict form, or ``None`` if it cannot be (an open mapping)."""
    from swarmlet.schema import _strict_schema  # the same rules tool schemas follow

    try:
        strict = _strict_schema(schema, f"output_type {name!r}")
        if "$defs" in strict:
            strict["$defs"] = {
                key: _strict_schema(value, f"output_type {name!r}: type {key!r}")
                for key, value in strict["$defs"].items()
            }
    except SchemaError:
        return None
    return strict


# --------------------------------------------------------------------------- checking a reply


@dataclass(frozen=True, slots=True)
class ValidOutput:
    """The final answer validated: ``value`` is an instance of the agent's output type."""

    value: Any


@dataclass(frozen=True, slots=True)
class OutputRetry:
    """The final answer was invalid; ``message`` (a user message) asks the model again."""

    message: dict[str, Any]
    error: str


def check_output(
    schema: OutputSchema, content: str | None, refusal: str | None
) -> ValidOutput | OutputRetry:
    """Validate one final answer: :class:`ValidOutput` or :class:`OutputRetry`."""
    if refusal:
        error = f"the model refused: {refusal}"
        return OutputRetry(_retry_message(error), error)
    try:
        return ValidOutput(schema.validate_json(content or ""))
    except ValidationError as exc:
        error = _format_errors(exc)
        return OutputRetry(_retry_message(error), error)


def give_up(retry: OutputRetry, content: str | None, attempts: int) -> OutputValidationError:
    """The error raised once ``attempts`` answers in a row were invalid."""
    shown = content if content is None or len(content) <= 500 else content[:500] + "..."
    return OutputValidationError(
        f"the final answer did not match the output type after {attempts} attempt"
        f"{'s' if attempts != 1 else ''}: {retry.error} (last answer: {shown!r})",
        errors=retry.error,
        content=content,
    )


def _retry_message(error: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": (
            f"Your answer does not match the required JSON schema: {error}\n"
            "Answer again with only a JSON value that matches the schema."
        ),
    }


def _format_errors(exc: ValidationError) -> str:
    """``"path: message; ..."`` — short enough for a model to act on."""
    parts = []
    for error in exc.errors(include_url=False)[:10]:
        path = ".".join(str(part) for part in error["loc"])
        parts.append(f"{path}: {error['msg']}" if path else error["msg"])
    return "; ".join(parts)


def validate_output_type(output_type: Any) -> Any:
    """Check ``output_type`` early (at ``Agent(...)``), so a bad type fails where it is written."""
    if output_type is not None:
        output_schema(output_type)
    return output_type


def encode_output(value: Any) -> str:
    """A final output as tool-result / batch text: strings as they are, values as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(TypeAdapter(Any).dump_python(value, mode="json"), ensure_ascii=False)


class FinalOutput:
    """One run's judge of final answers: validates them and counts invalid ones.

    The run loop calls :meth:`judge` with each reply that ends the run. It returns the
    :class:`ValidOutput` (the typed value, or the text when the agent has no ``output_type``)
    or an :class:`OutputRetry` whose message the loop appends before calling the model again.
    """

    def __init__(self) -> None:
        self.failures = 0

    def judge(
        self, output_type: Any, retries: int, content: str | None, refusal: str | None
    ) -> ValidOutput | OutputRetry:
        """Validate one final answer of an agent with ``output_type``/``output_retries``.

        Raises:
            OutputValidationError: the answer is invalid and ``retries`` retries were used.
        """
        if output_type is None:
            return ValidOutput(content)
        verdict = check_output(output_schema(output_type), content, refusal)
        if isinstance(verdict, OutputRetry):
            self.failures += 1
            if self.failures > retries:
                raise give_up(verdict, content, self.failures)
        return verdict


def accept_answer(state: RunState, final: FinalOutput, message: AssistantMessage) -> bool:
    """Judge a run's final answer: store the output, or queue a retry prompt (``False``).

    Raises:
        OutputValidationError: out of retries (with the run's position and messages).
    """
    from swarmlet.turn import with_position

    agent = state.agent
    try:
        verdict = final.judge(
            agent.output_type, agent.output_retries, message.content, message.refusal
        )
    except OutputValidationError as exc:
        raise with_position(exc, state) from None
    if isinstance(verdict, OutputRetry):
        state.messages.append(verdict.message)
        return False
    state.output = verdict.value
    return True


def request_format(output_type: Any) -> dict[str, Any] | None:
    """The ``response_format`` for an agent's requests (``None`` without ``output_type``)."""
    return None if output_type is None else output_schema(output_type).response_format()
