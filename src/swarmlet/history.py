"""History control: what part of the conversation an agent's model sees.

Long conversations are expensive and distract a model; an agent that takes over after a
handoff rarely needs the previous agent's tool traffic. ``Agent(history_filter=...)`` decides
what the agent's model is sent each turn, **without changing the run's history** (the
returned ``Response.messages``, sessions and saved states keep everything).

A history filter is a function ``(messages, agent) -> messages`` (sync or async) receiving a
copy of the conversation (the caller's messages and the run's, without the system prompt) and
the agent about to be called. A list of filters applies them in order. Ready-made ones:

- :func:`last_turns` ``(n)``: only the last ``n`` user turns (a user message and everything
  after it), plus any system/developer messages before them;
- :func:`without_tool_traffic` ``()``: no tool calls or tool results of *other* agents (their
  text stays), e.g. a specialist after a handoff does not see triage's routing calls;
- your own: summarise old turns, drop large tool results, redact...

Whatever a filter returns is made protocol-clean before it is sent: tool results whose call is
gone are dropped, and so are calls whose result is gone (an endpoint answers 400 otherwise).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from swarmlet.exceptions import UsageError

if TYPE_CHECKING:
    from swarmlet.agent import Agent

__all__ = ["HistoryFilter", "last_turns", "visible_history", "without_tool_traffic"]

Messages = list[dict[str, Any]]
HistoryFilter = Callable[[Messages, "Agent"], "Messages | Awaitable[Messages]"]
"""``(messages, agent) -> messages``, sync or async."""


def last_turns(n: int) -> HistoryFilter:
    """Keep the last ``n`` user turns (and system/developer messages before them)."""
    if n < 1:
        raise ValueError("last_turns(n) needs n >= 1")

    def keep_last_turns(messages: Messages, agent: Agent) -> Messages:
        starts = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        if len(starts) <= n:
            return messages
        cut = starts[-n]
        kept = [m for m in messages[:cut] if m.get("role") in ("system", "developer")]
        return kept + messages[cut:]

    keep_last_turns.__name__ = f"last_turns({n})"
    return keep_last_turns


def without_tool_traffic() -> HistoryFilter:
    """Drop tool calls and tool results made by agents other than the one being called."""

    def drop_others_tools(messages: Messages, agent: Agent) -> Messages:
        foreign: set[str] = set()
        kept: Messages = []
        for message in messages:
            role, calls = message.get("role"), message.get("tool_calls")
            if role == "assistant" and calls and message.get("sender") != agent.name:
                foreign.update(str(call.get("id")) for call in calls)
                if message.get("content"):
                    kept.append({k: v for k, v in message.items() if k != "tool_calls"})
            elif not (role == "tool" and message.get("tool_call_id") in foreign):
                kept.append(message)
        return kept

    return drop_others_tools


async def visible_history(agent: Agent, messages: Messages) -> Messages:
    """The messages ``agent``'s model is sent: its filters applied, made protocol-clean."""
    filters = agent.history_filter
    if filters is None:
        return messages
    chain: Sequence[HistoryFilter] = filters if isinstance(filters, list) else [filters]
    view = copy.deepcopy(messages)  # filters may edit what they get; the run's stays whole
    for history_filter in chain:
        result = history_filter(view, agent)
        view = await result if inspect.isawaitable(result) else result
        if not isinstance(view, list):
            raise UsageError(f"history filter {history_filter!r} returned {view!r}, not a list")
    return _paired(view)


def _paired(messages: Messages) -> Messages:
    """Drop tool results without their call and calls without their result."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    called: set[Any] = set()
    clean: Messages = []
    for message in messages:
        if message.get("role") == "tool":
            if message.get("tool_call_id") in called:
                clean.append(message)
            continue
        calls = message.get("tool_calls")
        if message.get("role") == "assistant" and calls:
            kept = [c for c in calls if c.get("id") in answered]
            called.update(c.get("id") for c in kept)
            if len(kept) != len(calls):
                message = {**message, "tool_calls": kept}
                if not kept and not message.get("content"):
                    continue
        clean.append(message)
    return clean
