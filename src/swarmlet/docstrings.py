"""Read a function's summary and per-parameter descriptions from its docstring.

Three common styles are understood:

* Google: an ``Args:`` section with ``name (type): description`` entries;
* NumPy: a ``Parameters`` heading underlined with dashes, then ``name : type`` lines
  followed by indented descriptions;
* Sphinx / reST: ``:param name: description`` or ``:param int name: description`` fields.

Everything here is a pure function of the docstring text so it can be tested in isolation.
When no parameter is found the summary is the whole cleaned docstring: a docstring that is
prose only is the tool's description as written.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]


@dataclass(frozen=True)
class Docstring:
    """A parsed docstring.

    Attributes:
        summary: the text before the first section (or the whole docstring when no
            parameter descriptions were found).
        params: parameter name -> description, in docstring order.
    """

    summary: str
    params: Mapping[str, str] = field(default_factory=dict)


_GOOGLE_PARAM_HEADERS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_GOOGLE_OTHER_HEADERS = {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "example",
    "examples",
    "note",
    "notes",
    "attributes",
    "see also",
    "warning",
    "warnings",
    "todo",
    "references",
}
_GOOGLE_HEADERS = _GOOGLE_PARAM_HEADERS | _GOOGLE_OTHER_HEADERS
_NUMPY_PARAM_HEADERS = {"parameters", "other parameters"}

_GOOGLE_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_GOOGLE_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_SPHINX_FIELD = re.compile(r"^:\w+")
_SPHINX_PARAM = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*?\s+)?(\*{0,2}\w+)\s*:\s*(.*)$"
)


def parse_docstring(doc: str | None) -> Docstring:
    """Parse ``doc`` (raw or already cleaned) into a summary and parameter descriptions."""
    text = inspect.cleandoc(doc) if doc else ""
    lines = text.splitlines()
    parsers: tuple[Callable[[list[str]], Docstring | None], ...] = (
        _parse_sphinx,
        _parse_numpy,
        _parse_google,
    )
    for parser in parsers:
        parsed = parser(lines)
        if parsed is not None and parsed.params:
            return parsed
    return Docstring(text, {})


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(parts: list[str]) -> str:
    return " ".join(part.strip() for part in parts if part.strip())


def _summary(lines: list[str], end: int) -> str:
    return "\n".join(lines[:end]).strip()


def _clean_name(name: str) -> str:
    # ``*args`` / ``**kwargs`` are documented with their stars; parameters are named without.
    return name.lstrip("*")


def _parse_google(lines: list[str]) -> Docstring | None:
    """Google style: ``Args:`` followed by indented ``name (type): description`` entries."""
    first_section: int | None = None
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        match = _GOOGLE_HEADER.match(lines[index])
        header = match.group(1).strip().lower() if match else ""
        if _indent(lines[index]) != 0 or header not in _GOOGLE_HEADERS:
            index += 1
            continue
        if first_section is None:
            first_section = index
        body_end = _section_end(lines, index + 1)
        if header in _GOOGLE_PARAM_HEADERS:
            params.update(_google_entries(lines[index + 1 : body_end]))
        index = body_end
    if first_section is None:
        return None
    return Docstring(_summary(lines, first_section), params)


def _section_end(lines: list[str], start: int) -> int:
    """Index of the first non-blank line at column 0 after ``start`` (the next section)."""
    for index in range(start, len(lines)):
        if lines[index].strip() and _indent(lines[index]) == 0:
            return index
    return len(lines)


def _google_entries(body: list[str]) -> dict[str, str]:
    """Entries of one Google section; deeper-indented lines continue the previous entry."""
    content = [line for line in body if line.strip()]
    if not content:
        return {}
    entry_indent = _indent(content[0])
    params: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in content:
        match = _GOOGLE_ENTRY.match(line.strip())
        if _indent(line) <= entry_indent and match:
            current = [match.group(2)]
            params[_clean_name(match.group(1))] = current
        elif current is not None:
            current.append(line)
    return {name: _join(parts) for name, parts in params.items()}


def _numpy_headers(lines: list[str]) -> list[int]:
    """Indices of NumPy section headings (a line underlined by a row of dashes)."""
    return [
        index
        for index in range(len(lines) - 1)
        if lines[index].strip() and _NUMPY_UNDERLINE.match(lines[index + 1])
    ]


def _parse_numpy(lines: list[str]) -> Docstring | None:
    """NumPy style: ``Parameters`` / ``----------`` then ``name : type`` + indented text."""
    headers = _numpy_headers(lines)
    if not headers:
        return None
    params: dict[str, str] = {}
    for position, start in enumerate(headers):
        if lines[start].strip().lower() not in _NUMPY_PARAM_HEADERS:
            continue
        end = headers[position + 1] if position + 1 < len(headers) else len(lines)
        params.update(_numpy_entries(lines[start + 2 : end]))
    return Docstring(_summary(lines, headers[0]), params)


def _numpy_entries(body: list[str]) -> dict[str, str]:
    """Entries of one NumPy section; ``x, y : int`` documents both names."""
    params: dict[str, list[str]] = {}
    names: list[str] = []
    for line in body:
        if not line.strip():
            continue
        match = _NUMPY_ENTRY.match(line) if _indent(line) == 0 else None
        if match:
            names = [_clean_name(name.strip()) for name in match.group(1).split(",")]
            for name in names:
                params[name] = []
        else:
            for name in names:
                params[name].append(line)
    return {name: _join(parts) for name, parts in params.items()}


def _parse_sphinx(lines: list[str]) -> Docstring | None:
    """Sphinx / reST style: ``:param [type] name: description`` field lists."""
    first_field = next((i for i, line in enumerate(lines) if _SPHINX_FIELD.match(line)), None)
    if first_field is None:
        return None
    params: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[first_field:]:
        match = _SPHINX_PARAM.match(line)
        if match:
            current = [match.group(2)]
            params[_clean_name(match.group(1))] = current
        elif _SPHINX_FIELD.match(line) or not line.strip():
            # Another field (``:type x:``, ``:returns:``) or a blank line ends the entry.
            current = None
        elif current is not None and _indent(line) > 0:
            current.append(line)
    described = {name: _join(parts) for name, parts in params.items()}
    return Docstring(_summary(lines, first_field), described)
