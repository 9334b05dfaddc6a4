"""Swarm() with no client: an endpoint from the environment, served by FastHTTPModel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from swarmlet import Agent, Swarm
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[ScriptedServer]:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]  # no stray .env
    with ScriptedServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_ORG_ID", "org-7")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-9")
        yield srv


def test_default_client_reads_the_environment(server: ScriptedServer) -> None:
    server.add("Hello from the endpoint")
    swarm = Swarm()
    response = swarm.run(Agent(model="scripted"), USER)
    assert response.messages[-1]["content"] == "Hello from the endpoint"
    assert isinstance(swarm._resolve(Agent()), FastHTTPModel)
    headers = {k.lower(): v for k, v in server.request_headers[0].items()}
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["openai-organization"] == "org-7" and headers["openai-project"] == "proj-9"
    assert server.requests[0]["model"] == "scripted"


def test_default_client_survives_a_new_event_loop_per_call(server: ScriptedServer) -> None:
    server.add("one", "two", "three")
    swarm = Swarm()
    agent = Agent(model="scripted")
    answers = [asyncio.run(swarm.run_async(agent, USER)).messages[-1]["content"] for _ in range(2)]
    answers.append(swarm.run(agent, USER).messages[-1]["content"])  # the background loop
    assert answers == ["one", "two", "three"]


def test_max_retries_configures_the_default_client(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=503, headers={"retry-after": "0.01"}), "recovered")
    response = Swarm(max_retries=1).run(Agent(model="scripted"), USER)
    assert response.messages[-1]["content"] == "recovered"
    assert len(server.requests) == 2
