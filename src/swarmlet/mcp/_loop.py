"""The one event loop that owns every MCP connection of the process.

An MCP connection is a tree of AnyIO task groups and cancel scopes that must be exited by the
task that entered them, on the loop that created them. Runs, though, happen on many loops:
each ``asyncio.run``, the sync API's loop, FastAPI's loop, a notebook's loop. So every
connection lives on this loop, in a daemon thread of its own, and callers on any other loop
reach it through ``run_coroutine_threadsafe``. One connection per server can then be shared by
all runs, whatever loop or thread they run on, and no caller's cancellation ever lands inside
a connection's cancel scopes (the cause of "Attempted to exit cancel scope in a different
task" in other frameworks).

A daemon thread, not anyio's blocking portal: the portal's worker thread is not a daemon, so a
program that forgot to close a server would hang at interpreter exit.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from swarmlet.exceptions import UsageError

__all__ = ["call_on_loop", "call_sync", "mcp_loop", "on_loop"]

T = TypeVar("T")


class _LoopThread:
    """An event loop running forever in a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # After os.fork() the child has the loop object but not its thread: start anew.
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or not alive or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="swarmlet-mcp", daemon=True)
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread


_THREAD = _LoopThread()


def mcp_loop() -> asyncio.AbstractEventLoop:
    """The loop MCP connections live on (started on first use)."""
    return _THREAD.loop()


def on_loop() -> bool:
    """Whether the calling code runs on the MCP loop's thread."""
    return _THREAD.is_current()


async def call_on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the MCP loop from any event loop; cancelling the caller cancels it."""
    if on_loop():
        return await coro
    future: Future[T] = asyncio.run_coroutine_threadsafe(coro, mcp_loop())
    return await asyncio.wrap_future(future)


def call_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the MCP loop from synchronous code and return its result.

    Raises:
        UsageError: called from the MCP loop itself, which would wait on itself forever.
    """
    if on_loop():
        coro.close()
        raise UsageError("a synchronous MCPServer method was called from the MCP loop itself")
    future: Future[T] = asyncio.run_coroutine_threadsafe(coro, mcp_loop())
    try:
        return future.result()
    except BaseException:
        future.cancel()  # KeyboardInterrupt while waiting: do not orphan the work
        raise
