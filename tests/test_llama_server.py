"""llama-cpp-python's OpenAI-compatible server on the bundled model, driven by the ``openai`` SDK.

A real server on loopback: the same path a user takes when pointing swarmlet (or Swarm) at a
local llama.cpp endpoint. The server runs once per module and is killed at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from swarmlet.models.base import ModelRequest
from swarmlet.models.local import bundled_model_path

STARTUP_TIMEOUT = 60.0
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
# Greedy decoding, so the streamed and the whole reply can be compared exactly.
SAMPLING: dict[str, Any] = {"max_tokens": 32, "temperature": 0.0, "seed": 0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    # No proxy: a proxy configured in the environment must not intercept loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Any) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read()!r}")
        if _answers(url):
            return
        time.sleep(0.25)
    log.seek(0)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_TIMEOUT}s:\n{log.read()!r}")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free loopback port; yield its ``/v1`` URL."""
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(bundled_model_path()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "2048",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_until_up(process, f"http://127.0.0.1:{port}/v1/models", log)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def model_id(base_url: str) -> str:
    with openai.OpenAI(base_url=base_url, api_key="x") as client:
        return client.models.list().data[0].id


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0) as sdk_client:
        yield sdk_client


def test_models_endpoint_lists_the_bundled_model(model_id: str) -> None:
    assert model_id.endswith(".gguf")


def test_sdk_non_streaming_completion(client: openai.OpenAI, model_id: str) -> None:
    completion = client.chat.completions.create(model=model_id, messages=MESSAGES, **SAMPLING)
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert isinstance(message.content, str) and message.content.strip()
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_sdk_streaming_matches_non_streaming(client: openai.OpenAI, model_id: str) -> None:
    whole = client.chat.completions.create(model=model_id, messages=MESSAGES, **SAMPLING)
    chunks = list(
        client.chat.completions.create(model=model_id, messages=MESSAGES, stream=True, **SAMPLING)
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta]
    assert len([p for p in pieces if p]) > 1
    assert "".join(p or "" for p in pieces) == whole.choices[0].message.content


async def test_openai_chat_model_against_the_server(base_url: str, model_id: str) -> None:
    # Imported here so a missing or broken provider fails this test, not the module.
    from swarmlet.models.openai_compat import OpenAIChatModel

    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0) as sdk_client:
        provider = OpenAIChatModel(sdk_client)
        request = ModelRequest(model=model_id, messages=MESSAGES, settings=dict(SAMPLING))
        whole = await provider.complete(request)
        deltas = [delta async for delta in provider.stream(request)]
    assert isinstance(whole.content, str) and whole.content.strip()
    assert whole.tool_calls == []
    assert "".join(d.content or "" for d in deltas) == whole.content
    assert any(d.finish_reason for d in deltas)
