"""``swarmlet serve`` and its safety checks: tokens, bind address, a real process end to end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from swarmlet.exceptions import ConfigurationError
from swarmlet.server import ServerSettings, TokenAuth, load_tokens
from swarmlet.server.serve import check_bind, is_loopback
from swarmlet.testing.server import ScriptedServer, conversation_responder
from tests.agent_server.support import parse_sse


def test_tokens_come_from_the_environment_and_the_file(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("# ops\nfile-token-0123456789abc\n\n", encoding="utf-8")
    env = {"SWARMLET_API_TOKENS": "env-token-0123456789abcd, second-token-0123456789"}
    auth = load_tokens(token_file, environ=env)
    assert auth.tokens == {
        "env-token-0123456789abcd",
        "second-token-0123456789",
        "file-token-0123456789abc",
    }
    assert not auth.generated
    assert auth.accepts("second-token-0123456789")
    assert not auth.accepts("second-token-012345678")
    assert "0123456789" not in repr(auth)


def test_a_token_is_generated_when_none_is_configured() -> None:
    auth = load_tokens(None, environ={})
    assert auth.generated and len(auth.tokens) == 1
    (token,) = auth.tokens
    assert len(token) > 32


def test_short_tokens_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="shorter than 16"):
        load_tokens(None, environ={"SWARMLET_API_TOKENS": "abc"})
    with pytest.raises(ConfigurationError, match="cannot read --token-file"):
        load_tokens(tmp_path / "missing", environ={})


def test_non_loopback_without_auth_is_refused() -> None:
    open_settings = ServerSettings(auth=TokenAuth(frozenset()))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    check_bind("127.0.0.1", open_settings)
    check_bind("0.0.0.0", ServerSettings())  # auth on: fine anywhere
    with pytest.raises(ConfigurationError, match="without authentication"):
        check_bind("0.0.0.0", open_settings)


def _swarmlet(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "swarmlet.cli", *args]
    environment = {**os.environ, **(env or {})}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )


def test_serve_refuses_an_open_public_address() -> None:
    process = _swarmlet("serve", "--example", "basic", "--no-auth", "--host", "0.0.0.0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in err


def test_serve_needs_exactly_one_agent() -> None:
    process = _swarmlet("serve")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "exactly one of MODULE:AGENT or --example" in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_example_end_to_end(tmp_path: Path) -> None:
    """A real ``swarmlet serve`` process, its generated token, a run against a scripted endpoint;
    threads go to the default database in the data directory."""
    port = _free_port()
    with ScriptedServer(responder=conversation_responder) as model_server:
        process = _swarmlet(
            "serve", "--example", "triage_agent", "--port", str(port),
            "--base-url", model_server.base_url, "--model", "scripted",
            env={"SWARMLET_API_TOKENS": "", "SWARMLET_DATA_DIR": str(tmp_path)},
        )  # fmt: skip
        try:
            banner = _read_banner(process)
            token = next(line.split(": ")[1] for line in banner if "API token" in line)
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base)
            with httpx.Client(base_url=base, timeout=20) as http:
                assert http.get("/graph").status_code == 401
                auth = {"Authorization": f"Bearer {token}"}
                body = {"messages": [{"role": "user", "content": "refund please"}]}
                with http.stream("POST", "/runs", headers=auth, json=body) as response:
                    events = list(parse_sse(response.iter_lines()))
                assert http.post("/threads", headers=auth, json={}).status_code == 201
            assert [e.event for e in events if e.event == "handoff"] == ["handoff"]
            assert events[-1].data["status"] == "completed"
        finally:
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
    # The token is printed once, in the banner, and never in the request log.
    output = "\n".join(banner) + err + out
    assert output.count(token) == 2  # the "API token" line and the log-in URL line
    assert "POST /runs" in out  # uvicorn's access log, which shows no header
    assert f"threads stored in sqlite:///{tmp_path / 'server.db'}" in output
    assert (tmp_path / "server.db").is_file()


def _read_banner(process: subprocess.Popen[str]) -> list[str]:
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "set SWARMLET_API_TOKENS" in line:
            return lines
    raise AssertionError(f"no banner from swarmlet serve: {lines}")


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server never became healthy")
