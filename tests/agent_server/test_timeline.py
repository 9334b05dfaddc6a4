"""The run timeline endpoint: a run's OpenTelemetry spans, collected in process by the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

import swarmlet.tracing
from swarmlet import Agent, Swarm
from swarmlet.server import ServerSettings, TokenAuth, create_app
from swarmlet.testing import ScriptedModel, tool_call
from tests.agent_server.support import AUTH, TOKEN, live_server


def _swarm() -> Agent:
    """Triage asks a researcher (an agent as a tool), then hands off to sales, which looks up."""

    def lookup(order_id: str) -> dict[str, str]:
        """Find an order."""
        return {"order_id": order_id, "status": "shipped"}

    sales = Agent(name="Sales", instructions="Sell.", functions=[lookup])
    researcher = Agent(name="Researcher", instructions="Find facts.")

    def transfer_to_sales() -> Agent:
        """Hand over to sales."""
        return sales

    ask = researcher.as_tool("ask_researcher", "Ask the researcher.")
    return Agent(name="Triage", instructions="Route.", functions=[ask, transfer_to_sales])


@pytest.fixture
def served() -> Iterator[tuple[httpx.Client, ScriptedModel]]:
    model = ScriptedModel()
    settings = ServerSettings(auth=TokenAuth(frozenset({TOKEN})))
    app = create_app(_swarm(), swarm=Swarm(client=model), settings=settings)
    with live_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, model


def _tree(spans: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(depth, name) in depth-first order, children by start time."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        children.setdefault(span["parent_id"], []).append(span)
    ids = {span["span_id"] for span in spans}
    out: list[tuple[int, str]] = []

    def walk(span: dict[str, Any], depth: int) -> None:
        out.append((depth, span["name"]))
        for child in sorted(children.get(span["span_id"], []), key=lambda s: s["start"]):
            walk(child, depth + 1)

    for root in [s for s in spans if s["parent_id"] not in ids]:
        walk(root, 0)
    return out


def test_timeline_is_the_runs_span_tree(
    served: tuple[httpx.Client, ScriptedModel],
) -> None:
    http, model = served
    model.add(
        tool_call("ask_researcher", {"task": "order A1?"}),
        "A1 exists.",
        tool_call("transfer_to_sales"),
        tool_call("lookup", {"order_id": "A1"}),
        "Shipped.",
    )
    body = {"messages": [{"role": "user", "content": "Where is A1?"}], "stream": False}
    run = http.post("/runs", json=body, headers=AUTH).json()
    assert run["status"] == "completed"

    timeline = http.get(f"/runs/{run['id']}/timeline", headers=AUTH).json()
    assert timeline["complete"] is True
    spans = timeline["spans"]
    assert _tree(spans) == [
        (0, "swarmlet.server run"),
        (1, "invoke_workflow Triage"),
        (2, "invoke_agent Triage"),
        (3, "chat gpt-4o"),
        (3, "execute_tool ask_researcher"),
        (4, "invoke_agent Researcher"),
        (5, "chat gpt-4o"),
        (3, "chat gpt-4o"),
        (3, "execute_tool transfer_to_sales"),
        (2, "invoke_agent Sales"),
        (3, "chat gpt-4o"),
        (3, "execute_tool lookup"),
        (3, "chat gpt-4o"),
    ]
    root = spans[0]
    assert all(s["trace_id"] == root["trace_id"] == timeline["trace_id"] for s in spans)
    assert all(s["duration"] >= 0 and s["start"] >= root["start"] for s in spans)
    assert root["duration"] >= max(s["duration"] for s in spans[1:])
    kinds = {s["name"].split(" ")[0]: s["kind"] for s in spans}
    assert kinds["execute_tool"] == "tool" and kinds["chat"] == "model"
    assert not any(s["error"] for s in spans)
    handoffs = [e for s in spans for e in s["events"] if e["name"] == "swarmlet.handoff"]
    assert [e["attributes"]["swarmlet.handoff.to_agent"] for e in handoffs] == ["Sales"]


def test_failed_call_is_an_error_span_and_unknown_runs_are_404(
    served: tuple[httpx.Client, ScriptedModel],
) -> None:
    http, model = served
    model.add(tool_call("transfer_to_sales"), RuntimeError("endpoint down"))
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": False}
    run = http.post("/runs", json=body, headers=AUTH).json()
    assert run["status"] == "failed"
    spans = http.get(f"/runs/{run['id']}/timeline", headers=AUTH).json()["spans"]
    assert any(s["error"] and s["name"] == "swarmlet.server run" for s in spans)
    assert any(s["error"] and s["kind"] == "model" for s in spans)
    assert http.get(f"/runs/{run['id']}/timeline").status_code == 401
    assert http.get("/runs/run_nope/timeline", headers=AUTH).status_code == 404


def test_the_server_traces_while_it_runs(
    served: tuple[httpx.Client, ScriptedModel],
) -> None:
    assert swarmlet.tracing.is_enabled()


def test_tracing_is_off_again_once_the_server_stopped() -> None:
    assert not swarmlet.tracing.is_enabled()
