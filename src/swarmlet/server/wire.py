"""Run events as JSON: the wire format of the server's event streams (SSE) and run records.

Every typed event of :mod:`swarmlet.events` becomes one JSON object whose ``type`` is the event
class name in snake case (``TextDelta`` -> ``"text_delta"``) and whose other keys are the
event's fields. The conversion is generic over dataclass events, so events added to the run
loop later (guardrail trips, interruptions, usage...) reach clients without a change here:

- an :class:`~swarmlet.agent.Agent` becomes its name (``"agent": "Triage"``);
- a :class:`~swarmlet.agent.Response` becomes ``{"messages", "agent", "context_variables"}``;
- a ``path`` (the tool-call ids leading to a sub-run) becomes a list;
- pydantic models and dataclasses become objects, exceptions ``"Type: message"``, and
  anything else JSON cannot hold its ``repr``-free ``str``.

A model request (``model_requested.request``) is summarised (model, message and tool counts):
it repeats the whole conversation every turn. The server adds two events of its own,
``run_created`` and ``run_ended`` (see :mod:`swarmlet.server.runs`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from swarmlet.agent import Agent, Response

__all__ = ["event_name", "event_to_json", "jsonable", "response_to_json"]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def event_name(event: object) -> str:
    """The wire ``type`` of an event: its class name in snake case."""
    return _CAMEL.sub("_", type(event).__name__).lower()


_SUMMARISED = {"request"}
"""Fields sent as a summary: a model request holds the whole conversation, every turn."""


def event_to_json(event: object) -> dict[str, Any]:
    """One typed run event as a JSON-ready dict with a ``type`` key."""
    body: dict[str, Any] = {"type": event_name(event)}
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        for item in dataclasses.fields(event):
            value = getattr(event, item.name)
            body[item.name] = _summary(value) if item.name in _SUMMARISED else jsonable(value)
    return body


def _summary(request: Any) -> dict[str, Any]:
    """A model request without its messages: which model, how many messages and tools."""
    return {
        "model": getattr(request, "model", None),
        "message_count": len(getattr(request, "messages", ()) or ()),
        "tool_count": len(getattr(request, "tools", ()) or ()),
    }


_NOT_SENT = {"state"}
"""Response fields kept off the wire: a paused run's state is stored in the thread, not sent."""


def response_to_json(response: Response) -> dict[str, Any]:
    """A run's :class:`Response` as JSON: messages, active agent's name, context variables."""
    body = {
        "messages": jsonable(response.messages),
        "agent": response.agent.name if response.agent is not None else None,
        "context_variables": jsonable(response.context_variables),
    }
    for name in type(response).model_fields:  # output, sub_runs, interruptions...
        if name not in body and name not in _NOT_SENT:
            body[name] = jsonable(getattr(response, name))
    return body


def jsonable(value: Any) -> Any:
    """``value`` made of JSON types only (see the module docstring for the rules)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Agent):
        return value.name
    if isinstance(value, Response):
        return response_to_json(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, BaseModel):
        try:
            return jsonable(value.model_dump(mode="json"))
        except Exception:  # a field JSON cannot hold: show the value rather than fail the stream
            return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return str(value)
