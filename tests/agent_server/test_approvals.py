"""Approvals on threads: a run pauses for a tool that needs approval, the pause is stored in the
thread (so any process can resume it), and approving or rejecting resumes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from swarmlet import Agent, Swarm, tool
from swarmlet.server import ServerSettings, TokenAuth, create_app
from swarmlet.testing import ScriptedModel, tool_call
from tests.agent_server.support import AUTH, TOKEN, live_server, stream_events

REFUNDS: list[int] = []


@tool(needs_approval=True)
def refund(amount: int) -> str:
    """Refund the customer."""
    REFUNDS.append(amount)
    return f"refunded {amount} EUR"


def refunds_agent() -> Agent:
    return Agent(name="Refunds", instructions="Refund when asked.", functions=[refund])


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def http(model: ScriptedModel, tmp_path: Path) -> Iterator[httpx.Client]:
    REFUNDS.clear()
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})), db_url=f"sqlite:///{tmp_path / 'threads.db'}"
    )
    app = create_app(refunds_agent(), swarm=Swarm(client=model), settings=settings)
    with live_server(app) as url, httpx.Client(base_url=url, headers=AUTH, timeout=20) as client:
        yield client


def _paused_thread(http: httpx.Client, model: ScriptedModel) -> tuple[str, str]:
    thread = http.post("/threads", json={}).json()["id"]
    model.add(tool_call("refund", {"amount": 40}, id="call_refund"))
    events = stream_events(http, "POST", f"/threads/{thread}/runs", json={"message": "refund"})
    asked = [e.data for e in events if e.event == "approval_requested"]
    assert [(a["call_id"], a["name"]) for a in asked] == [("call_refund", "refund")]
    assert events[-1].data["status"] == "paused"
    assert REFUNDS == []  # nothing ran yet
    return thread, "call_refund"


def test_paused_run_is_stored_and_listed(http: httpx.Client, model: ScriptedModel) -> None:
    thread, call_id = _paused_thread(http, model)
    stored = http.get(f"/threads/{thread}").json()
    assert stored["status"] == "paused"
    (pending,) = stored["pending_approvals"]
    assert pending == {
        "call_id": call_id,
        "name": "refund",
        "arguments": '{"amount": 40}',
        "agent": "Refunds",
        "path": [],
    }
    busy = http.post(f"/threads/{thread}/runs", json={"message": "hello?"})
    assert busy.status_code == 409 and busy.json()["error"]["type"] == "thread_paused"


def test_approving_resumes_and_runs_the_call(http: httpx.Client, model: ScriptedModel) -> None:
    thread, call_id = _paused_thread(http, model)
    model.add("Refunded 40 EUR.")
    body = {"decisions": {call_id: "approve"}}
    events = stream_events(http, "POST", f"/threads/{thread}/approvals", json=body)
    assert events[-1].data["status"] == "completed"
    assert REFUNDS == [40]
    stored = http.get(f"/threads/{thread}").json()
    assert (stored["status"], stored["pending_approvals"]) == ("idle", [])
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert stored["messages"][2]["content"] == "refunded 40 EUR"
    assert stored["messages"][3]["content"] == "Refunded 40 EUR."


def test_rejecting_tells_the_model(http: httpx.Client, model: ScriptedModel) -> None:
    thread, call_id = _paused_thread(http, model)
    model.add("Understood, no refund.")
    body = {"decisions": {call_id: "reject"}, "message": "Manager said no.", "stream": False}
    run = http.post(f"/threads/{thread}/approvals", json=body).json()
    assert run["status"] == "completed"
    assert REFUNDS == []
    tool_message = http.get(f"/threads/{thread}").json()["messages"][2]
    assert tool_message["role"] == "tool" and "Manager said no." in tool_message["content"]


def test_unknown_or_missing_decisions_are_refused(http: httpx.Client, model: ScriptedModel) -> None:
    thread, _ = _paused_thread(http, model)
    unknown = http.post(f"/threads/{thread}/approvals", json={"decisions": {"call_x": "approve"}})
    assert unknown.status_code == 409 and "call_x" in unknown.json()["error"]["message"]
    empty = http.post(f"/threads/{thread}/approvals", json={"decisions": {}})
    assert empty.status_code == 422
    wrong = http.post(f"/threads/{thread}/approvals", json={"decisions": {"call_refund": "maybe"}})
    assert wrong.status_code == 422
    assert http.get(f"/threads/{thread}").json()["status"] == "paused"  # still resumable
