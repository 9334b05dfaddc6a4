"""One MCP server's connection and the single task that owns it.

The owner task (``Connection._own``) is the only code that opens or closes the connection:
it takes jobs from a queue, connects when the first one arrives, runs each job as a child
task, and leaves the connection (in the same task, so every AnyIO cancel scope is exited
where it was entered) when it is closed or the connection is lost. After a loss the next job
connects again: a server process that died is started anew. All of it runs on the MCP loop
(:mod:`swarmlet.mcp._loop`); callers on other loops reach it through ``submit``.

Failure handling, in one place:

- connecting (spawn + initialise) is bounded by ``connect_timeout``: a server that never
  answers fails the waiting jobs with :class:`~swarmlet.exceptions.MCPServerError` instead
  of hanging them;
- each request is bounded by ``call_timeout`` (the MCP request is cancelled on the server);
- a connection that ends mid-call (process crash, HTTP server gone) fails the calls in
  flight with an error naming the server, and the next job reconnects;
- a tools list-changed notification drops the cached tool list.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import mcp_types
from mcp import Client, Implementation
from mcp.client import Transport
from mcp.client._transport import TransportStreams
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from swarmlet.exceptions import MCPServerError

__all__ = ["Connection", "ConnectionSettings"]

logger = logging.getLogger("swarmlet.mcp")

T = TypeVar("T")
Operation = Callable[[Client], Awaitable[Any]]
"""What a job does with the connected client."""

_MAX_TOOL_PAGES = 100  # a server whose tools/list cursor never ends cannot hang a run


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach one MCP server and how long to wait for it.

    Attributes:
        name: the server's name in logs and error messages (never holds a secret).
        open_transport: returns a fresh transport (async context manager of the stream pair).
        connect_timeout: seconds for starting the server and the initialise handshake.
        call_timeout: seconds one request (``tools/call``, ``tools/list``) may take.
        client_version: reported to the server as the client's version.
    """

    name: str
    open_transport: Callable[[], Transport]
    connect_timeout: float
    call_timeout: float | None
    client_version: str = "0"


@dataclass(eq=False)
class _Job:
    """One request waiting for (or running on) the connection."""

    operation: Operation
    future: asyncio.Future[Any]
    what: str
    scope: anyio.CancelScope | None = field(default=None, repr=False)

    def cancel(self) -> None:
        """The caller gave up: stop the request if it already runs."""
        if self.scope is not None:
            self.scope.cancel()


class Connection:
    """The owner task of one MCP server's connection and the queue of jobs it serves.

    Every method runs on the MCP loop.
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._forget_connection()
        self.connects = 0  # how many times a connection was established

    def _forget_connection(self) -> None:
        self._pid = os.getpid()
        self._jobs: asyncio.Queue[_Job | None] | None = None
        self._owner: asyncio.Task[None] | None = None
        self._ending = ""  # why in-flight jobs are being cancelled
        self._tools: list[mcp_types.Tool] | None = None
        self._generation = 0
        self._listing: asyncio.Future[list[mcp_types.Tool]] | None = None
        self.connected = False

    # ------------------------------------------------------------------ the public surface

    async def submit(self, operation: Operation, what: str) -> Any:
        """Queue ``operation`` for the owner task and wait for its result."""
        jobs = self._start()
        job = _Job(operation, asyncio.get_running_loop().create_future(), what)
        # Awaiting a future and being cancelled cancels the future: tell the running job.
        job.future.add_done_callback(lambda done: job.cancel() if done.cancelled() else None)
        jobs.put_nowait(job)
        return await job.future

    async def connect(self) -> None:
        """Connect now (if not connected) and fetch the tool list."""
        await self.list_tools()

    async def list_tools(self) -> list[mcp_types.Tool]:
        """The server's tools: cached until the server says its list changed, or reconnects."""
        if self._tools is not None:
            return self._tools
        if self._listing is None:
            self._listing = asyncio.ensure_future(self._fetch_tools(self._generation))
            self._listing.add_done_callback(self._listing_done)
        return await asyncio.shield(self._listing)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call one tool; protocol-level failures raise MCPServerError."""
        timeout = self.settings.call_timeout

        async def call(client: Client) -> mcp_types.CallToolResult:
            return await client.call_tool(name, arguments, read_timeout_seconds=timeout)

        result: mcp_types.CallToolResult = await self.submit(call, f"tools/call {name!r}")
        return result

    async def close(self) -> None:
        """Close the connection (ending calls in flight) and stop the owner task."""
        owner = self._owner
        if owner is None or owner.done() or self._jobs is None:
            return
        self._jobs.put_nowait(None)
        await asyncio.shield(owner)

    @property
    def running(self) -> bool:
        """Whether the owner task is alive (it may be between connections)."""
        return self._owner is not None and not self._owner.done()

    # ------------------------------------------------------------------ the tool cache

    async def _fetch_tools(self, generation: int) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = await self.submit(_list_all_tools, "tools/list")
        if generation == self._generation:  # no list-changed notification meanwhile
            self._tools = tools
        return tools

    def _listing_done(self, listing: asyncio.Future[list[mcp_types.Tool]]) -> None:
        if self._listing is listing:
            self._listing = None
        if not listing.cancelled():
            listing.exception()  # retrieved: a failed listing is reported to its awaiters

    def invalidate_tools(self) -> None:
        """Forget the cached tool list (the next request lists the tools again)."""
        self._generation += 1
        self._tools = None
        self._listing = None

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            logger.debug("MCP server %r: tool list changed", self.settings.name)
            self.invalidate_tools()
        elif isinstance(message, Exception):
            logger.debug("MCP server %r: transport error: %r", self.settings.name, message)

    # ------------------------------------------------------------------ the owner task

    def _start(self) -> asyncio.Queue[_Job | None]:
        if self._pid != os.getpid():  # a forked child: the parent's connection is not ours
            self._forget_connection()
        if self._jobs is None:
            self._jobs = asyncio.Queue()
        if not self.running:
            self._owner = asyncio.ensure_future(self._own(self._jobs))
        return self._jobs

    async def _own(self, jobs: asyncio.Queue[_Job | None]) -> None:
        """Connect on demand, serve jobs, reconnect after a loss; return when closed."""
        while True:
            job = await jobs.get()
            if job is None:
                return
            if job.future.done():
                continue  # its caller gave up while it waited
            connects = self.connects
            try:
                if await self._connected_session(job, jobs):
                    return
            except Exception as exc:
                self._after_failure(exc, job, jobs, connected=self.connects > connects)

    def _after_failure(
        self, exc: Exception, job: _Job, jobs: asyncio.Queue[_Job | None], *, connected: bool
    ) -> None:
        if connected:  # the connection broke after it was up: its calls have been told
            detail = _describe(_leaf(exc))
            logger.warning("MCP server %r lost the connection: %s", self.settings.name, detail)
            return
        error = self._connect_error(exc)
        _fail(job, error)
        _fail_waiting(jobs, error)  # they waited for this same attempt

    async def _connected_session(self, first: _Job, jobs: asyncio.Queue[_Job | None]) -> bool:
        """One connection's life; True when it ended because the server was closed."""
        lost = anyio.Event()
        timeout = self.settings.connect_timeout
        # The deadline covers spawning and the handshake only; it is lifted once connected.
        # A scope *around* the client (not inside it) keeps cancel scopes properly nested.
        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as connecting:
            async with self._client(lost) as client:
                connecting.deadline = math.inf
                self.connects += 1
                logger.info("MCP server %r connected (%s)", self.settings.name, _version(client))
                # A new connection may be a new server process: list its tools afresh. (The
                # old list is kept while disconnected, so a run can still offer the tools and
                # a call reports the failure, rather than the tools silently vanishing.)
                self._tools = None  # (a listing waiting for this connection stays valid)
                self.connected = True
                try:
                    return await self._serve(client, first, jobs, lost)
                finally:
                    self.connected = False
        raise TimeoutError(f"no answer to the initialise handshake within {timeout} s")

    def _client(self, lost: anyio.Event) -> AbstractAsyncContextManager[Client]:
        info = Implementation(name="swarmlet", version=self.settings.client_version)
        transport = _watched(self.settings.open_transport(), lost)
        return Client(
            transport,
            message_handler=self._on_message,
            client_info=info,
            read_timeout_seconds=self.settings.call_timeout,
            cache=None,  # swarmlet keeps its own tool cache, dropped on list-changed
        )

    async def _serve(
        self, client: Client, first: _Job, jobs: asyncio.Queue[_Job | None], lost: anyio.Event
    ) -> bool:
        closing = False
        # Until we know better: the transport failed (an exception cancels the calls in flight).
        self._ending = "lost the connection"
        async with anyio.create_task_group() as group:
            group.start_soon(self._listen, client)
            group.start_soon(self._run, client, first, lost)
            with anyio.CancelScope() as receiving:
                group.start_soon(_cancel_when_set, lost, receiving)
                while True:
                    job = await jobs.get()  # cancel-safe: a job is never lost
                    if job is None:
                        closing = True
                        break
                    group.start_soon(self._run, client, job, lost)
            self._ending = "was closed" if closing else "closed the connection"
            if not closing:
                logger.warning("MCP server %r closed the connection", self.settings.name)
            group.cancel_scope.cancel()
        return closing

    async def _run(self, client: Client, job: _Job, lost: anyio.Event) -> None:
        if job.future.done():
            return
        with anyio.CancelScope() as job.scope:
            try:
                result = await job.operation(client)
            except anyio.get_cancelled_exc_class():
                _fail(job, self._error(f"{self._ending} during {job.what}"))
                raise
            except Exception as exc:
                if _is_connection_loss(exc):
                    lost.set()
                _fail(job, self._request_error(exc, job))
            else:
                if not job.future.done():
                    job.future.set_result(result)

    async def _listen(self, client: Client) -> None:
        """Ask a 2026-era server to send tools list-changed (older servers send it anyway)."""
        if client.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    pass  # the notification is also delivered to _on_message, which acts on it
        except Exception as exc:  # no subscriptions: the cache still refreshes on reconnect
            logger.debug("MCP server %r: no list-changed subscription: %r", self.settings.name, exc)

    # ------------------------------------------------------------------ errors

    def _error(self, detail: str) -> MCPServerError:
        name = self.settings.name
        return MCPServerError(f"MCP server {name!r} {detail}", server=name)

    def _connect_error(self, exc: BaseException) -> MCPServerError:
        cause = _leaf(exc)
        error = self._error(f"could not be connected: {_describe(cause)}")
        error.__cause__ = cause
        return error

    def _request_error(self, exc: BaseException, job: _Job) -> MCPServerError:
        cause = _leaf(exc)
        if isinstance(cause, MCPError) and cause.code == mcp_types.REQUEST_TIMEOUT:
            detail = f"did not answer {job.what} within {self.settings.call_timeout} s"
        elif _is_connection_loss(cause):
            detail = f"closed the connection during {job.what}"
        elif isinstance(cause, MCPError):
            detail = f"answered {job.what} with error {cause.code}: {cause.message}"
        else:
            detail = f"failed {job.what}: {_describe(cause)}"
        error = self._error(detail)
        error.__cause__ = cause
        return error


async def _list_all_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


async def _cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def _fail(job: _Job, error: BaseException) -> None:
    if not job.future.done():
        job.future.set_exception(error)


def _fail_waiting(jobs: asyncio.Queue[_Job | None], error: MCPServerError) -> None:
    """Fail every queued job (keeping a queued close request)."""
    kept: list[_Job | None] = []
    while not jobs.empty():
        job = jobs.get_nowait()
        if job is None:
            kept.append(job)
        else:
            _fail(job, error)
    for item in kept:
        jobs.put_nowait(item)


def _is_connection_loss(exc: BaseException) -> bool:
    if isinstance(exc, MCPError):
        return exc.code == mcp_types.CONNECTION_CLOSED
    return isinstance(exc, (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError))


def _leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (possibly nested) exception groups."""
    # Duck-typed: BaseExceptionGroup is not a builtin before Python 3.11.
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, tuple) and inner and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _version(client: Client) -> str:
    try:
        return f"protocol {client.protocol_version}"
    except RuntimeError:  # pragma: no cover - only before the handshake
        return "protocol unknown"


class _WatchedReadStream:
    """A transport's read stream that sets ``lost`` when it ends (the peer went away)."""

    def __init__(self, inner: Any, lost: anyio.Event) -> None:
        self._inner = inner
        self._lost = lost

    def __getattr__(self, name: str) -> Any:  # e.g. ``last_context``, read by the dispatcher
        return getattr(self._inner, name)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._lost.set()
            raise

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _WatchedReadStream:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        result: bool | None = await self._inner.__aexit__(*exc_info)
        return result


@asynccontextmanager
async def _watched(transport: Transport, lost: anyio.Event) -> AsyncIterator[TransportStreams]:
    async with transport as (read, write):
        yield _WatchedReadStream(read, lost), write
