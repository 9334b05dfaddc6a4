"""A swarm as an MCP server: ``swarmlet mcp MODULE:AGENT``.

The server has one tool. Called with a request (plain text), it runs the swarm from the given
agent on that request, as one user message, and returns the final answer, so any MCP client
(an IDE, a desktop assistant, another agent framework) can delegate to a whole team of
agents. Each call is an independent run; calls run concurrently.

Over streamable HTTP the server listens on 127.0.0.1 by default. When ``SWARMLET_MCP_TOKEN``
is set, every HTTP request must carry ``Authorization: Bearer <token>``; listening on any other
address without a token is refused, since anyone who can reach the port could spend your
model budget.
"""

from __future__ import annotations

import copy
import hmac
import ipaddress
import os
import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcp.server.mcpserver import MCPServer as FastServer
from mcp.server.mcpserver.exceptions import ToolError

from swarmlet.agent import Agent, Response
from swarmlet.core import Swarm
from swarmlet.exceptions import SwarmletError, UsageError
from swarmlet.graph import reachable_agents

__all__ = ["TOKEN_VARIABLE", "serve_swarm", "swarm_mcp_server", "tool_name_for"]

TOKEN_VARIABLE = "SWARMLET_MCP_TOKEN"
"""Environment variable holding the bearer token HTTP clients must send."""

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def tool_name_for(agent: Agent) -> str:
    """The default tool name: ``ask_`` and the agent's name in snake case."""
    slug = re.sub(r"[^a-z0-9]+", "_", agent.name.lower()).strip("_")
    return f"ask_{slug or 'swarm'}"[:64]


def swarm_mcp_server(
    agent: Agent,
    swarm: Swarm,
    *,
    model_override: str | None = None,
    context_variables: dict[str, Any] | None = None,
    tool_name: str | None = None,
    description: str | None = None,
    max_turns: float = float("inf"),
) -> FastServer:
    """An MCP server (the ``mcp`` package's) whose one tool runs the swarm from ``agent``."""
    context = dict(context_variables or {})

    async def run_swarm(request: str) -> str:
        messages = [{"role": "user", "content": request}]
        try:
            response = await swarm.run_async(
                agent,
                messages,
                copy.deepcopy(context),
                model_override,
                max_turns=max_turns,
            )
        except SwarmletError as exc:  # the MCP client gets isError with the reason
            raise ToolError(f"the swarm stopped: {type(exc).__name__}: {exc}") from exc
        return final_answer(response)

    server = FastServer(f"swarmlet {agent.name}", log_level="WARNING")
    server.add_tool(
        run_swarm,
        name=tool_name or tool_name_for(agent),
        description=description or _describe(agent),
        structured_output=False,
    )
    return server


def final_answer(response: Response) -> str:
    """The last assistant text of a run.

    Raises:
        ToolError: the run ended without one (``max_turns`` reached while calling tools).
    """
    for message in reversed(response.messages):
        if message.get("role") == "assistant" and message.get("content"):
            return str(message["content"])
    raise ToolError("the swarm ended without an answer (max_turns reached?)")


def _describe(agent: Agent) -> str:
    try:
        names = sorted(reachable_agents(agent))
    except SwarmletError:
        names = [agent.name]
    team = ", ".join(names)
    return (
        f"Ask a team of AI agents ({team}), starting with {agent.name!r}, and get its answer. "
        "Pass the complete request as plain text; each call is independent."
    )


def serve_swarm(server: FastServer, transport: str, host: str, port: int) -> None:
    """Serve until interrupted: over stdio, or streamable HTTP at ``http://host:port/mcp``.

    Raises:
        UsageError: HTTP on a non-loopback address without ``SWARMLET_MCP_TOKEN``.
    """
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    token = os.environ.get(TOKEN_VARIABLE) or None
    if token is None and not _is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} without a token: set {TOKEN_VARIABLE} (clients then "
            "send 'Authorization: Bearer <token>') or listen on 127.0.0.1"
        )
    app: ASGIApp = server.streamable_http_app(host=host)
    if token is not None:
        app = BearerToken(app, token)
    print(f"swarmlet: serving MCP at http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerToken:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"missing or wrong bearer token"})
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers") or ():
            if name.lower() == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False
