"""Tests for swarmlet.schema (callable -> tool schema, argument validation) and docstrings.

The module uses ``from __future__ import annotations`` on purpose: every function defined
here has string annotations, so forward-reference resolution is exercised throughout.
"""

# The pre-PEP 604 spellings (Optional, Union, List) are part of what is being tested.
# ruff: noqa: UP006, UP007, UP035, UP045

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from typing import Annotated, Any, List, Literal, Optional, Union

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from swarmlet.docstrings import parse_docstring
from swarmlet.exceptions import SchemaError, ToolArgumentsError, UsageError
from swarmlet.schema import (
    CONTEXT_PARAMETER,
    FunctionSchema,
    ToolOptions,
    function_schema,
    tool,
    tool_options,
)
from swarmlet.util import function_to_json

# --------------------------------------------------------------------------- helper types


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(BaseModel):
    """A point on the plane."""

    x: int
    y: int = 0


class Node(BaseModel):
    value: int
    children: list[Node] = []


@dataclasses.dataclass
class Box:
    width: int
    label: str = "box"


class Address(TypedDict):
    street: str
    number: int


class Shape(BaseModel):
    corner: Point
    color: Color


class Opaque:
    """Not describable as JSON schema."""


def make(annotation: Any, default: Any = dataclasses.MISSING) -> Any:
    """A fresh one-parameter function ``f(x: annotation [= default])``."""
    if default is dataclasses.MISSING:

        def f(x):  # type: ignore[no-untyped-def]
            return x

    else:

        def f(x=default):  # type: ignore[no-untyped-def]
            return x

    f.__annotations__ = {"x": annotation}
    return f


def props(func: Any, **kwargs: Any) -> dict[str, Any]:
    return function_schema(func, **kwargs).parameters["properties"]  # type: ignore[no-any-return]


def walk_objects(node: Any) -> list[dict[str, Any]]:
    """Every JSON-schema object node (a dict with "properties") anywhere under ``node``."""
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(walk_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk_objects(value))
    return found


def all_keys(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(key)
            keys |= all_keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= all_keys(value)
    return keys


# --------------------------------------------------------------------------- Swarm compatibility


def basic_function(arg1, arg2):  # type: ignore[no-untyped-def]
    return arg1 + arg2


def complex_function_with_types_and_descriptions(
    arg1: int, arg2: str, arg3: float = 3.14, arg4: bool = False
):  # type: ignore[no-untyped-def]
    """This is a complex function with a docstring."""


def test_swarm_basic_function_exact() -> None:
    assert function_to_json(basic_function) == {
        "type": "function",
        "function": {
            "name": "basic_function",
            "description": "",
            "parameters": {
                "type": "object",
                "properties": {"arg1": {"type": "string"}, "arg2": {"type": "string"}},
                "required": ["arg1", "arg2"],
            },
        },
    }


def test_swarm_complex_function_exact() -> None:
    assert function_to_json(complex_function_with_types_and_descriptions) == {
        "type": "function",
        "function": {
            "name": "complex_function_with_types_and_descriptions",
            "description": "This is a complex function with a docstring.",
            "parameters": {
                "type": "object",
                "properties": {
                    "arg1": {"type": "integer"},
                    "arg2": {"type": "string"},
                    "arg3": {"type": "number"},
                    "arg4": {"type": "boolean"},
                },
                "required": ["arg1", "arg2"],
            },
        },
    }


def test_swarm_type_map_has_no_extra_keys() -> None:
    def f(a: str, b: int, c: float, d: bool, e: list, f: dict, g: None, h=1):  # type: ignore[no-untyped-def, type-arg]
        pass

    assert props(f) == {
        "a": {"type": "string"},
        "b": {"type": "integer"},
        "c": {"type": "number"},
        "d": {"type": "boolean"},
        "e": {"type": "array"},
        "f": {"type": "object"},
        "g": {"type": "null"},
        "h": {"type": "string"},
    }
    assert "additionalProperties" not in function_schema(f).parameters
    assert "strict" not in function_schema(f).to_tool()["function"]


def test_description_is_cleaned_docstring() -> None:
    def f():  # type: ignore[no-untyped-def]
        """First line.

            Indented detail.
        Last line.
        """

    assert function_schema(f).description == "First line.\n\n    Indented detail.\nLast line."


def test_function_to_json_is_function_schema_to_tool() -> None:
    f = make(Optional[int])
    assert function_to_json(f) == function_schema(f).to_tool()
    assert function_to_json(f)["function"]["parameters"]["properties"]["x"]["anyOf"]


# --------------------------------------------------------------------------- rich annotations

ANNOTATION_CASES = [
    pytest.param(
        Optional[int],
        {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        [("3", 3), (None, None)],
        ["x"],
        id="Optional",
    ),
    pytest.param(
        int | None,
        {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        [(4, 4), (None, None)],
        [[1]],
        id="pipe-None",
    ),
    pytest.param(
        Union[int, str],
        {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        [(1, 1), ("a", "a")],
        [[1], None],
        id="Union",
    ),
    pytest.param(
        Literal["celsius", "fahrenheit"],
        {"enum": ["celsius", "fahrenheit"], "type": "string"},
        [("celsius", "celsius")],
        ["kelvin", 1],
        id="Literal-str",
    ),
    pytest.param(
        Literal[1, 2, 3],
        {"enum": [1, 2, 3], "type": "integer"},
        [(2, 2)],
        [4],
        id="Literal-int",
    ),
    pytest.param(
        list[int],
        {"type": "array", "items": {"type": "integer"}},
        [(["1", 2], [1, 2])],
        [["a"], "1"],
        id="list[int]",
    ),
    pytest.param(
        List[str],
        {"type": "array", "items": {"type": "string"}},
        [(["a"], ["a"])],
        [[None]],
        id="List[str]",
    ),
    pytest.param(
        tuple[int, ...],
        {"type": "array", "items": {"type": "integer"}},
        [([1, "2"], (1, 2))],
        [["z"]],
        id="tuple-variadic",
    ),
    pytest.param(
        tuple[int, str],
        {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2,
        },
        [([1, "a"], (1, "a"))],
        [[1], [1, "a", 2]],
        id="tuple-fixed",
    ),
    pytest.param(
        set[int],
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        [([1, 1, 2], {1, 2})],
        [["q"]],
        id="set",
    ),
    pytest.param(
        dict[str, int],
        {"type": "object", "additionalProperties": {"type": "integer"}},
        [({"a": "1"}, {"a": 1})],
        [{"a": "x"}, [1]],
        id="dict[str,int]",
    ),
    pytest.param(
        Color,
        {"enum": ["red", "blue"], "type": "string"},
        [("red", Color.RED)],
        ["green"],
        id="Enum",
    ),
    pytest.param(
        Priority,
        {"enum": [1, 2], "type": "integer"},
        [(2, Priority.HIGH)],
        [3],
        id="IntEnum",
    ),
    pytest.param(
        datetime.datetime,
        {"type": "string", "format": "date-time"},
        [("2024-01-02T03:04:05", datetime.datetime(2024, 1, 2, 3, 4, 5))],
        ["yesterday"],
        id="datetime",
    ),
    pytest.param(
        datetime.date,
        {"type": "string", "format": "date"},
        [("2024-01-02", datetime.date(2024, 1, 2))],
        ["2024-13-45"],
        id="date",
    ),
    pytest.param(
        Any,
        {},
        [(None, None), ({"a": [1]}, {"a": [1]})],
        [],
        id="Any",
    ),
]


@pytest.mark.parametrize(("annotation", "expected", "accepted", "rejected"), ANNOTATION_CASES)
def test_annotation_schema_and_validation(
    annotation: Any, expected: dict[str, Any], accepted: list[Any], rejected: list[Any]
) -> None:
    schema = function_schema(make(annotation))
    assert schema.parameters["properties"] == {"x": expected}
    assert schema.parameters["required"] == ["x"]
    for sent, value in accepted:
        args, kwargs = schema.validate({"x": sent})
        assert args == ()
        assert kwargs == {"x": value}
        assert type(kwargs["x"]) is type(value)
    for sent in rejected:
        with pytest.raises(ToolArgumentsError, match=r"^x"):
            schema.validate({"x": sent})


def test_pydantic_model_is_inlined_without_titles_and_validated_to_instance() -> None:
    def f(p: Point):  # type: ignore[no-untyped-def]
        pass

    assert props(f)["p"] == {
        "type": "object",
        "description": "A point on the plane.",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer", "default": 0}},
        "required": ["x"],
    }
    _, kwargs = function_schema(f).validate({"p": {"x": "5"}})
    assert kwargs["p"] == Point(x=5, y=0)
    assert isinstance(kwargs["p"], Point)


def test_nested_models_and_enums_are_inlined() -> None:
    def f(shape: Shape):  # type: ignore[no-untyped-def]
        pass

    schema = function_schema(f)
    assert "$defs" not in schema.parameters
    assert "$ref" not in all_keys(schema.parameters)
    assert "title" not in all_keys(schema.parameters)
    corner = schema.parameters["properties"]["shape"]["properties"]["corner"]
    assert corner["properties"]["x"] == {"type": "integer"}
    _, kwargs = schema.validate({"shape": {"corner": {"x": 1, "y": 2}, "color": "blue"}})
    assert kwargs["shape"].corner == Point(x=1, y=2)
    assert kwargs["shape"].color is Color.BLUE


def test_recursive_model_keeps_defs_at_parameters_root() -> None:
    def f(tree: Node):  # type: ignore[no-untyped-def]
        pass

    parameters = function_schema(f).parameters
    assert parameters["properties"]["tree"] == {"$ref": "#/$defs/Node"}
    node = parameters["$defs"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "title" not in all_keys(parameters)
    _, kwargs = function_schema(f).validate({"tree": {"value": 1, "children": [{"value": 2}]}})
    assert kwargs["tree"].children[0] == Node(value=2)


def test_dataclass_and_typeddict() -> None:
    def f(box: Box, address: Address):  # type: ignore[no-untyped-def]
        pass

    properties = props(f)
    assert properties["box"]["properties"]["width"] == {"type": "integer"}
    assert properties["box"]["required"] == ["width"]
    assert properties["address"]["required"] == ["street", "number"]
    _, kwargs = function_schema(f).validate(
        {"box": {"width": "3"}, "address": {"street": "Main", "number": "7"}}
    )
    assert kwargs["box"] == Box(width=3)
    assert kwargs["address"] == {"street": "Main", "number": 7}
    with pytest.raises(ToolArgumentsError, match=r"address\.number: Field required"):
        function_schema(f).validate({"box": {"width": 1}, "address": {"street": "x"}})


def test_annotated_descriptions() -> None:
    def f(  # type: ignore[no-untyped-def]
        a: Annotated[int, Field(description="from Field", ge=0)],
        b: Annotated[str, "from metadata"],
    ):
        """Do it.

        Args:
            a: from docstring (loses to Annotated)
        """

    properties = props(f)
    assert properties["a"] == {"type": "integer", "minimum": 0, "description": "from Field"}
    assert properties["b"] == {"type": "string", "description": "from metadata"}
    with pytest.raises(ToolArgumentsError, match="a: Input should be greater than or equal to 0"):
        function_schema(f).validate({"a": -1, "b": "x"})


def test_forward_references_resolve() -> None:
    def f(a: Point, b: list[Color]):  # type: ignore[no-untyped-def]
        pass

    # Under ``from __future__ import annotations`` both are strings until resolved.
    assert f.__annotations__["a"] == "Point"
    assert props(f)["b"] == {"type": "array", "items": {"enum": ["red", "blue"], "type": "string"}}


def test_unresolvable_annotation_names_function_and_parameter() -> None:
    def broken(ok: int, bad: NoSuchType):  # type: ignore[name-defined, no-untyped-def]  # noqa: F821
        pass

    with pytest.raises(SchemaError, match=r"'broken'.*'bad'"):
        function_schema(broken)


def test_undescribable_annotation_names_function_and_parameter() -> None:
    def opaque_tool(ok: int, thing: Opaque):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(SchemaError, match=r"'opaque_tool'.*'thing'"):
        function_schema(opaque_tool)


def test_args_are_skipped_and_kwargs_allow_extras() -> None:
    def f(a: int, *args: int, b: int = 2, **kwargs: Any):  # type: ignore[no-untyped-def]
        pass

    schema = function_schema(f)
    assert list(schema.parameters["properties"]) == ["a", "b"]
    assert schema.validate({"a": "1", "zzz": [1]}) == ((), {"a": 1, "zzz": [1]})


def test_unknown_argument_rejected() -> None:
    def f(a: int):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(ToolArgumentsError) as info:
        function_schema(f).validate({"a": 1, "b": 2})
    assert str(info.value) == "b: Extra inputs are not permitted"


def test_missing_argument_rejected_and_message_format() -> None:
    def get_weather(location: str, days: int):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(ToolArgumentsError) as info:
        function_schema(get_weather).validate({"days": "many"})
    message = str(info.value)
    assert message == (
        "location: Field required; "
        "days: Input should be a valid integer, unable to parse string as an integer"
    )
    assert "Traceback" not in message and "https://" not in message
    assert info.value.__suppress_context__ is True


def test_nested_error_path_is_dotted() -> None:
    def f(points: list[Point]):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(ToolArgumentsError, match=r"^points\.1\.x: Field required$"):
        function_schema(f).validate({"points": [{"x": 1}, {"y": 2}]})


def test_non_object_arguments_rejected() -> None:
    with pytest.raises(ToolArgumentsError, match="JSON object"):
        function_schema(make(int)).validate([1, 2])  # type: ignore[arg-type]


def test_untyped_parameter_accepts_any_json_value() -> None:
    schema = function_schema(basic_function)
    value = {"nested": [1, None, True]}
    assert schema.validate({"arg1": value, "arg2": 3}) == ((), {"arg1": value, "arg2": 3})


def test_omitted_defaults_are_left_to_the_function() -> None:
    sentinel: list[int] = []

    def f(a: int, b: list[int] = sentinel):  # type: ignore[no-untyped-def]
        return b

    args, kwargs = function_schema(f).validate({"a": 1})
    assert kwargs == {"a": 1}
    assert f(*args, **kwargs) is sentinel


def test_positional_only_parameters_go_in_args() -> None:
    def f(a: int, b: int = 5, /, c: int = 0):  # type: ignore[no-untyped-def]
        return (a, b, c)

    schema = function_schema(f)
    assert schema.validate({"a": "1", "c": "3"}) == ((1,), {"c": 3})
    assert schema.validate({"a": 1, "b": "2"}) == ((1, 2), {})
    args, kwargs = schema.validate({"a": 1, "b": 2, "c": 3})
    assert f(*args, **kwargs) == (1, 2, 3)


def test_parameter_names_that_clash_with_pydantic_are_fine() -> None:
    def f(model_config: int, json: str, _private: bool = False):  # type: ignore[no-untyped-def]
        pass

    schema = function_schema(f)
    assert list(schema.parameters["properties"]) == ["model_config", "json", "_private"]
    assert schema.validate({"model_config": "1", "json": "j", "_private": True}) == (
        (),
        {"model_config": 1, "json": "j", "_private": True},
    )


# --------------------------------------------------------------------------- docstrings


def google_tool(city: str, days: int = 1, *, units: str = "metric"):  # type: ignore[no-untyped-def]
    """Get the weather forecast.

    Looks the city up first.

    Args:
        city (str): The city to look up,
            e.g. "Paris".
        days: How many days
            to forecast.
        units: Unit system.

    Returns:
        A forecast.
    """


def numpy_tool(city: str, days: int = 1):  # type: ignore[no-untyped-def]
    """Get the weather forecast.

    Parameters
    ----------
    city : str
        The city to look up,
        e.g. "Paris".
    days : int, optional
        How many days to forecast.

    Returns
    -------
    str
        A forecast.
    """


def sphinx_tool(city: str, days: int = 1):  # type: ignore[no-untyped-def]
    """Get the weather forecast.

    :param city: The city to look up,
        e.g. "Paris".
    :param int days: How many days to forecast.
    :type city: str
    :returns: A forecast.
    """


@pytest.mark.parametrize("func", [google_tool, numpy_tool, sphinx_tool])
def test_docstring_styles_describe_parameters(func: Any) -> None:
    schema = function_schema(func)
    properties = schema.parameters["properties"]
    assert properties["city"] == {
        "type": "string",
        "description": 'The city to look up, e.g. "Paris".',
    }
    assert properties["days"]["description"] == "How many days to forecast."
    assert schema.description.startswith("Get the weather forecast.")
    assert "Returns" not in schema.description and "Paris" not in schema.description


def test_google_summary_keeps_text_before_first_section() -> None:
    schema = function_schema(google_tool)
    assert schema.description == "Get the weather forecast.\n\nLooks the city up first."
    assert schema.parameters["properties"]["units"]["description"] == "Unit system."


def test_docstring_without_parameters_is_kept_whole() -> None:
    doc = "Do a thing.\n\nReturns:\n    nothing useful."
    parsed = parse_docstring(doc)
    assert parsed.params == {}
    assert parsed.summary == doc


def test_parse_docstring_details() -> None:
    assert parse_docstring(None).summary == ""
    google = parse_docstring(
        "Sum.\n\nArgs:\n    *args: extra values.\n    **kwargs (dict): options\n"
        "        over two lines.\n\nRaises:\n    ValueError: never.\n"
    )
    assert google.params == {"args": "extra values.", "kwargs": "options over two lines."}
    assert "ValueError" not in google.params
    numpy = parse_docstring("Sum.\n\nParameters\n----------\nx, y : int\n    Operands.\n")
    assert numpy.params == {"x": "Operands.", "y": "Operands."}
    assert numpy.summary == "Sum."
    sphinx = parse_docstring("Sum.\n\n:param x: first\n:param y:\n    second\n:returns: z")
    assert sphinx.params == {"x": "first", "y": "second"}


# --------------------------------------------------------------------------- strict mode


def strict_tool(  # type: ignore[no-untyped-def]
    city: str,
    where: Point,
    units: str = "metric",
    limit: Optional[int] = 3,
    shapes: list[Shape] = [],  # noqa: B006 - never mutated
    color: Color = Color.RED,
):
    """Strict."""
    return (city, where, units, limit, shapes, color)


def test_strict_schema_rules() -> None:
    schema = function_schema(strict_tool, strict=True)
    tool_dict = schema.to_tool()
    assert tool_dict["function"]["strict"] is True
    parameters = schema.parameters
    objects = walk_objects(parameters)
    assert len(objects) >= 4  # root, Point, Shape, Shape.corner
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert "default" not in all_keys(parameters)
    properties = parameters["properties"]
    assert properties["city"] == {"type": "string"}
    assert properties["units"] == {"type": ["string", "null"]}
    assert properties["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert properties["shapes"]["type"] == ["array", "null"]
    assert properties["color"] == {
        "anyOf": [{"enum": ["red", "blue"], "type": "string"}, {"type": "null"}]
    }


def test_strict_null_means_default_unless_none_is_a_value() -> None:
    schema = function_schema(strict_tool, strict=True)
    args, kwargs = schema.validate(
        {
            "city": "Oslo",
            "where": {"x": 1, "y": 2},
            "units": None,
            "limit": None,
            "shapes": None,
            "color": None,
        }
    )
    # Optional[int] really accepts None, so None is passed; the others fall back to defaults.
    assert kwargs == {"city": "Oslo", "where": Point(x=1, y=2), "limit": None}
    assert strict_tool(*args, **kwargs)[2] == "metric"
    with pytest.raises(ToolArgumentsError, match="city"):
        schema.validate({"city": None, "where": {"x": 1, "y": 1}})


def test_strict_untyped_default_becomes_nullable() -> None:
    def f(a, b=2):  # type: ignore[no-untyped-def]
        pass

    schema = function_schema(f, strict=True)
    assert schema.parameters == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": ["string", "null"]}},
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert schema.validate({"a": 1, "b": None}) == ((), {"a": 1})


def test_strict_recursive_defs_are_closed() -> None:
    def f(tree: Node):  # type: ignore[no-untyped-def]
        pass

    node = function_schema(f, strict=True).parameters["$defs"]["Node"]
    assert node["additionalProperties"] is False
    assert node["required"] == ["value", "children"]
    assert "default" not in all_keys(node)


@pytest.mark.parametrize("annotation", [dict[str, int], dict, Optional[dict[str, str]]])
def test_strict_rejects_open_objects(annotation: Any) -> None:
    with pytest.raises(SchemaError, match=r"'x'.*strict"):
        function_schema(make(annotation), strict=True)
    function_schema(make(annotation), strict=False)  # fine outside strict mode


def test_strict_closes_dataclasses_and_typeddicts() -> None:
    def f(box: Box, address: Address):  # type: ignore[no-untyped-def]
        pass

    properties = props(f, strict=True)
    assert properties["box"]["additionalProperties"] is False
    assert properties["box"]["required"] == ["width", "label"]
    assert properties["address"]["additionalProperties"] is False


def test_tool_option_strict_wins_over_agent_default() -> None:
    @tool(strict=False)
    def loose(a: int = 1):  # type: ignore[no-untyped-def]
        pass

    @tool(strict=True)
    def tight(a: int = 1):  # type: ignore[no-untyped-def]
        pass

    assert function_schema(loose, strict=True).strict is False
    assert "strict" not in function_schema(loose, strict=True).to_tool()["function"]
    assert function_schema(tight, strict=False).strict is True
    assert function_schema(tight).parameters["required"] == ["a"]


# --------------------------------------------------------------------------- callables & context


def plain(city: str, context_variables: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Plain."""
    return city, context_variables


class Callable_:
    """A callable object."""

    def __call__(self, city: str, context_variables: dict[str, Any] | None = None) -> str:
        return city


class Service:
    def lookup(self, city: str, context_variables: dict[str, Any]) -> str:
        """Look a city up."""
        return city


def two_cities(origin: str, destination: str, context_variables: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Travel."""


@pytest.mark.parametrize(
    ("func", "name", "visible"),
    [
        (plain, "plain", ["city"]),
        (functools.partial(two_cities, "Oslo"), "two_cities", ["destination"]),
        (Callable_(), "Callable_", ["city"]),
        (Service().lookup, "lookup", ["city"]),
    ],
)
def test_context_variables_hidden(func: Any, name: str, visible: list[str]) -> None:
    schema = function_schema(func)
    assert schema.takes_context is True
    assert schema.name == name
    assert list(schema.parameters["properties"]) == visible
    assert schema.parameters["required"] == visible
    assert CONTEXT_PARAMETER not in schema.parameters["properties"]
    with pytest.raises(ToolArgumentsError, match=CONTEXT_PARAMETER):
        schema.validate({**dict.fromkeys(visible, "x"), CONTEXT_PARAMETER: {}})


def test_takes_context_false_without_the_parameter() -> None:
    assert function_schema(basic_function).takes_context is False


def test_descriptions_of_partial_and_callable_object() -> None:
    assert function_schema(functools.partial(two_cities, "Oslo")).description == "Travel."
    assert function_schema(Callable_()).description == "A callable object."
    assert function_schema(Service().lookup).description == "Look a city up."


def test_partial_keyword_becomes_optional() -> None:
    schema = function_schema(functools.partial(two_cities, destination="Rome"))
    assert schema.parameters["required"] == ["origin"]
    assert schema.validate({"origin": "Oslo"}) == ((), {"origin": "Oslo"})


async def test_async_function() -> None:
    async def fetch(url: str, retries: int = 2) -> str:
        return url * retries

    schema = function_schema(fetch)
    args, kwargs = schema.validate({"url": "a", "retries": "3"})
    assert await fetch(*args, **kwargs) == "aaa"


# --------------------------------------------------------------------------- decorator & cache


def test_tool_decorator_returns_same_function_with_options() -> None:
    def f(a: int) -> int:
        return a

    assert tool(f) is f
    assert tool_options(f) == ToolOptions()
    decorated = tool(name="renamed", description="Desc.", timeout=2.5)(f)
    assert decorated is f
    assert f(3) == 3
    assert tool_options(f) == ToolOptions(name="renamed", description="Desc.", timeout=2.5)
    schema = function_schema(f)
    assert (schema.name, schema.description) == ("renamed", "Desc.")


def test_tool_options_defaults_and_partials() -> None:
    assert tool_options(basic_function) == ToolOptions()

    @tool(name="via_partial")
    def g(a: int, b: int) -> int:
        return a + b

    assert function_schema(functools.partial(g, 1)).name == "via_partial"


def test_tool_decorator_misuse() -> None:
    with pytest.raises(UsageError):
        tool(Service().lookup)
    with pytest.raises(UsageError, match="timeout"):
        tool(timeout=0)


def test_cache_returns_same_object() -> None:
    def f(a: int) -> None:
        pass

    first = function_schema(f)
    assert function_schema(f) is first
    assert function_schema(f, strict=True) is not first
    assert function_schema(f, strict=True) is function_schema(f, strict=True)


def test_unhashable_callable_is_described_without_cache() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, a: int) -> int:
            return a

    obj = Unhashable()
    first = function_schema(obj)
    assert first.parameters["properties"] == {"a": {"type": "integer"}}
    assert function_schema(obj) is not first
    assert function_schema(obj) == first


def test_hand_built_schema_passes_arguments_through() -> None:
    schema = FunctionSchema("f", "", {"type": "object", "properties": {}})
    assert schema.validate({"a": 1}) == ((), {"a": 1})
    assert schema.to_tool()["function"] == {
        "name": "f",
        "description": "",
        "parameters": {"type": "object", "properties": {}},
    }


def test_a_name_the_api_would_reject_is_a_clear_schema_error() -> None:
    with pytest.raises(
        SchemaError, match=r"'<lambda>' cannot be a tool name.*@tool\(name=\.\.\.\)"
    ):
        function_schema(lambda: None)
    named = tool(name="ping")(lambda: None)
    assert function_schema(named).name == "ping"
