"""Starting the real MCP test servers (tests/mcp_test_server.py) for the MCP tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from swarmlet.mcp import MCPServer

SERVER_SCRIPT = str(Path(__file__).with_name("mcp_test_server.py"))
T = TypeVar("T")

LIMIT = 30.0
"""Seconds any single MCP test step may take before the test fails instead of hanging."""


def stdio_server(kind: str = "tools", **options: Any) -> MCPServer:
    """The test server over stdio (started by swarmlet on first use)."""
    return MCPServer.stdio(sys.executable, [SERVER_SCRIPT, kind], **options)


async def bounded(awaitable: Awaitable[T], seconds: float = LIMIT) -> T:
    """Await with an upper bound, so a regression fails the test instead of hanging it."""
    return await asyncio.wait_for(awaitable, seconds)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the MCP test server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the MCP test server did not listen on port {port} in {seconds} s")


@contextlib.contextmanager
def http_server_process(port: int, token: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """The test server over streamable HTTP on 127.0.0.1:port, in a subprocess."""
    command = [sys.executable, SERVER_SCRIPT, "tools", "--http", str(port)]
    if token:
        command += ["--token", token]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
