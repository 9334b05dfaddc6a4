"""Real MCP servers for the tests, built with the ``mcp`` package's own server API.

Run as a script (the tests start it as a subprocess)::

    python tests/mcp_test_server.py tools                  # over stdio
    python tests/mcp_test_server.py tools --http PORT [--token TOKEN]
    python tests/mcp_test_server.py silent                 # never answers initialise
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

_in_flight = 0
_listings = 0


def build_tools_server() -> MCPServer:
    """A server with the tools the client tests need."""
    server = MCPServer("test-tools", log_level="WARNING")
    list_tools = server.list_tools

    async def counting_list_tools() -> Any:
        global _listings
        _listings += 1
        return await list_tools()

    server.list_tools = counting_list_tools  # type: ignore[method-assign]

    @server.tool()
    def listings() -> int:
        """How many times the tool list was requested."""
        return _listings

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def greet(name: str, punctuation: str = "!") -> str:
        """Greet someone."""
        return f"Hello, {name}{punctuation}"

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def env(name: str) -> str:
        """An environment variable of the server process ("<unset>" when absent)."""
        return os.environ.get(name, "<unset>")

    @server.tool()
    async def slow(seconds: float) -> dict[str, Any]:
        """Sleep, and report how many calls (this one included) were running as it ended."""
        global _in_flight
        _in_flight += 1
        try:
            await anyio.sleep(seconds)
            return {"slept": seconds, "in_flight": _in_flight}
        finally:
            _in_flight -= 1

    @server.tool()
    def crash() -> str:
        """Kill the server process in the middle of the call."""
        sys.stdout.flush()
        os._exit(7)

    @server.tool()
    def fail(message: str) -> str:
        """Fail, so the result has isError set (ToolError: the message reaches the client)."""
        raise ToolError(message)

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add a tool named 'shout' and notify the client that the tool list changed."""

        def shout(text: str) -> str:
            """Upper-case the text."""
            return text.upper()

        server.add_tool(shout)
        await ctx.notify_tools_changed()  # 2026-era clients (subscriptions/listen)
        await ctx.request_context.session.send_tool_list_changed()  # handshake-era clients
        return "grown"

    return server


def serve_silently() -> None:
    """Read the client's messages and never answer: initialise never completes."""
    for _line in sys.stdin:
        pass
    time.sleep(60)  # stdin closed: linger so the client has to kill the process


class _RequireToken:
    """ASGI middleware: refuse requests without ``Authorization: Bearer <token>``."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or ())
        if scope["type"] == "http" and headers.get(b"authorization") != self.expected:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await self.app(scope, receive, send)


def serve_http(server: MCPServer, port: int, token: str | None) -> None:
    """Serve over streamable HTTP on 127.0.0.1 with uvicorn."""
    import uvicorn

    app: Any = server.streamable_http_app()
    if token:
        app = _RequireToken(app, token)
    # A short graceful shutdown: a client's open event stream must not hold up the test.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("tools", "silent"))
    parser.add_argument("--http", type=int, metavar="PORT")
    parser.add_argument("--token")
    args = parser.parse_args()
    if args.kind == "silent":
        serve_silently()
    elif args.http:
        serve_http(build_tools_server(), args.http, args.token)
    else:
        build_tools_server().run()


if __name__ == "__main__":
    main()
