"""Property tests: the JSON schema sent to the model and the pydantic validator agree.

Random signatures are built as real functions (via ``exec``) from a pool of supported
annotations. For each one we check that

* ``required`` lists exactly the parameters without defaults (all of them in strict mode);
* well-typed JSON arguments pass both the JSON schema and validate();
* whatever JSON the schema accepts, validate() accepts too (the model is never told
  something is fine and then refused);
* whatever validate() accepts, once coerced and re-encoded as JSON, fits the schema.
"""

from __future__ import annotations

import datetime
import enum
import keyword
from dataclasses import dataclass
from typing import Any, Literal, Optional

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from swarmlet.exceptions import SchemaError, ToolArgumentsError
from swarmlet.schema import function_schema


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: int
    y: int = 0


@dataclass(frozen=True)
class Kind:
    """One annotation of the pool, with JSON values that are valid for it."""

    label: str
    annotation: Any  # ``None`` stands for "no annotation"
    values: st.SearchStrategy[Any]
    default: Any
    open_object: bool = False  # a mapping type, which strict mode must refuse
    strict_values: st.SearchStrategy[Any] | None = None  # when strict mode needs more

    def valid(self, strict: bool) -> st.SearchStrategy[Any]:
        """JSON values valid for this annotation under the (strict or plain) schema."""
        return self.strict_values if strict and self.strict_values is not None else self.values


INTS = st.integers(min_value=-(10**6), max_value=10**6)
TEXT = st.text(max_size=5)
JSON_SCALARS = st.none() | st.booleans() | INTS | st.floats(allow_nan=False) | TEXT
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)

KINDS = [
    Kind("untyped", None, ANY_JSON.filter(lambda v: isinstance(v, str)), "d"),
    Kind("int", int, INTS, 0),
    Kind("float", float, INTS | st.floats(allow_nan=False, allow_infinity=False), 0.5),
    Kind("str", str, TEXT, ""),
    Kind("bool", bool, st.booleans(), False),
    Kind("Optional[int]", Optional[int], st.none() | INTS, None),  # noqa: UP045
    Kind("int | None", int | None, st.none() | INTS, 3),
    Kind("list[int]", list[int], st.lists(INTS, max_size=3), ()),
    Kind("list[str]", list[str], st.lists(TEXT, max_size=3), ()),
    Kind("Literal", Literal["a", "b", "c"], st.sampled_from(["a", "b", "c"]), "a"),
    Kind("Literal[int]", Literal[1, 2], st.sampled_from([1, 2]), 1),
    Kind("Color", Color, st.sampled_from(["red", "blue"]), Color.RED),
    Kind("date", datetime.date, st.dates().map(datetime.date.isoformat), None),
    Kind(
        "Point",
        Point,
        st.fixed_dictionaries({"x": INTS}, optional={"y": INTS}),
        None,
        # Strict mode requires every field of a nested object, defaults included.
        strict_values=st.fixed_dictionaries({"x": INTS, "y": INTS}),
    ),
    Kind(
        "Optional[list[int]]",
        Optional[list[int]],  # noqa: UP045
        st.none() | st.lists(INTS, max_size=3),
        None,
    ),
    Kind(
        "dict[str, int]",
        dict[str, int],
        st.dictionaries(TEXT, INTS, max_size=3),
        None,
        open_object=True,
    ),
]

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name.isidentifier() and not keyword.iskeyword(name)
)


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    has_default: bool


@st.composite
def signatures(draw: st.DrawFn) -> list[Param]:
    names = draw(st.lists(NAMES, min_size=0, max_size=6, unique=True))
    params = [Param(n, draw(st.sampled_from(KINDS)), draw(st.booleans())) for n in names]
    # Python requires parameters with defaults to come after those without.
    return sorted(params, key=lambda p: p.has_default)


def build(params: list[Param]) -> Any:
    """A real function with exactly this signature."""
    namespace: dict[str, Any] = {}
    parts = []
    for index, param in enumerate(params):
        namespace[f"T{index}"] = param.kind.annotation
        namespace[f"D{index}"] = param.kind.default
        text = param.name
        if param.kind.annotation is not None:
            text += f": T{index}"
        if param.has_default:
            text += f" = D{index}"
        parts.append(text)
    exec(f"def generated({', '.join(parts)}):\n    return locals()\n", namespace)
    return namespace["generated"]


def schema_accepts(parameters: dict[str, Any], arguments: dict[str, Any]) -> bool:
    # Check "format" too: the schema says {"type": "string", "format": "date"} for a date, and
    # without a format checker "" would count as a valid date.
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(parameters, format_checker=checker).is_valid(arguments)


def describe(params: list[Param], strict: bool) -> Any:
    """function_schema, or None when strict mode rightly refuses an open mapping."""
    func = build(params)
    if strict and any(p.kind.open_object for p in params):
        with pytest.raises(SchemaError):
            function_schema(func, strict=True)
        return None
    return function_schema(func, strict=strict)


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(params=signatures(), strict=st.booleans())
def test_required_matches_parameters_without_defaults(params: list[Param], strict: bool) -> None:
    schema = describe(params, strict)
    if schema is None:
        return
    jsonschema.Draft202012Validator.check_schema(schema.parameters)
    assert list(schema.parameters["properties"]) == [p.name for p in params]
    if strict:
        assert schema.parameters["required"] == [p.name for p in params]
    else:
        assert schema.parameters["required"] == [p.name for p in params if not p.has_default]


@PROPERTY_SETTINGS
@given(data=st.data(), params=signatures(), strict=st.booleans())
def test_well_typed_arguments_pass_schema_and_validation(
    data: st.DataObject, params: list[Param], strict: bool
) -> None:
    schema = describe(params, strict)
    if schema is None:
        return
    arguments: dict[str, Any] = {}
    for param in params:
        if param.has_default and not data.draw(st.booleans()):
            if strict:
                arguments[param.name] = None  # strict mode's way to ask for the default
            continue
        arguments[param.name] = data.draw(param.kind.valid(strict))
    assert schema_accepts(schema.parameters, arguments)
    args, kwargs = schema.validate(arguments)
    assert args == ()
    assert set(kwargs) <= {p.name for p in params}
    assert {p.name for p in params if not p.has_default} <= set(kwargs)


def has_huge_integral_float(value: Any) -> bool:
    """Whether ``value`` holds a float like 1e20: JSON Schema's "integer" accepts it, but
    pydantic refuses to turn a float of 2**63 or more into an int ("exceeded maximum size")."""
    if isinstance(value, float):
        return value.is_integer() and abs(value) >= 2.0**63
    if isinstance(value, dict):
        return any(has_huge_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_huge_integral_float(v) for v in value)
    return False


@PROPERTY_SETTINGS
@given(data=st.data(), params=signatures(), strict=st.booleans())
def test_schema_and_validator_agree_on_arbitrary_json(
    data: st.DataObject, params: list[Param], strict: bool
) -> None:
    schema = describe(params, strict)
    if schema is None:
        return
    arguments = {
        p.name: data.draw(ANY_JSON | p.kind.values)
        for p in params
        if not p.has_default or data.draw(st.booleans())
    }
    try:
        _, kwargs = schema.validate(arguments)
    except ToolArgumentsError:
        # Everything the schema allows must validate: only a rejected input may fail, or an
        # integral float too large for pydantic's 64-bit int conversion (a clear error).
        assert not schema_accepts(schema.parameters, arguments) or has_huge_integral_float(
            arguments
        )
        return
    # Accepted values, coerced to Python and encoded back to JSON, fit the schema.
    by_name = {p.name: p for p in params}
    for name, value in kwargs.items():
        kind = by_name[name].kind
        if kind.annotation is None:
            continue  # untyped: Swarm says "string" but any JSON value is accepted
        encoded = TypeAdapter(kind.annotation).dump_python(value, mode="json")
        property_schema = dict(schema.parameters["properties"][name])
        assert jsonschema.Draft202012Validator(property_schema).is_valid(encoded), (
            name,
            encoded,
            property_schema,
        )
