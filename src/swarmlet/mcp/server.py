"""``MCPServer``: an MCP server whose tools agents call, over stdio or streamable HTTP.

One ``MCPServer`` object is one connection, shared by every run and agent that lists it. It
connects lazily on first use (or eagerly with ``connect()`` / ``async with`` / ``with``), and
lives on swarmlet's MCP event loop (see :mod:`swarmlet.mcp._loop`), so the same object works
from ``asyncio.run``, the synchronous ``Swarm.run``, FastAPI handlers and threads alike.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import logging
import sys
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import httpx2
import mcp_types
from mcp.client import Transport
from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from swarmlet.exceptions import UsageError
from swarmlet.mcp._loop import call_on_loop, call_sync
from swarmlet.mcp.connection import Connection, ConnectionSettings
from swarmlet.mcp.tools import render_result, tool_schema
from swarmlet.schema import ToolOptions
from swarmlet.schema import tool as attach_options
from swarmlet.tools import BoundTool

if TYPE_CHECKING:
    from swarmlet.agent import Agent

__all__ = ["MCPServer"]

logger = logging.getLogger("swarmlet.mcp")

CONNECT_TIMEOUT = 10.0
"""Default seconds for starting a server and completing the initialise handshake."""

CALL_TIMEOUT = 60.0
"""Default seconds one tool call (or tool listing) may take."""

# HTTP defaults: connect/write quickly; the read timeout only bounds one silent stretch of a
# response stream (each request is bounded by call_timeout anyway).
_HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)

_LIVE: weakref.WeakSet[MCPServer] = weakref.WeakSet()

ToolOptionsSource = ToolOptions | Callable[[mcp_types.Tool], ToolOptions | None] | None
"""Options for an MCP server's tools: one for all, or a function of each tool."""


class MCPServer:
    """An MCP server whose tools an agent may call: ``Agent(mcp_servers=[server])``.

    Build one with :meth:`stdio` (a command swarmlet starts) or :meth:`http` (a streamable
    HTTP endpoint). Its tools appear among the agent's tools and run like any other tool:
    approvals, guardrails, timeouts and errors-as-tool-messages apply to them too.

    The connection is opened on first use and shared by all runs; after the server process
    dies, the next call starts it again. Close it with ``await server.close()`` (or use
    ``async with server:`` / ``with server:``); servers still open at interpreter exit are
    closed then.

    Args:
        open_transport: returns a fresh MCP transport each time a connection is opened.
        name: the server's name in logs and errors (must not hold secrets).
        connect_timeout: seconds for starting the server and the initialise handshake.
        call_timeout: seconds one tool call may take; ``None`` waits forever.
        cache_tools: keep the tool list until the server says it changed (default); with
            ``False`` the tools are listed again for every model request.
        tool_options: :class:`~swarmlet.schema.ToolOptions` for the server's tools, as for a
            function decorated with :func:`swarmlet.tool` (name, description, strict,
            timeout, and whatever else tools accept, such as guardrails): one value for all
            tools, or a function of the MCP tool returning its options (or ``None``).
    """

    def __init__(
        self,
        open_transport: Any,
        *,
        name: str,
        connect_timeout: float = CONNECT_TIMEOUT,
        call_timeout: float | None = CALL_TIMEOUT,
        cache_tools: bool = True,
        tool_options: ToolOptionsSource = None,
    ) -> None:
        _check_timeout("connect_timeout", connect_timeout)
        if call_timeout is not None:
            _check_timeout("call_timeout", call_timeout)
        self.name = name
        self.cache_tools = cache_tools
        self.tool_options = tool_options
        settings = ConnectionSettings(
            name, open_transport, connect_timeout, call_timeout, _swarmlet_version()
        )
        self._connection = Connection(settings)
        _LIVE.add(self)

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | Path | None = None,
        name: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        call_timeout: float | None = CALL_TIMEOUT,
        cache_tools: bool = True,
        tool_options: ToolOptionsSource = None,
    ) -> MCPServer:
        """A server swarmlet starts as a subprocess and talks to over stdin/stdout.

        The process gets only a minimal environment (``PATH``, ``HOME``, ``USER``...) plus
        ``env``: your API keys are not passed to it unless you put them in ``env``.
        """
        if isinstance(args, str):
            raise UsageError("args must be a list of strings, not one string")
        parameters = StdioServerParameters(
            command=command, args=list(args), env=dict(env) if env else None, cwd=cwd
        )
        return cls(
            _StdioTransport(parameters),
            name=name or _stdio_name(command, args),
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
            cache_tools=cache_tools,
            tool_options=tool_options,
        )

    @classmethod
    def http(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        call_timeout: float | None = CALL_TIMEOUT,
        cache_tools: bool = True,
        tool_options: ToolOptionsSource = None,
    ) -> MCPServer:
        """A server at a streamable HTTP endpoint, e.g. ``http://127.0.0.1:8000/mcp``.

        ``headers`` (e.g. ``Authorization``) are sent with every request and never logged.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"MCP server URL must be http(s)://host/..., got {url!r}")

        # The name leaves out user info and the query string, where credentials hide.
        default_name = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
        return cls(
            _HttpTransport(url, dict(headers or {})),
            name=name or default_name,
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
            cache_tools=cache_tools,
            tool_options=tool_options,
        )

    def __repr__(self) -> str:
        return f"MCPServer(name={self.name!r})"

    # A server is a shared connection: copying an agent must not copy its connections.
    def __copy__(self) -> MCPServer:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> MCPServer:
        return self

    # Pickled (e.g. with an agent sent to another process): the settings travel, and the
    # copy opens a connection of its own when first used.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_connection"] = self._connection.settings
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["_connection"] = Connection(state["_connection"])
        self.__dict__.update(state)
        _LIVE.add(self)

    @property
    def transport(self) -> str:
        """How the server is reached: ``"stdio"``, ``"http"``, or ``"custom"`` (your own)."""
        opener = self._connection.settings.open_transport
        if isinstance(opener, _StdioTransport):
            return "stdio"
        return "http" if isinstance(opener, _HttpTransport) else "custom"

    @property
    def connected(self) -> bool:
        """Whether a connection is open right now (it is opened on demand)."""
        return self._connection.connected

    @property
    def connections(self) -> int:
        """How many connections were opened so far (more than one means reconnects)."""
        return self._connection.connects

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect now and list the tools (else this happens on first use).

        Raises:
            MCPServerError: the server could not be started, reached or initialised in time.
        """
        await call_on_loop(self._connection.connect())

    async def close(self) -> None:
        """Close the connection (stopping a stdio server). A later use reconnects."""
        await call_on_loop(self._connection.close())

    async def __aenter__(self) -> MCPServer:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __enter__(self) -> MCPServer:
        call_sync(self._connection.connect())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        call_sync(self._connection.close())

    # ------------------------------------------------------------------ requests

    async def list_tools(self) -> list[mcp_types.Tool]:
        """The server's tools (cached until it notifies a change, unless ``cache_tools=False``)."""
        if not self.cache_tools:
            await call_on_loop(_invalidate(self._connection))
        return await call_on_loop(self._connection.list_tools())

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None = None
    ) -> mcp_types.CallToolResult:
        """Call one tool and return the server's result as it is.

        Raises:
            MCPServerError: the server could not be reached, timed out or failed the request.
        """
        return await call_on_loop(self._connection.call_tool(name, dict(arguments or {})))

    async def bound_tools(self, agent: Agent) -> list[BoundTool]:
        """The server's tools as swarmlet tools for ``agent`` (its ``strict`` and timeout)."""
        return [self._bind(tool, agent) for tool in await self.list_tools()]

    def _bind(self, tool: mcp_types.Tool, agent: Agent) -> BoundTool:
        options = self._options_for(tool)
        strict = agent.strict if options.strict is None else options.strict
        schema = tool_schema(tool, strict=strict, name=options.name)
        if options.description:
            schema = dataclasses.replace(schema, description=options.description)
        server_name = tool.name

        async def call_mcp_tool(**arguments: Any) -> str:
            return render_result(await self.call_tool(server_name, arguments))

        call_mcp_tool.__qualname__ = call_mcp_tool.__name__ = schema.name
        # The options ride on the function, where the run loop looks for a tool's options
        # (guardrails included), exactly as for a function decorated with @swarmlet.tool.
        fields = {field.name: getattr(options, field.name) for field in dataclasses.fields(options)}
        attach_options(**fields)(call_mcp_tool)
        timeout = options.timeout if options.timeout is not None else agent.tool_timeout
        return BoundTool(call_mcp_tool, schema, timeout)

    def _options_for(self, tool: mcp_types.Tool) -> ToolOptions:
        source = self.tool_options
        options = source(tool) if callable(source) else source
        return options if options is not None else ToolOptions()


async def _invalidate(connection: Connection) -> None:
    connection.invalidate_tools()


@dataclasses.dataclass(frozen=True)
class _StdioTransport:
    """Opens a stdio transport (a class, not a closure, so a server can be pickled)."""

    parameters: StdioServerParameters

    def __call__(self) -> Transport:
        return stdio_client(self.parameters, errlog=_errlog())


@dataclasses.dataclass(frozen=True)
class _HttpTransport:
    """Opens a streamable HTTP transport with its own HTTP client."""

    url: str
    headers: dict[str, str] = dataclasses.field(repr=False)  # may hold credentials

    def __call__(self) -> Transport:
        return _http_transport(self.url, self.headers)


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[TransportStreams]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=_HTTP_TIMEOUT) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


def _stdio_name(command: str, args: Sequence[str]) -> str:
    """``python server.py`` -> ``"python server.py"``: the program and its first argument only
    (later arguments may carry tokens)."""
    return " ".join(Path(part).name for part in [command, *args[:1]])


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: ours, if it is a real file (not in notebooks)."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or sys.stderr


def _check_timeout(what: str, value: float) -> None:
    if not value > 0:
        raise UsageError(f"{what} must be a positive number of seconds, got {value!r}")


def _swarmlet_version() -> str:
    try:
        return version("swarmlet")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _close_all_at_exit() -> None:
    """Stop stdio servers gracefully at interpreter exit (the MCP thread is a daemon)."""
    servers = [server for server in list(_LIVE) if server._connection.running]
    if not servers:
        return

    async def close_all() -> None:
        await asyncio.gather(
            *(server._connection.close() for server in servers), return_exceptions=True
        )

    try:
        call_sync(asyncio.wait_for(close_all(), 10.0))
    except Exception as exc:  # exiting anyway: say what was left, do not raise
        logger.warning("closing MCP servers at exit failed: %r", exc)


atexit.register(_close_all_at_exit)
