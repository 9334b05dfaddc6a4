"""Describe a Python callable as a Chat Completions tool, and validate a model's arguments.

:func:`function_schema` reads a callable's signature, type hints and docstring once and
returns a :class:`FunctionSchema`: the JSON schema sent to the model (``to_tool()``) and a
pydantic model that checks and coerces the arguments the model sends back (``validate()``).

For the seven types Swarm knows (``str int float bool list dict None``) and for unannotated
parameters the schema is byte-for-byte what Swarm's ``function_to_json`` produces, so agents
behave the same after switching. Richer annotations (``Optional``, ``Literal``, ``list[int]``,
pydantic models, ...) are described through pydantic's JSON schema, tidied for LLM use: no
``title`` keys and ``$ref`` inlined unless a type is recursive.

The ``context_variables`` parameter is swarmlet's (and Swarm's) channel for run state: it is
hidden from the model and injected by the caller.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.errors import PydanticUserError
from pydantic.fields import FieldInfo

from swarmlet.docstrings import parse_docstring
from swarmlet.exceptions import SchemaError, ToolArgumentsError, UsageError

__all__ = [
    "CONTEXT_PARAMETER",
    "FunctionSchema",
    "ToolOptions",
    "function_schema",
    "tool",
    "tool_options",
]

CONTEXT_PARAMETER = "context_variables"
"""A tool parameter with this name receives the run's context variables, not model input."""

_OPTIONS_ATTRIBUTE = "__swarmlet_tool__"
_CACHE_SIZE = 1024
_DEFS_PREFIX = "#/$defs/"

F = TypeVar("F", bound=Callable[..., Any])

# Swarm's complete type map. Checked by identity so an Annotated/generic alias never matches.
_SWARM_TYPES: tuple[tuple[Any, str], ...] = (
    (str, "string"),
    (int, "integer"),
    (float, "number"),
    (bool, "boolean"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
    (None, "null"),
)


# --------------------------------------------------------------------------- tool options


@dataclass(frozen=True)
class ToolOptions:
    """Per-function settings attached by :func:`tool`.

    Attributes:
        name: the tool name the model sees (default: the function's name).
        description: the tool description (default: the docstring's summary).
        strict: force OpenAI strict mode on or off for this tool, whatever the agent says.
        timeout: seconds a call may take before it is reported to the model as timed out.
        before: tool guardrails checked before a call runs (see :mod:`swarmlet.guardrails`).
        after: tool guardrails checked on a call's result.
        needs_approval: ``True``, or a predicate (sync or async) on the decoded arguments
            (a dict): a call that needs approval waits, and the run pauses for a human
            decision (see :mod:`swarmlet.state`).
        thread: a sync tool always runs on a worker thread, never on the event loop's or the
            caller's thread, whatever the client's ``sync_tools`` policy: for a tool that waits
            on work scheduled on the run's own event loop, or that must not block it. Async
            tools ignore it.
    """

    name: str | None = None
    description: str | None = None
    strict: bool | None = None
    timeout: float | None = None
    before: tuple[Any, ...] = ()
    after: tuple[Any, ...] = ()
    needs_approval: bool | Callable[[dict[str, Any]], Any] = False
    thread: bool = False


@overload
def tool(func: F, /) -> F: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    before: Any = None,
    after: Any = None,
    needs_approval: bool | Callable[[dict[str, Any]], Any] = False,
    thread: bool = False,
) -> Callable[[F], F]: ...


def tool(
    func: F | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    before: Any = None,
    after: Any = None,
    needs_approval: bool | Callable[[dict[str, Any]], Any] = False,
    thread: bool = False,
) -> F | Callable[[F], F]:
    """Attach :class:`ToolOptions` to a function; use as ``@tool`` or ``@tool(strict=True)``.

    ``before``/``after`` take a tool guardrail (a function, an Agent or a
    :class:`~swarmlet.guardrails.Guardrail`) or a list of them. ``needs_approval`` makes
    calls wait for a human decision (``True``, or a predicate on the arguments dict).
    ``thread=True`` keeps a sync tool on a worker thread (see :class:`ToolOptions`).

    The function itself is returned (not a wrapper), so it stays directly callable and
    picklable; the options live on its ``__swarmlet_tool__`` attribute.
    """
    if timeout is not None and timeout <= 0:
        raise UsageError(f"tool timeout must be a positive number of seconds, got {timeout!r}")
    options = ToolOptions(
        name=name,
        description=description,
        strict=strict,
        timeout=timeout,
        before=_as_tuple(before),
        after=_as_tuple(after),
        needs_approval=needs_approval,
        thread=thread,
    )

    def attach(target: F) -> F:
        try:
            setattr(target, _OPTIONS_ATTRIBUTE, options)
        except AttributeError as exc:
            raise UsageError(
                f"cannot attach tool options to {target!r}; decorate the function itself "
                "(bound methods and builtins do not accept attributes)"
            ) from exc
        return target

    return attach if func is None else attach(func)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def tool_options(func: Callable[..., Any]) -> ToolOptions:
    """The options :func:`tool` attached to ``func`` (looking through partials), or defaults."""
    target: Any = func
    while True:
        options = getattr(target, _OPTIONS_ATTRIBUTE, None)
        if isinstance(options, ToolOptions):
            return options
        if not isinstance(target, functools.partial):
            return _NO_OPTIONS
        target = target.func


_NO_OPTIONS = ToolOptions()  # frozen, so one shared instance serves every undecorated tool


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class _Parameter:
    """One model-visible parameter and how to pass it back to the callable."""

    name: str
    key: str  # pydantic field name; the parameter name is its alias (see _arguments_model)
    annotation: Any
    typed: bool
    positional_only: bool
    default: Any  # inspect.Parameter.empty when the parameter is required
    accepts_none: bool = False

    @property
    def required(self) -> bool:
        """Whether the callable has no default for this parameter."""
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class _Validator:
    """Checks a model's argument dict and turns it into ``(args, kwargs)``."""

    model: type[BaseModel]
    params: tuple[_Parameter, ...]
    strict: bool
    takes_context: bool

    def __call__(self, arguments: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if not isinstance(arguments, Mapping):
            raise ToolArgumentsError(
                f"arguments must be a JSON object, got {type(arguments).__name__}"
            )
        if self.takes_context and CONTEXT_PARAMETER in arguments:
            raise ToolArgumentsError(f"{CONTEXT_PARAMETER}: Extra inputs are not permitted")
        try:
            instance = self.model.model_validate(self._drop_strict_nulls(arguments))
        except ValidationError as exc:
            # ``from None``: the model gets the message; a traceback would only be noise.
            raise ToolArgumentsError(_format_errors(exc)) from None
        return self._split(instance)

    def _drop_strict_nulls(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """In strict mode ``null`` is how the model says "use the default"."""
        data = dict(arguments)
        if self.strict:
            for param in self.params:
                droppable = not param.required and not param.accepts_none
                if droppable and param.name in data and data[param.name] is None:
                    del data[param.name]
        return data

    def _split(self, instance: BaseModel) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional-only values in order (defaults filling gaps), the rest by keyword."""
        given = instance.model_fields_set
        positional = [p for p in self.params if p.positional_only]
        last = max((i for i, p in enumerate(positional) if p.key in given), default=-1)
        args = tuple(
            getattr(instance, p.key) if p.key in given else p.default
            for p in positional[: last + 1]
        )
        kwargs = {
            p.name: getattr(instance, p.key)
            for p in self.params
            if not p.positional_only and p.key in given
        }
        kwargs.update(instance.model_extra or {})
        return args, kwargs


@dataclass(frozen=True)
class FunctionSchema:
    """A callable described as a tool, plus the validator for its arguments.

    Attributes:
        name: the tool name the model sees.
        description: the tool description the model sees.
        parameters: JSON schema of the arguments (``context_variables`` hidden).
        strict: whether the schema follows OpenAI's strict structured-output rules.
        takes_context: the callable has a ``context_variables`` parameter to inject.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool = False
    takes_context: bool = False
    _validator: _Validator | None = field(default=None, repr=False, compare=False)

    def to_tool(self) -> dict[str, Any]:
        """The entry for the Chat Completions ``tools`` list."""
        function: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def validate(self, arguments: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Check and coerce ``arguments`` into ``(args, kwargs)`` for ``func(*args, **kwargs)``.

        ``context_variables`` is not included: the caller injects it. Raises
        :class:`~swarmlet.exceptions.ToolArgumentsError` with one ``path: problem`` entry per
        error, separated by ``"; "``. A schema built by hand (without :func:`function_schema`)
        has no validator and passes the arguments through unchanged as keywords.
        """
        if self._validator is None:
            return (), dict(arguments)
        return self._validator(arguments)


def function_schema(func: Callable[..., Any], *, strict: bool = False) -> FunctionSchema:
    """Describe ``func`` as a tool; ``strict`` is the default when ToolOptions.strict is None.

    Results are cached per ``(func, strict, options)`` in a bounded LRU cache; callables that
    cannot be hashed are described afresh each time.
    """
    key = (func, strict, tool_options(func))
    try:
        hash(key)
    except TypeError:
        return _build(*key)
    return _cached_build(*key)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_build(func: Callable[..., Any], strict: bool, options: ToolOptions) -> FunctionSchema:
    return _build(func, strict, options)


def _build(func: Callable[..., Any], strict: bool, options: ToolOptions) -> FunctionSchema:
    name = _checked_name(options.name or _default_name(func))
    is_strict = strict if options.strict is None else options.strict
    signature = _signature(func, name)
    params, takes_context, accepts_extra = _collect(signature, _type_hints(func, name, signature))
    doc = parse_docstring(_docstring(func))
    model, generated = _arguments_model(name, params, accepts_extra)
    properties, kept_defs = _describe_properties(params, generated, doc.params)
    if is_strict:
        params = tuple(_note_accepts_none(p, properties[p.name]) for p in params)
        parameters = _strict_parameters(name, params, properties, kept_defs)
    else:
        parameters = {
            "type": "object",
            "properties": properties,
            "required": [p.name for p in params if p.required],
        }
        if kept_defs:
            parameters["$defs"] = kept_defs
    description = doc.summary if options.description is None else options.description
    validator = _Validator(model, params, is_strict, takes_context)
    return FunctionSchema(name, description, parameters, is_strict, takes_context, validator)


# --------------------------------------------------------------------------- reading the callable


def _innermost(func: Any) -> Any:
    """The callable a (possibly nested) ``functools.partial`` wraps."""
    while isinstance(func, functools.partial):
        func = func.func
    return func


def _own(layer: Any, attribute: str) -> str | None:
    """``attribute`` (``__name__``/``__doc__``) set on a partial itself, not on its class.

    Swarm maps tools by ``f.__name__``, so Swarm programs name their partials that way; what
    a caller set on the outer object wins over the wrapped function's.
    """
    value = vars(layer).get(attribute) if isinstance(layer, functools.partial) else None
    return value if isinstance(value, str) else None


def _default_name(func: Callable[..., Any]) -> str:
    layer: Any = func
    while isinstance(layer, functools.partial):
        if (own := _own(layer, "__name__")) is not None:
            return own
        layer = layer.func
    name = getattr(layer, "__name__", None)  # a callable object's instance attribute counts
    # A callable object has no __name__ of its own; its class names the behaviour.
    return name if isinstance(name, str) else type(layer).__name__


_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _checked_name(name: str) -> str:
    """Refuse names the Chat Completions API rejects (a lambda's ``<lambda>``, for one).

    Failing here names the culprit; the API would answer a 400 about the whole request.
    """
    if not _TOOL_NAME.fullmatch(name):
        raise SchemaError(
            f"{name!r} cannot be a tool name: the API accepts 1-64 letters, digits, '_' or "
            "'-'. Give the function a name (def instead of lambda) or use @tool(name=...)."
        )
    return name


def _docstring(func: Callable[..., Any]) -> str | None:
    layer: Any = func
    while isinstance(layer, functools.partial):
        if (own := _own(layer, "__doc__")) is not None:
            return inspect.cleandoc(own)
        layer = layer.func
    doc = inspect.getdoc(layer)  # a callable object's own __doc__ comes before its class's
    if doc is None and not inspect.isroutine(layer) and not inspect.isclass(layer):
        doc = inspect.getdoc(type(layer).__call__)
    return doc


def _hint_source(func: Callable[..., Any]) -> Any:
    """The object whose ``__annotations__`` describe the call signature."""
    target = _innermost(func)
    if inspect.isroutine(target) or inspect.isclass(target):
        return target
    return type(target).__call__


def _signature(func: Callable[..., Any], name: str) -> inspect.Signature:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"cannot read the signature of tool {name!r}: {exc}") from exc


def _type_hints(
    func: Callable[..., Any], name: str, signature: inspect.Signature
) -> dict[str, Any]:
    """Resolved annotations (string / ``__future__`` ones included), keeping ``Annotated``."""
    source = _hint_source(func)
    try:
        return typing.get_type_hints(source, include_extras=True)
    except Exception as exc:
        namespace = getattr(source, "__globals__", {})
        for param in signature.parameters.values():
            if isinstance(param.annotation, str):
                try:
                    eval(param.annotation, namespace)  # the same evaluation typing performs
                except Exception:
                    raise SchemaError(
                        f"tool {name!r}: the annotation of parameter {param.name!r} "
                        f"({param.annotation!r}) cannot be resolved: {exc}"
                    ) from exc
        raise SchemaError(f"tool {name!r}: cannot resolve type hints: {exc}") from exc


def _collect(
    signature: inspect.Signature, hints: Mapping[str, Any]
) -> tuple[tuple[_Parameter, ...], bool, bool]:
    """The model-visible parameters, whether context is taken, whether extras are allowed."""
    params: list[_Parameter] = []
    takes_context = accepts_extra = False
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            continue  # the model can only send named arguments
        if param.kind is param.VAR_KEYWORD:
            accepts_extra = True
        elif param.name == CONTEXT_PARAMETER:
            takes_context = True
        else:
            annotation = hints.get(param.name, param.annotation)
            typed = annotation is not inspect.Parameter.empty
            params.append(
                _Parameter(
                    name=param.name,
                    key=f"p{len(params)}",
                    annotation=annotation if typed else Any,
                    typed=typed,
                    positional_only=param.kind is param.POSITIONAL_ONLY,
                    default=param.default,
                )
            )
    return tuple(params), takes_context, accepts_extra


# --------------------------------------------------------------------------- pydantic model


def _arguments_model(
    name: str, params: tuple[_Parameter, ...], accepts_extra: bool
) -> tuple[type[BaseModel], dict[str, Any]]:
    """The validation model and its raw JSON schema.

    Fields are named ``p0, p1, ...`` with the parameter name as alias, so parameters called
    ``model_config``, ``json`` or ``_private`` cannot clash with pydantic's own names. The
    model's default is a placeholder: validate() only passes on values the model sent, and
    the callable's own default applies otherwise (no copying, no JSON-encoding of defaults).
    """
    fields: dict[str, Any] = {
        p.key: (p.annotation, Field(default=None if not p.required else ..., alias=p.name))
        for p in params
    }
    config = ConfigDict(extra="allow" if accepts_extra else "forbid")
    try:
        model = create_model(f"{name}_arguments", __config__=config, **fields)
        return model, model.model_json_schema(by_alias=True)
    except PydanticUserError as exc:
        raise _unsupported_annotation(name, params, exc) from exc


def _unsupported_annotation(
    name: str, params: tuple[_Parameter, ...], exc: Exception
) -> SchemaError:
    """Name the first parameter whose annotation pydantic cannot describe."""
    for param in params:
        try:
            TypeAdapter(param.annotation).json_schema()
        except Exception as inner:
            reason = str(inner).splitlines()[0]
            return SchemaError(
                f"tool {name!r}: parameter {param.name!r} has an annotation that cannot be "
                f"described as JSON schema ({param.annotation!r}): {reason}"
            )
    return SchemaError(f"tool {name!r}: cannot describe the arguments: {exc}")


def _format_errors(exc: ValidationError) -> str:
    """``"path: message; path: message"`` — short enough for a model to act on."""
    parts = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        parts.append(f"{path}: {error['msg']}" if path else error["msg"])
    return "; ".join(parts)


# --------------------------------------------------------------------------- JSON schema


def _describe_properties(
    params: tuple[_Parameter, ...], generated: dict[str, Any], docs: Mapping[str, str]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per-parameter schemas (tidied, described) and the ``$defs`` that must stay."""
    refs = _Refs(generated.get("$defs", {}))
    properties = {}
    for param in params:
        schema = _swarm_schema(param)
        if schema is None:
            schema = refs.inline(_strip_key(generated["properties"][param.name], "title"))
            schema.pop("default", None)  # Swarm sends none; the placeholder is meaningless
        description = _annotated_description(param.annotation) or docs.get(param.name)
        if description:
            schema["description"] = description
        properties[param.name] = schema
    return properties, refs.kept()


def _swarm_schema(param: _Parameter) -> dict[str, Any] | None:
    """Swarm's exact schema for unannotated parameters and its seven types, else None."""
    if not param.typed:
        return {"type": "string"}
    for python_type, json_type in _SWARM_TYPES:
        if param.annotation is python_type:
            return {"type": json_type}
    return None


def _annotated_description(annotation: Any) -> str | None:
    """``Annotated[T, Field(description=...)]`` or ``Annotated[T, "description"]``."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    for meta in reversed(annotation.__metadata__):
        if isinstance(meta, FieldInfo) and meta.description:
            return meta.description
        if isinstance(meta, str):
            return meta
    return None


_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"}
)


def _map_subschemas(
    node: Mapping[str, Any], func: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """A copy of ``node`` with ``func`` applied to each direct sub-schema.

    Only schema-valued keywords are visited, so data such as ``enum``/``default`` values
    and property *names* (a property may well be called ``title``) are left alone.
    """
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            result[key] = {k: func(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            result[key] = [func(v) if isinstance(v, dict) else v for v in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            result[key] = func(value)
        else:
            result[key] = value
    return result


def _strip_key(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Remove keyword ``key`` from a schema and all its sub-schemas."""
    trimmed = {k: v for k, v in node.items() if k != key}
    return _map_subschemas(trimmed, lambda sub: _strip_key(sub, key))


def _ref_target(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
        return ref[len(_DEFS_PREFIX) :]
    return None


def _collect_refs(node: Mapping[str, Any], found: set[str]) -> dict[str, Any]:
    target = _ref_target(node)
    if target is not None:
        found.add(target)
    return _map_subschemas(node, lambda sub: _collect_refs(sub, found))


class _Refs:
    """Inlines ``$ref``s into pydantic's ``$defs``, keeping only recursive definitions."""

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = {name: _strip_key(schema, "title") for name, schema in defs.items()}
        edges: dict[str, set[str]] = {}
        for name, schema in self.defs.items():
            edges[name] = set()
            _collect_refs(schema, edges[name])
        self.recursive = {name for name in self.defs if _reaches(edges, name, name)}

    def inline(self, node: dict[str, Any]) -> dict[str, Any]:
        """``node`` with every non-recursive reference replaced by its definition."""
        target = _ref_target(node)
        if target is not None and target in self.defs and target not in self.recursive:
            # Keywords beside the $ref (a field's description) win over the definition's.
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return self.inline({**self.defs[target], **siblings})
        return _map_subschemas(node, self.inline)

    def kept(self) -> dict[str, Any]:
        """The recursive definitions, to be placed at the parameters root."""
        return {name: self.inline(self.defs[name]) for name in sorted(self.recursive)}


def _reaches(edges: Mapping[str, set[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        name = stack.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            stack.extend(edges.get(name, ()))
    return False


# --------------------------------------------------------------------------- strict mode


def _strict_parameters(
    name: str,
    params: tuple[_Parameter, ...],
    properties: Mapping[str, dict[str, Any]],
    kept_defs: Mapping[str, Any],
) -> dict[str, Any]:
    """OpenAI strict mode: closed objects, everything required, defaults become nullable."""
    strict_properties = {}
    for param in params:
        where = f"tool {name!r}: parameter {param.name!r}"
        schema = _strict_schema(properties[param.name], where)
        strict_properties[param.name] = schema if param.required else _nullable(schema)
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": strict_properties,
        "required": list(strict_properties),
        "additionalProperties": False,
    }
    if kept_defs:
        parameters["$defs"] = {
            def_name: _strict_schema(schema, f"tool {name!r}: type {def_name!r}")
            for def_name, schema in kept_defs.items()
        }
    return parameters


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _strict_schema(node: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Close every object, require all its properties and drop ``default`` keywords."""
    trimmed = {k: v for k, v in node.items() if k != "default"}
    result = _map_subschemas(trimmed, lambda sub: _strict_schema(sub, where))
    if not _is_object(result):
        return result
    # pydantic marks dataclasses / TypedDicts ``additionalProperties: true``; closing those is
    # fine (extras were ignored anyway). A mapping *to a schema* has no fixed keys to close.
    if isinstance(result.get("additionalProperties"), dict) or "properties" not in result:
        raise SchemaError(
            f"{where} is an open object (dict / mapping) and cannot be described in strict "
            "mode; use a pydantic model, dataclass or TypedDict, or turn strict off"
        )
    return {**result, "additionalProperties": False, "required": list(result["properties"])}


def _admits_null(schema: Mapping[str, Any]) -> bool:
    """Whether JSON ``null`` already satisfies ``schema`` (a conservative check)."""
    if not (schema.keys() - {"description"}):
        return True  # ``Any``: no constraint at all
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind and "enum" not in schema):
        return True
    if "enum" in schema and "type" not in schema:
        return None in schema["enum"]
    if "const" in schema and "type" not in schema:
        return schema["const"] is None
    return any(_admits_null(option) for option in schema.get("anyOf", ()))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, in the plainest form strict mode accepts."""
    if _admits_null(schema):
        return schema
    kind = schema.get("type")
    if isinstance(kind, str) and not (schema.keys() & {"enum", "const"}):
        return {**schema, "type": [kind, "null"]}
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    inner = {k: v for k, v in schema.items() if k != "description"}
    wrapped: dict[str, Any] = {"anyOf": [inner, {"type": "null"}]}
    if "description" in schema:
        wrapped["description"] = schema["description"]
    return wrapped


def _note_accepts_none(param: _Parameter, schema: Mapping[str, Any]) -> _Parameter:
    """Record whether ``None`` is a real value for the parameter (else null means default)."""
    accepts = param.typed and _admits_null(schema)
    return replace(param, accepts_none=accepts)
