"""JSON Schema to GBNF, llama.cpp's grammar format, and the tool-call grammar of ``LocalModel``.

A grammar constrains decoding token by token, so every output it admits is well formed by
construction. The converter aims for a grammar whose language is a *subset* of the documents
the schema accepts: whatever the model writes under it validates, even where the grammar is
narrower than the schema (compact whitespace, properties in declaration order).

Supported: ``object`` (``properties``, ``required``, ``additionalProperties``), ``string``
(``minLength``/``maxLength``), ``enum``, ``const``, ``integer``, ``number``, ``boolean``,
``null``, ``array`` (``items``, ``minItems``/``maxItems``), ``anyOf``/``oneOf``, a one-element
``allOf``, type lists such as ``["string", "null"]`` and local ``$ref`` (``#/$defs/...``,
``#/definitions/...``; each target becomes one named rule, so recursion works too). Anything
else, including an empty schema, becomes "any JSON value".

Not enforced, so outputs may still violate them: ``pattern``, ``format``, numeric bounds,
``multipleOf``, ``uniqueItems``, ``oneOf`` exclusivity and ``not``.

Properties are emitted in declaration order, required ones first, and undeclared properties
are never generated; an object with neither ``properties`` nor a truthy
``additionalProperties`` becomes ``{}``, one with only ``additionalProperties`` a map of them.
Strings can be capped (``max_string_length``) and digit runs are bounded, so a small model that
starts repeating itself reaches the end of a rule instead of its token limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from swarmlet.exceptions import SchemaError

__all__ = ["ToolMode", "schema_to_gbnf", "tool_call_grammar"]

ToolMode = Literal["auto", "required", "none"]

# Building blocks shared by every grammar. Numbers have bounded digit runs and whitespace is at
# most one space: a small model that starts repeating itself then hits the end of the rule
# instead of burning the whole token budget inside one number or one run of blanks.
_PRIMITIVES: dict[str, str] = {
    "ws": "[ ]?",
    "char": r'[^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    "integer": '"-"? ("0" | [1-9] [0-9]{0,15})',
    "number": '"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?',
    "boolean": '"true" | "false"',
    "null": '"null"',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" ws (member (ws "," ws member)*)? ws "}"',
    "member": 'string ws ":" ws value',
    "array": '"[" ws (value (ws "," ws value)*)? ws "]"',
}
_PRIMITIVE_DEPS: dict[str, tuple[str, ...]] = {
    "string": ("char",),
    "value": ("object", "array", "string", "number", "boolean", "null"),
    "object": ("member",),
    "member": ("string", "value"),
    "array": ("value",),
}
_SCALAR_TYPES = ("integer", "number", "boolean", "null")
# The text branch must not start with "{" (that starts a tool call) nor with whitespace (which
# would let a model hide a tool call behind a blank and slip past the grammar).
_TEXT_RULE = r"[^{ \t\n\r] [^\x00]*"


def gbnf_literal(text: str) -> str:
    """Quote ``text`` as a GBNF string literal."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _json_literal(value: Any) -> str:
    """GBNF literal matching ``value`` written as compact JSON."""
    return gbnf_literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _repeat(item: str, low: int, high: int | None) -> str:
    """GBNF for ``low..high`` comma-separated ``item`` (``high=None``: unbounded)."""
    if high is not None and high <= 0:
        return ""
    more = f'(ws "," ws {item})'
    extra_low = max(low - 1, 0)
    if high is None:
        more += "*" if extra_low == 0 else f"{{{extra_low},}}"
    else:
        more += f"{{{extra_low},{high - 1}}}"
    sequence = f"{item} {more}"
    return sequence if low > 0 else f"({sequence})?"


class _Builder:
    """Accumulates named rules; identical bodies share one rule."""

    def __init__(self, max_string_length: int | None) -> None:
        self._rules: dict[str, str] = {}
        self._by_body: dict[str, str] = {}
        self._refs: dict[tuple[int, str], str] = {}
        self._doc: Mapping[str, Any] = {}
        repeat = "*" if max_string_length is None else f"{{0,{max_string_length}}}"
        self._primitives = {**_PRIMITIVES, "string": f'"\\"" char{repeat} "\\""'}
        self._max_string_length = max_string_length
        self.primitive("ws")

    def primitive(self, name: str) -> str:
        """Add the shared rule ``name`` (and the rules it uses); return its name."""
        if name not in self._rules:
            self._rules[name] = self._primitives[name]
            for dep in _PRIMITIVE_DEPS.get(name, ()):
                self.primitive(dep)
        return name

    def add(self, hint: str, body: str) -> str:
        """Add a rule with ``body`` under a name derived from ``hint``; return the name."""
        if body in self._by_body:
            return self._by_body[body]
        name = self._reserve(hint)
        self._rules[name] = body
        self._by_body[body] = name
        return name

    def _reserve(self, hint: str) -> str:
        # GBNF rule names are [a-zA-Z0-9-]; primitives' names are taken up front.
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", hint).strip("-").lower() or "rule"
        name, n = base, 1
        while name in self._rules or name in self._primitives or name == "root":
            n += 1
            name = f"{base}-{n}"
        self._rules[name] = ""  # placeholder so recursion sees the name as taken
        return name

    def document(self, schema: Any, hint: str) -> str:
        """Convert a whole schema document (its ``$ref`` resolve against it); return the rule."""
        previous, self._doc = self._doc, schema if isinstance(schema, Mapping) else {}
        try:
            return self.visit(schema, hint)
        finally:
            self._doc = previous

    def render(self, root_body: str) -> str:
        """The grammar text, starting with ``root ::= root_body``."""
        lines = [f"root ::= {root_body}"]
        lines += [f"{name} ::= {body}" for name, body in self._rules.items()]
        return "\n".join(lines) + "\n"

    def visit(self, schema: Any, hint: str) -> str:
        """Return the name of a rule matching JSON documents valid under ``schema``."""
        if schema is True or schema == {}:
            return self.primitive("value")
        if schema is False:
            raise SchemaError(f"schema at {hint!r} is false: no value can satisfy it")
        if not isinstance(schema, Mapping):
            raise SchemaError(f"schema at {hint!r} must be an object, got {schema!r}")
        return self._dispatch(schema)(schema, hint)

    def _dispatch(self, schema: Mapping[str, Any]) -> Callable[[Mapping[str, Any], str], str]:
        for key, handler in (
            ("$ref", self._ref),
            ("const", self._const),
            ("enum", self._enum),
            ("anyOf", self._any_of),
            ("oneOf", self._any_of),
            ("allOf", self._all_of),
        ):
            if key in schema:
                return handler
        kind = schema.get("type")
        if isinstance(kind, list):
            return self._type_list
        if kind is None and ("properties" in schema or "additionalProperties" in schema):
            kind = "object"
        handlers = {"object": self._object, "array": self._array, "string": self._string}
        if kind in handlers:
            return handlers[kind]
        if kind in _SCALAR_TYPES:
            return lambda s, h: self.primitive(str(s["type"]))
        return lambda s, h: self.primitive("value")

    def _const(self, schema: Mapping[str, Any], hint: str) -> str:
        return self.add(hint, _json_literal(schema["const"]))

    def _enum(self, schema: Mapping[str, Any], hint: str) -> str:
        values = list(schema["enum"])
        if not values:
            raise SchemaError(f"enum at {hint!r} is empty: no value can satisfy it")
        return self.add(hint, " | ".join(_json_literal(v) for v in values))

    def _alternatives(self, schemas: Iterable[Any], hint: str) -> str:
        names = [self.visit(s, f"{hint}-{i}") for i, s in enumerate(schemas)]
        if not names:
            raise SchemaError(f"anyOf/oneOf at {hint!r} is empty")
        return self.add(hint, " | ".join(dict.fromkeys(names)))

    def _any_of(self, schema: Mapping[str, Any], hint: str) -> str:
        return self._alternatives(schema.get("anyOf", schema.get("oneOf", [])), hint)

    def _all_of(self, schema: Mapping[str, Any], hint: str) -> str:
        parts = schema["allOf"]
        # Intersecting arbitrary schemas is out of scope; a lone element (pydantic's way of
        # attaching a description to a $ref) is exact.
        return self.visit(parts[0], hint) if len(parts) == 1 else self.primitive("value")

    def _type_list(self, schema: Mapping[str, Any], hint: str) -> str:
        variants = [{**schema, "type": kind} for kind in schema["type"]]
        return self._alternatives(variants, hint)

    def _ref(self, schema: Mapping[str, Any], hint: str) -> str:
        ref = str(schema["$ref"])
        key = (id(self._doc), ref)
        if key not in self._refs:
            target = _resolve_pointer(self._doc, ref)
            name = self._reserve(ref.rsplit("/", 1)[-1] or hint)
            self._refs[key] = name
            self._rules[name] = self.visit(target, f"{name}-body")
        return self._refs[key]

    def _string(self, schema: Mapping[str, Any], hint: str) -> str:
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if self._max_string_length is not None:
            cap = max(low, self._max_string_length)
            high = cap if high is None else min(int(high), cap)
        if low == 0 and high is None:
            return self.primitive("string")
        self.primitive("char")
        bound = f"{{{low},}}" if high is None else f"{{{low},{int(high)}}}"
        return self.add(hint, f'"\\"" char{bound} "\\""')

    def _array(self, schema: Mapping[str, Any], hint: str) -> str:
        items = schema.get("items", True)
        item = self.visit(items if isinstance(items, (Mapping, bool)) else True, f"{hint}-item")
        high = schema.get("maxItems")
        body = _repeat(item, int(schema.get("minItems", 0)), None if high is None else int(high))
        return self.add(hint, f'"[" ws {body} ws "]"')

    def _object(self, schema: Mapping[str, Any], hint: str) -> str:
        props = dict(schema.get("properties") or {})
        required = list(schema.get("required") or [])
        for name in required:  # required but undeclared: any value will do
            props.setdefault(name, schema.get("additionalProperties", True) or True)
        if not props:
            extra = schema.get("additionalProperties")
            if extra is None or extra is False:
                return self.add(hint, '"{" ws "}"')
            return self._map(extra, hint)
        pairs = {name: self._pair(name, sub, hint) for name, sub in props.items()}
        members = _members(
            [pairs[n] for n in props if n in required],
            [pairs[n] for n in props if n not in required],
        )
        return self.add(hint, f'"{{" ws {members} ws "}}"')

    def _pair(self, name: str, schema: Any, hint: str) -> str:
        value = self.visit(schema, f"{hint}-{name}")
        return self.add(f"{hint}-{name}-kv", f'{_json_literal(name)} ws ":" ws {value}')

    def _map(self, values: Any, hint: str) -> str:
        value = self.visit(values, f"{hint}-value")
        pair = self.add(f"{hint}-kv", f'{self.primitive("string")} ws ":" ws {value}')
        return self.add(hint, f'"{{" ws {_repeat(pair, 0, None)} ws "}}"')


def _members(required: Sequence[str], optional: Sequence[str]) -> str:
    """GBNF for object members: all ``required`` then any in-order subset of ``optional``."""
    if required:
        parts = [required[0], *(f'ws "," ws {p}' for p in required[1:])]
        parts += [f'(ws "," ws {p})?' for p in optional]
        return " ".join(parts)
    # No required member, so any optional one may come first; the rest follow in order.
    alternatives = [
        " ".join([first, *(f'(ws "," ws {p})?' for p in optional[i + 1 :])])
        for i, first in enumerate(optional)
    ]
    return "(" + " | ".join(alternatives) + ")?"


def _resolve_pointer(document: Mapping[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer such as ``#/$defs/Item``."""
    if not ref.startswith("#"):
        raise SchemaError(f"only local $ref is supported, got {ref!r}")
    node: Any = document
    for raw in filter(None, ref[1:].split("/")):
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise SchemaError(f"$ref {ref!r} does not resolve inside its schema")
        node = node[part]
    return node


def schema_to_gbnf(schema: Any, *, max_string_length: int | None = None) -> str:
    """Return a GBNF grammar whose ``root`` matches JSON documents valid under ``schema``.

    Args:
        schema: a JSON Schema (a dict, or ``True`` for "anything").
        max_string_length: upper bound for every string, on top of the schema's ``maxLength``.

    Raises:
        SchemaError: the schema is unsatisfiable (``false``, empty ``enum``) or has a
            non-local ``$ref``.
    """
    builder = _Builder(max_string_length)
    return builder.render(builder.document(schema, "value-root"))


def tool_call_grammar(
    tools: Sequence[Mapping[str, Any]],
    *,
    mode: ToolMode = "auto",
    max_calls: int = 4,
    max_string_length: int | None = None,
    answer_schema: Mapping[str, Any] | None = None,
) -> str:
    """Grammar for a reply that is plain text or ``{"tool_calls": [{"name", "arguments"}]}``.

    Args:
        tools: Chat Completions tool schemas (``{"type": "function", "function": {...}}``).
        mode: ``"auto"`` allows either form, ``"required"`` only tool calls, ``"none"`` only
            text (text never starts with ``{`` or whitespace, so the two forms cannot mix).
        max_calls: the most tool calls one reply may hold.
        max_string_length: upper bound for every string inside the arguments.
        answer_schema: when the answer must be JSON (structured output), the answer
            alternative is a document of this schema instead of plain text.
    """
    builder = _Builder(max_string_length)
    if mode == "none" or not tools:
        return builder.render(builder.add("text", _TEXT_RULE))
    call = builder.add("call", " | ".join(_call_rule(builder, tool) for tool in tools))
    calls = builder.add(
        "tool-calls",
        f'"{{" ws {_json_literal("tool_calls")} ws ":" ws "[" ws {_repeat(call, 1, max_calls)} '
        'ws "]" ws "}"',
    )
    if mode == "required":
        return builder.render(calls)
    if answer_schema is not None:
        return builder.render(f"{calls} | {builder.document(answer_schema, 'answer')}")
    return builder.render(f"{calls} | {builder.add('text', _TEXT_RULE)}")


def _call_rule(builder: _Builder, tool: Mapping[str, Any]) -> str:
    function = tool.get("function", tool)
    name = str(function["name"])
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = builder.document(parameters, f"{name}-arguments")
    return builder.add(
        f"{name}-call",
        f'"{{" ws {_json_literal("name")} ws ":" ws {_json_literal(name)} ws "," ws '
        f'{_json_literal("arguments")} ws ":" ws {arguments} ws "}}"',
    )
