"""Two ``swarmlet serve`` processes on one PostgreSQL serve the same thread: driven alternately
and concurrently, it ends with every message exactly once, each answer right after its question.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import pytest

from swarmlet.testing.server import ScriptedReply, ScriptedServer
from tests.agent_server.support import AUTH, TOKEN


def echo(body: dict[str, Any]) -> ScriptedReply:
    """Answer each user message with ``echo: <message>``."""
    last = body["messages"][-1]
    return ScriptedReply(content=f"echo: {last.get('content')}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def two_servers(postgres_dsn: str) -> Iterator[list[str]]:
    with ScriptedServer(responder=echo) as model_server:
        ports = [_free_port(), _free_port()]
        env = {**os.environ, "SWARMLET_API_TOKENS": TOKEN}
        processes = [
            subprocess.Popen(
                [
                    sys.executable, "-m", "swarmlet.cli", "serve", "--example", "basic",
                    "--db", postgres_dsn, "--port", str(port),
                    "--base-url", model_server.base_url, "--model", "scripted",
                ],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            for port in ports
        ]  # fmt: skip
        try:
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            for url, process in zip(urls, processes, strict=True):
                _wait_healthy(url, process)
            yield urls
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                process.communicate(timeout=30)


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"swarmlet serve exited: {process.communicate()[1]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


def _say(url: str, thread: str, text: str) -> dict[str, Any]:
    body = {"message": text, "stream": False}
    response = httpx.post(f"{url}/threads/{thread}/runs", json=body, headers=AUTH, timeout=90)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def test_two_processes_share_one_thread(two_servers: list[str]) -> None:
    first, second = two_servers
    created = httpx.post(f"{first}/threads", json={}, headers=AUTH, timeout=10)
    thread = created.json()["id"]
    # Alternately: each process continues what the other stored.
    for i in range(6):
        assert _say(two_servers[i % 2], thread, f"turn {i}")["status"] == "completed"
    # Concurrently: 12 runs at once through both processes; the thread's lease serialises them.
    texts = [f"burst {i}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        runs = list(pool.map(lambda i: _say(two_servers[i % 2], thread, texts[i]), range(12)))
    assert [r["status"] for r in runs] == ["completed"] * 12
    stored = httpx.get(f"{second}/threads/{thread}", headers=AUTH, timeout=10).json()
    messages = stored["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users[:6] == [f"turn {i}" for i in range(6)]
    assert sorted(users[6:]) == sorted(texts)  # every message once, none lost or duplicated
    assert len(messages) == 2 * 18
    for question, answer in zip(messages[::2], messages[1::2], strict=True):
        assert (question["role"], answer["role"]) == ("user", "assistant")
        assert answer["content"] == f"echo: {question['content']}"  # nothing interleaved
    assert stored["status"] == "idle"
