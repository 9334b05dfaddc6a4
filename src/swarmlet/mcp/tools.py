"""MCP tools as swarmlet tools: their schema for the model, their result as tool-message text.

The input schema a server publishes is sent to the model as it is. OpenAI strict mode (asked
for with ``Agent(strict=True)``) is used only where the schema already fits its rules (every
object lists all its properties as required and admits no others); then the objects are
closed with ``additionalProperties: false`` and nothing else changes. A schema with optional
properties is sent non-strict rather than rewritten, so the server receives exactly the
arguments its schema describes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import mcp_types

from swarmlet.schema import FunctionSchema

__all__ = ["MCPToolError", "fits_strict", "render_result", "tool_schema"]

_API_NAME = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME = 64  # the Chat Completions API's limit on function names

# Keywords whose schemas are sub-schemas to check and close in strict mode.
_SUB_MAPS = ("properties", "$defs", "definitions")
_SUB_LISTS = ("anyOf", "prefixItems")
_SUB_ONE = ("items",)
# Keywords strict mode does not accept, or that open an object up.
_NOT_STRICT = frozenset(
    {"allOf", "oneOf", "not", "if", "then", "else", "patternProperties", "dependentSchemas"}
)


class MCPToolError(Exception):
    """An MCP tool answered with ``isError``; its text is passed on to the model."""


def api_name(name: str) -> str:
    """``name`` as the Chat Completions API accepts it (letters, digits, ``_``, ``-``)."""
    return _API_NAME.sub("_", name)[:_MAX_NAME] or "tool"


def tool_schema(tool: mcp_types.Tool, *, strict: bool, name: str | None = None) -> FunctionSchema:
    """The function description the model sees for ``tool`` (``name`` overrides its name)."""
    parameters: dict[str, Any] = dict(tool.input_schema)
    use_strict = strict and fits_strict(parameters)
    if use_strict:
        parameters = _closed(parameters)
    description = tool.description or tool.title or tool.name
    return FunctionSchema(api_name(name or tool.name), description, parameters, strict=use_strict)


def fits_strict(schema: Mapping[str, Any]) -> bool:
    """Whether OpenAI strict mode can describe ``schema`` without changing its meaning."""
    if _NOT_STRICT & schema.keys():
        return False
    if _is_object(schema):
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return False  # an open mapping has no fixed keys to require
        if schema.get("additionalProperties", False) is not False:
            return False
        if set(schema.get("required", ())) != set(properties):
            return False  # optional properties: strict mode would make the model send them
    return all(fits_strict(sub) for sub in _subschemas(schema))


def _closed(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` with ``additionalProperties: false`` on every object."""
    result = {key: _map_sub(key, value, _closed) for key, value in schema.items()}
    if _is_object(result):
        result["additionalProperties"] = False
    return result


def _is_object(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "object"
        or (isinstance(kind, list) and "object" in kind)
        or ("properties" in schema)
    )


def _subschemas(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for key in _SUB_MAPS:
        value = schema.get(key)
        if isinstance(value, Mapping):
            found.extend(sub for sub in value.values() if isinstance(sub, Mapping))
    for key in _SUB_LISTS:
        value = schema.get(key)
        if isinstance(value, list):
            found.extend(sub for sub in value if isinstance(sub, Mapping))
    for key in _SUB_ONE:
        value = schema.get(key)
        if isinstance(value, Mapping):
            found.append(value)
    return found


def _map_sub(key: str, value: Any, func: Callable[[Mapping[str, Any]], Any]) -> Any:
    if key in _SUB_MAPS and isinstance(value, Mapping):
        return {k: func(v) if isinstance(v, Mapping) else v for k, v in value.items()}
    if key in _SUB_LISTS and isinstance(value, list):
        return [func(v) if isinstance(v, Mapping) else v for v in value]
    if key in _SUB_ONE and isinstance(value, Mapping):
        return func(value)
    return value


def render_result(result: mcp_types.CallToolResult) -> str:
    """The tool-message text for a tool result.

    Text blocks are joined as they are; with no content blocks, the structured content is
    sent as JSON; images, audio and resources are described by type, MIME type and size
    (their bytes would only fill the model's context).

    Raises:
        MCPToolError: the tool reported an error (``isError``).
    """
    parts = [_render_block(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts)
    if result.is_error:
        raise MCPToolError(text or "the tool reported an error without a message")
    return text


def _render_block(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, (mcp_types.ImageContent, mcp_types.AudioContent)):
        size = len(block.data) * 3 // 4  # base64
        return json.dumps({"type": block.type, "mimeType": block.mime_type, "bytes": size})
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return json.dumps({"type": "resource", "uri": str(resource.uri)})
    dumped: dict[str, Any] = block.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(dumped, ensure_ascii=False)


ToolCaller = Callable[..., Awaitable[str]]
"""The callable swarmlet's tool runner awaits: keyword arguments in, tool-message text out."""
