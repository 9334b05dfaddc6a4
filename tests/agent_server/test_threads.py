"""Threads over real HTTP on a real SQLite file: CRUD, runs that persist, busy threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import openai
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


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def base_url(model: ScriptedModel, tmp_path: Path) -> Iterator[str]:
    triage, _ = two_agent_swarm()
    settings = ServerSettings(
        auth=TokenAuth(frozenset({TOKEN})),
        context_variables={"customer": "ann"},
        db_url=f"sqlite:///{tmp_path / 'threads.db'}",
    )
    with live_server(create_app(triage, swarm=Swarm(client=model), settings=settings)) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=20) as client:
        yield client


def _new(http: httpx.Client) -> str:
    response = http.post("/threads", json={})
    assert response.status_code == 201
    thread_id: str = response.json()["id"]
    return thread_id


def test_thread_crud(http: httpx.Client) -> None:
    first, second = _new(http), _new(http)
    listed = http.get("/threads").json()["threads"]
    assert {t["id"] for t in listed} == {first, second}
    detail = http.get(f"/threads/{first}").json()
    assert (detail["messages"], detail["status"], detail["agent"]) == ([], "idle", "Triage")
    assert http.delete(f"/threads/{first}").status_code == 204
    assert http.get(f"/threads/{first}").status_code == 404
    assert http.delete(f"/threads/{first}").status_code == 404
    assert [t["id"] for t in http.get("/threads").json()["threads"]] == [second]


def test_thread_ids_can_be_chosen_once(http: httpx.Client) -> None:
    assert http.post("/threads", json={"id": "support-42"}).json()["id"] == "support-42"
    conflict = http.post("/threads", json={"id": "support-42"})
    assert conflict.status_code == 409 and conflict.json()["error"]["type"] == "conflict"
    bad = http.post("/threads", json={"id": "no spaces/or slashes"})
    assert bad.status_code == 422


def test_runs_on_a_thread_persist_and_continue(http: httpx.Client, model: ScriptedModel) -> None:
    thread = _new(http)
    model.add(tool_call("transfer_to_sales"), "Sales here.", "Still sales.")
    events = stream_events(http, "POST", f"/threads/{thread}/runs", json={"message": "buy"})
    assert events[0].data["thread_id"] == thread
    assert events[-1].data["status"] == "completed"
    stored = http.get(f"/threads/{thread}").json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert stored["agent"] == "Sales"
    assert stored["context_variables"] == {"customer": "ann"}  # the server's starting context
    assert stored["title"] == "buy"
    # The second run continues with the stored history and agent, answered as JSON.
    body = {"message": "more", "stream": False, "context_variables": {"vip": True}}
    run = http.post(f"/threads/{thread}/runs", json=body).json()
    assert run["status"] == "completed"
    assert model.requests[-1].agent_name == "Sales"
    assert [m.get("content") for m in model.requests[-1].messages if m["role"] == "user"] == [
        "buy",
        "more",
    ]
    stored = http.get(f"/threads/{thread}").json()
    assert len(stored["messages"]) == 6
    assert stored["context_variables"] == {"customer": "ann", "vip": True}
    assert [r["id"] for r in stored["runs"]][-1] == run["id"]


def test_runs_on_unknown_threads_and_bad_bodies(http: httpx.Client) -> None:
    missing = http.post("/threads/th_nope/runs", json={"message": "hi"})
    assert missing.status_code == 404 and "th_nope" in missing.json()["error"]["message"]
    thread = _new(http)
    for body in ({}, {"message": ""}, {"message": "hi", "extra": 1}, {"message": 5}):
        response = http.post(f"/threads/{thread}/runs", json=body)
        assert response.status_code == 422, body


def test_a_busy_thread_rejects_or_waits(http: httpx.Client, model: ScriptedModel) -> None:
    thread = _new(http)
    model.add(reply("slow answer", delay=1.0), "second answer")
    with http.stream("POST", f"/threads/{thread}/runs", json={"message": "one"}) as response:
        events = parse_sse(response.iter_lines())
        next(events)  # run_created: the first run holds the thread now
        next(events)
        busy = http.post(f"/threads/{thread}/runs", json={"message": "two", "on_busy": "reject"})
        assert busy.status_code == 409 and busy.json()["error"]["type"] == "thread_busy"
        # The default waits for the first run, then runs after it: nothing interleaves.
        waited: list[dict[str, object]] = []
        waiter = threading.Thread(
            target=lambda: waited.append(
                http.post(
                    f"/threads/{thread}/runs", json={"message": "two", "stream": False}
                ).json()
            )
        )
        waiter.start()
        list(events)
    waiter.join(20)
    assert waited and waited[0]["status"] == "completed"
    contents = [m["content"] for m in http.get(f"/threads/{thread}").json()["messages"]]
    assert contents == ["one", "slow answer", "two", "second answer"]


def test_openai_facade_keeps_a_thread(
    base_url: str, http: httpx.Client, model: ScriptedModel
) -> None:
    client = openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key=TOKEN,
        default_headers={"X-Swarmlet-Thread-Id": "chat-7"},
    )
    model.add("Hello Ann.", "You said hi before.")
    first = client.chat.completions.create(
        model="swarmlet-triage", messages=[{"role": "user", "content": "hi"}]
    )
    assert first.choices[0].message.content == "Hello Ann."
    second = client.chat.completions.create(
        model="swarmlet-triage",
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello Ann."},
            {"role": "user", "content": "again"},
        ],
    )
    assert second.choices[0].message.content == "You said hi before."
    stored = http.get("/threads/chat-7").json()
    assert [m["content"] for m in stored["messages"]] == [
        "hi",
        "Hello Ann.",
        "again",
        "You said hi before.",
    ]
    assert stored["context_variables"] == {"customer": "ann"}


def test_deleting_a_thread_cancels_its_run(http: httpx.Client, model: ScriptedModel) -> None:
    thread = _new(http)
    model.add(reply("never finishes", delay=10))
    with http.stream("POST", f"/threads/{thread}/runs", json={"message": "hi"}) as response:
        events = parse_sse(response.iter_lines())
        run_id = next(events).data["run_id"]
        assert http.delete(f"/threads/{thread}").status_code == 204
        last = list(events)[-1]
    assert (last.event, last.data["status"]) == ("run_ended", "cancelled")
    assert http.get(f"/runs/{run_id}").json()["status"] == "cancelled"
    assert http.get(f"/threads/{thread}").status_code == 404
