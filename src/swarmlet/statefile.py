"""The JSON form of a :class:`~swarmlet.state.RunState`: versioned, digested, never pickled.

::

    {
      "format": "swarmlet.run_state",
      "version": 1,
      "state": {
        "agent": "Triage",                      # agents by name, found again at load
        "messages": [...], "start": 1, "context_variables": {...}, "turn": 2,
        "usage": {"requests": 2, "input_tokens": ..., "by_agent": {...}},
        "pending": null | {
          "calls": [{"id": "...", "name": "...", "arguments": "{...}"}],
          "results": {"<call id>": {"content": "...", "error": null,
                                    "context_variables": {...}, "handoff": "Sales" | null}},
          "approvals": {"<call id>": {"status": "pending|approved|rejected", "message": null}},
          "paused_runs": {"<call id>": {<a state, same shape>}}
        }
      },
      "digest": "sha256:<hex>" | "hmac-sha256:<hex>"
    }

The digest covers the canonical JSON of ``format``, ``version`` and ``state``. Loading checks,
in order: the text is JSON of this format; the version is one this code reads (newer ones are
refused); the digest matches (with a key, the HMAC; a state signed with a key is refused
without it and vice versa); every agent name resolves; the structure has the right types and
the pending calls are the last assistant message's calls. Any failure raises
:class:`~swarmlet.exceptions.RunStateError` and nothing of the state runs.

Version history (each version's one-line summary; a new version adds a line and, if older
files stay readable, a migration in :func:`_upgrade`):
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from swarmlet.agent import Agent
from swarmlet.exceptions import RunStateError, UsageError
from swarmlet.graph import reachable_agents
from swarmlet.models.base import ToolCall
from swarmlet.state import Approval, PendingTurn, RunState
from swarmlet.tools import ToolOutcome
from swarmlet.usage import Usage

__all__ = ["FORMAT", "VERSION", "VERSIONS", "dump_state", "load_state"]

FORMAT = "swarmlet.run_state"
VERSION = 1
VERSIONS = {
    1: "messages, agent by name, context variables, turn, usage, pending tool turn, sub-runs",
}
"""Every version this code reads, with what it holds."""

__doc__ = (__doc__ or "") + "".join(f"\n- {v}: {s}" for v, s in VERSIONS.items()) + "\n"


def dump_state(state: RunState, *, key: str | bytes | None = None) -> str:
    """``state`` as JSON text with a digest (an HMAC when ``key`` is given)."""
    body = {"format": FORMAT, "version": VERSION, "state": _state_body(state)}
    try:
        canonical = _canonical(body)
    except (TypeError, ValueError) as exc:
        raise RunStateError(
            f"the run state cannot be saved as JSON: {exc} (context variables and tool "
            "results must be JSON values; no pickling is done)"
        ) from exc
    return json.dumps({**body, "digest": _digest(canonical, key)}, ensure_ascii=False)


def load_state(
    text: str | bytes, agents: Agent | list[Agent], *, key: str | bytes | None = None
) -> RunState:
    """Check and decode a state written by :func:`dump_state`."""
    try:
        by_name = reachable_agents(agents)
    except UsageError as exc:
        raise RunStateError(f"cannot resolve the run's agents: {exc}") from exc
    document = _document(text)
    _check_digest(document, key)
    try:
        return _state_from(_upgrade(document)["state"], by_name)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, RunStateError):
            raise
        raise RunStateError(f"the run state is malformed: {type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------- writing


def _state_body(state: RunState) -> dict[str, Any]:
    return {
        "agent": state.agent.name,
        "messages": state.messages,
        "start": state.start,
        "context_variables": state.context_variables,
        "turn": state.turn,
        "usage": state.usage.model_dump(mode="json"),
        "pending": _pending_body(state.pending) if state.pending is not None else None,
    }


def _pending_body(pending: PendingTurn) -> dict[str, Any]:
    return {
        "calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in pending.calls],
        "results": {cid: _result_body(o) for cid, o in pending.results.items()},
        "approvals": {
            cid: {"status": a.status, "message": a.message} for cid, a in pending.approvals.items()
        },
        "paused_runs": {cid: _state_body(s) for cid, s in pending.paused_runs.items()},
    }


def _result_body(outcome: ToolOutcome) -> dict[str, Any]:
    return {
        "content": outcome.content,
        "error": outcome.error,
        "context_variables": outcome.context_variables,
        "handoff": outcome.agent.name if outcome.agent is not None else None,
    }


def _canonical(body: Mapping[str, Any]) -> bytes:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _digest(canonical: bytes, key: str | bytes | None) -> str:
    if key is None:
        return "sha256:" + hashlib.sha256(canonical).hexdigest()
    secret = key.encode("utf-8") if isinstance(key, str) else key
    return "hmac-sha256:" + hmac.new(secret, canonical, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- reading


def _document(text: str | bytes) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise RunStateError(f"the run state is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RunStateError(f"this is not a swarmlet run state (no format {FORMAT!r})")
    version = document.get("version")
    if not isinstance(version, int) or version not in VERSIONS:
        raise RunStateError(
            f"run state version {version!r} is not supported by this swarmlet (it reads "
            f"versions {sorted(VERSIONS)}); load it with the swarmlet that wrote it"
        )
    return document


def _check_digest(document: dict[str, Any], key: str | bytes | None) -> None:
    given = document.get("digest")
    body = {k: document.get(k) for k in ("format", "version", "state")}
    expected = _digest(_canonical(body), key)
    if not isinstance(given, str) or not hmac.compare_digest(given, expected):
        if isinstance(given, str) and given.split(":")[0] != expected.split(":")[0]:
            signed = given.startswith("hmac")
            raise RunStateError(
                "the run state was signed with a key; pass the same key"
                if signed
                else "the run state is not signed, but a key was given: refusing it"
            )
        raise RunStateError("the run state's digest does not match: it was changed or damaged")


def _upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """Bring an older version's document to the current shape (only version 1 exists)."""
    return document


def _state_from(body: dict[str, Any], agents: dict[str, Agent]) -> RunState:
    messages = body["messages"]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise RunStateError("the run state's messages must be a list of objects")
    state = RunState(
        agent=_agent(agents, body["agent"]),
        messages=messages,
        start=_int(body["start"], "start"),
        context_variables=_dict(body["context_variables"], "context_variables"),
        turn=_int(body["turn"], "turn"),
        usage=Usage.model_validate(body["usage"]),
    )
    if body.get("pending") is not None:
        state.pending = _pending_from(body["pending"], agents)
        _check_calls_match(state)
    return state


def _pending_from(body: dict[str, Any], agents: dict[str, Agent]) -> PendingTurn:
    calls = [ToolCall(_str(c["id"]), _str(c["name"]), _str(c["arguments"])) for c in body["calls"]]
    by_id = {call.id: call for call in calls}
    pending = PendingTurn(calls=calls)
    for call_id, result in _dict(body["results"], "results").items():
        pending.results[call_id] = _result_from(by_id[call_id], result, agents)
    for call_id, approval in _dict(body["approvals"], "approvals").items():
        status = approval["status"]
        if call_id not in by_id or status not in ("pending", "approved", "rejected"):
            raise RunStateError(f"the run state has an invalid approval for {call_id!r}")
        pending.approvals[call_id] = Approval(status, approval.get("message"))
    for call_id, sub_run in _dict(body["paused_runs"], "paused_runs").items():
        if call_id not in by_id:
            raise RunStateError(f"the run state has a sub-run for an unknown call {call_id!r}")
        pending.paused_runs[call_id] = _state_from(sub_run, agents)
    return pending


def _result_from(call: ToolCall, body: dict[str, Any], agents: dict[str, Agent]) -> ToolOutcome:
    handoff = body.get("handoff")
    return ToolOutcome(
        call=call,
        content=_str(body["content"]),
        error=body.get("error"),
        agent=_agent(agents, handoff) if handoff is not None else None,
        context_variables=_dict(body["context_variables"], "context_variables"),
    )


def _check_calls_match(state: RunState) -> None:
    """The pending calls must be the ones the last assistant message made."""
    assert state.pending is not None
    assistant = [m for m in state.messages if m.get("role") == "assistant"]
    last: dict[str, Any] = assistant[-1] if assistant else {}
    made = [c.get("id") for c in last.get("tool_calls") or []]
    if made != [call.id for call in state.pending.calls]:
        raise RunStateError("the run state's pending calls are not the last assistant message's")


def _agent(agents: dict[str, Agent], name: Any) -> Agent:
    agent = agents.get(name) if isinstance(name, str) else None
    if agent is None:
        known = ", ".join(sorted(agents)) or "none"
        raise RunStateError(
            f"the run state names agent {name!r}, which is not among the agents given "
            f"or reachable from them ({known}); pass it to from_json"
        )
    return agent


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RunStateError(f"the run state's {what} must be a non-negative integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise RunStateError(f"expected a string in the run state, got {type(value).__name__}")
    return value


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RunStateError(f"the run state's {what} must be an object")
    return value
