"""The agent server over real HTTP (uvicorn on 127.0.0.1) with a scripted model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from swarmlet import Swarm
from swarmlet.server import ServerSettings, TokenAuth, create_app
from swarmlet.testing import ScriptedModel, reply, tool_call
from tests.agent_server.support import (
    AUTH,
    TOKEN,
    live_server,
    parse_sse,
    stream_events,
    two_agent_swarm,
)


def _settings(**overrides: object) -> ServerSettings:
    values: dict[str, object] = {"auth": TokenAuth(frozenset({TOKEN}))}
    values.update(overrides)
    return ServerSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def base_url(model: ScriptedModel) -> Iterator[str]:
    triage, _ = two_agent_swarm()
    app = create_app(triage, swarm=Swarm(client=model), settings=_settings())
    with live_server(app) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


HELLO = {"messages": [{"role": "user", "content": "Where is my order A1?"}]}


# -- auth ---------------------------------------------------------------------------------


def test_health_needs_no_token(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "missing Authorization header"),
        ({"Authorization": "Basic abc"}, "malformed Authorization header"),
        ({"Authorization": "Token abcdefabcdefabcdef"}, "malformed Authorization header"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, "invalid API token"),
    ],
)
def test_every_api_endpoint_rejects_bad_tokens(
    http: httpx.Client, headers: dict[str, str], fragment: str
) -> None:
    for method, path in [
        ("GET", "/graph"),
        ("POST", "/runs"),
        ("GET", "/runs/run_x"),
        ("GET", "/runs/run_x/events"),
        ("POST", "/runs/run_x/cancel"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/swarmlet-triage"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/info"),
        ("GET", "/threads"),
        ("POST", "/threads"),
        ("GET", "/threads/th_x"),
        ("DELETE", "/threads/th_x"),
        ("POST", "/threads/th_x/runs"),
        ("POST", "/threads/th_x/approvals"),
    ]:
        response = http.request(method, path, headers=headers, json=HELLO)
        assert response.status_code == 401, (method, path)
        error = response.json()["error"]
        assert error["type"] == "authentication_error"
        assert fragment in error["message"]
        assert TOKEN not in response.text
        assert response.headers["www-authenticate"] == "Bearer"


def test_docs_and_openapi_are_served(http: httpx.Client) -> None:
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    assert {"/runs", "/graph", "/v1/chat/completions", "/health"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


# -- the graph ----------------------------------------------------------------------------


def test_graph_lists_agents_tools_and_handoff_edges(http: httpx.Client) -> None:
    graph = http.get("/graph", headers=AUTH).json()
    assert graph["entry"] == "Triage"
    assert [a["name"] for a in graph["agents"]] == ["Triage", "Sales"]
    assert graph["edges"] == [
        {"source": "Triage", "target": "Sales", "kind": "handoff", "tool": "transfer_to_sales"}
    ]
    lookup = graph["agents"][1]["tools"][0]
    assert lookup["name"] == "lookup"
    assert lookup["parameters"]["properties"]["order_id"]["type"] == "string"


# -- runs ---------------------------------------------------------------------------------


def test_streamed_run_carries_typed_events(http: httpx.Client, model: ScriptedModel) -> None:
    model.add(
        tool_call("transfer_to_sales"),
        tool_call("lookup", {"order_id": "A1"}),
        "Your order A1 has shipped.",
    )
    events = stream_events(http, "POST", "/runs", headers=AUTH, json=HELLO)
    kinds = [e.event for e in events]
    assert kinds[0] == "run_created" and kinds[-2:] == ["run_completed", "run_ended"]
    assert events[-1].data["status"] == "completed"
    assert [int(e.id or -1) for e in events] == list(range(len(events)))
    handoff = next(e.data for e in events if e.event == "handoff")
    assert (handoff["from_agent"], handoff["to_agent"]) == ("Triage", "Sales")
    started = next(
        e.data for e in events if e.event == "tool_call_started" and e.data["name"] == "lookup"
    )
    assert json.loads(started["arguments"]) == {"order_id": "A1"}
    finished = next(
        e.data for e in events if e.event == "tool_call_finished" and e.data["name"] == "lookup"
    )
    assert json.loads(finished["content"]) == {"order_id": "A1", "status": "shipped"}
    assert finished["error"] is None
    text = [e.data for e in events if e.event == "text_delta"]
    assert "".join(t["text"] for t in text) == "Your order A1 has shipped."
    assert {t["agent"] for t in text} == {"Sales"}  # the speaking agent, after the handoff
    final = events[-1].data["response"]
    assert final == events[-2].data["response"]
    assert final["agent"] == "Sales"
    assert final["messages"][-1]["content"] == "Your order A1 has shipped."


def test_tool_errors_are_events_not_failures(http: httpx.Client, model: ScriptedModel) -> None:
    model.add(tool_call("transfer_to_sales"), tool_call("lookup", {"order_id": "bad"}), "Sorry.")
    events = stream_events(http, "POST", "/runs", headers=AUTH, json=HELLO)
    failed = next(
        e.data for e in events if e.event == "tool_call_finished" and e.data["name"] == "lookup"
    )
    assert failed["error"] == "ValueError: no such order"
    assert events[-1].data["status"] == "completed"


def test_unstreamed_run_answers_when_done(http: httpx.Client, model: ScriptedModel) -> None:
    model.add("Hello there.")
    body = {**HELLO, "stream": False, "context_variables": {"user": "ann"}}
    response = http.post("/runs", headers=AUTH, json=body)
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "completed"
    (message,) = run["response"]["messages"]
    assert (message["role"], message["content"], message["sender"]) == (
        "assistant",
        "Hello there.",
        "Triage",
    )
    assert run["response"]["context_variables"] == {"user": "ann"}
    assert http.get(f"/runs/{run['id']}", headers=AUTH).json()["status"] == "completed"


def test_model_failure_ends_the_run_as_failed(http: httpx.Client, model: ScriptedModel) -> None:
    model.add(tool_call("transfer_to_sales"), RuntimeError("endpoint down"))
    events = stream_events(http, "POST", "/runs", headers=AUTH, json=HELLO)
    assert events[-1].event == "run_ended" and events[-1].data["status"] == "failed"
    error = events[-1].data["error"]
    assert error["type"] == "ModelError"
    assert "endpoint down" in error["message"] and "'Sales'" in error["message"]
    # What was produced before the failure is kept in the partial response.
    assert events[-1].data["response"]["agent"] == "Sales"
    assert events[-1].data["response"]["messages"][0]["tool_calls"][0]["function"]["name"] == (
        "transfer_to_sales"
    )


def test_client_disconnect_loses_nothing(http: httpx.Client, model: ScriptedModel) -> None:
    model.add(reply("first part", tool_call("transfer_to_sales")), reply("done", delay=0.5))
    with http.stream("POST", "/runs", headers=AUTH, json=HELLO) as response:
        seen = []
        for event in parse_sse(response.iter_lines()):
            seen.append(event)
            if event.event == "handoff":
                break  # the client goes away mid-run
    run_id = seen[0].data["run_id"]
    deadline = time.monotonic() + 10
    while http.get(f"/runs/{run_id}", headers=AUTH).json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run = http.get(f"/runs/{run_id}", headers=AUTH).json()
    assert run["status"] == "completed"
    assert run["response"]["messages"][-1]["content"] == "done"
    # Re-attach after the last event seen: the rest, no gaps, no repeats.
    last = seen[-1].id
    rest = stream_events(
        http, "GET", f"/runs/{run_id}/events", headers={**AUTH, "Last-Event-ID": last}
    )
    assert [int(e.id or -1) for e in rest] == list(range(int(last or 0) + 1, run["event_count"]))
    assert rest[-1].event == "run_ended"
    everything = stream_events(http, "GET", f"/runs/{run_id}/events", headers=AUTH)
    assert [e.id for e in everything[: len(seen)]] == [e.id for e in seen]


def test_disconnect_can_cancel_the_run(http: httpx.Client, model: ScriptedModel) -> None:
    model.add(reply("thinking", tool_call("transfer_to_sales")), reply("never", delay=5))
    body = {**HELLO, "on_disconnect": "cancel"}
    with http.stream("POST", "/runs", headers=AUTH, json=body) as response:
        run_id = next(parse_sse(response.iter_lines())).data["run_id"]
    deadline = time.monotonic() + 10
    while (status := http.get(f"/runs/{run_id}", headers=AUTH).json()["status"]) == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status == "cancelled"


def test_cancel_endpoint_stops_a_run(http: httpx.Client, model: ScriptedModel) -> None:
    model.add(reply("slow", delay=5))
    with http.stream("POST", "/runs", headers=AUTH, json=HELLO) as response:
        events = parse_sse(response.iter_lines())
        run_id = next(events).data["run_id"]
        cancelled = http.post(f"/runs/{run_id}/cancel", headers=AUTH).json()
        assert cancelled["status"] == "cancelled"
        last = list(events)[-1]
        assert (last.event, last.data["status"]) == ("run_ended", "cancelled")


def test_unknown_run_is_404(http: httpx.Client) -> None:
    response = http.get("/runs/run_nope", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


# -- malformed input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"mesages": [{"role": "user", "content": "x"}]}, "mesages"),
        ({**HELLO, "max_turns": 0}, "max_turns"),
        ({**HELLO, "on_disconnect": "explode"}, "on_disconnect"),
        ([1, 2], "body"),
    ],
)
def test_malformed_run_requests_get_clear_422(
    http: httpx.Client, body: object, fragment: str
) -> None:
    response = http.post("/runs", headers=AUTH, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]


def test_invalid_json_is_422(http: httpx.Client) -> None:
    response = http.post(
        "/runs", headers={**AUTH, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["error"]["message"]


def test_oversized_body_is_413(http: httpx.Client, model: ScriptedModel) -> None:
    huge = {"messages": [{"role": "user", "content": "x" * (2 << 20)}]}
    response = http.post("/runs", headers=AUTH, json=huge)
    assert response.status_code == 413
    # Starlette's body limiter answers this one in plain text, before any route runs.
    assert "Content Too Large" in response.text
    assert model.requests == []


# -- CORS -------------------------------------------------------------------------------------


def _preflight(url: str) -> httpx.Response:
    headers = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    return httpx.options(f"{url}/runs", headers=headers, timeout=10)


def test_cors_is_off_by_default(base_url: str) -> None:
    assert "access-control-allow-origin" not in _preflight(base_url).headers


def test_cors_allows_configured_origins() -> None:
    triage, _ = two_agent_swarm()
    settings = _settings(cors_origins=("https://app.example",))
    app = create_app(triage, swarm=Swarm(client=ScriptedModel()), settings=settings)
    with live_server(app) as url:
        response = _preflight(url)
    assert response.headers["access-control-allow-origin"] == "https://app.example"
