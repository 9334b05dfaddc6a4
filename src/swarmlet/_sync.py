"""Running swarmlet's async core from synchronous code.

One process-wide event loop runs in a daemon thread; sync calls submit their coroutine there
and wait. One long-lived loop (rather than ``asyncio.run`` per call) keeps an ``AsyncOpenAI``
client's connection pool usable across calls, and works even when the caller's thread already
runs an event loop (Jupyter). It is shared by every ``Swarm`` instance so that creating many
clients does not leave a thread behind for each.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from swarmlet.exceptions import UsageError

T = TypeVar("T")

__all__ = ["BackgroundLoop", "shared_loop"]


class BackgroundLoop:
    """An event loop running in a daemon thread, started on first use."""

    def __init__(self, name: str = "swarmlet-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # After os.fork() the child has the loop object but not its thread: start anew.
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or not alive or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop and return its result (or raise its error).

        Raises:
            UsageError: called from the loop's own thread (an async tool or callable
                instructions calling the sync API), which would wait on itself forever.
        """
        loop = self._get_loop()
        if threading.current_thread() is self._thread:
            coro.close()
            raise UsageError(
                "the synchronous Swarm API was called from inside a running swarmlet run "
                "(an async tool or instructions); use `await client.run_async(...)` there"
            )
        return _wait(asyncio.run_coroutine_threadsafe(coro, loop))

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """Iterate an async iterator from sync code, one item per round trip to the loop."""
        try:
            while True:
                try:
                    yield self.run(_anext(agen))
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                self.run(aclose())


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


def _wait(future: Future[T]) -> T:
    try:
        return future.result()
    except BaseException:
        # KeyboardInterrupt while waiting: cancel the work on the loop instead of orphaning it.
        future.cancel()
        raise


_SHARED = BackgroundLoop()


def shared_loop() -> BackgroundLoop:
    """The background loop every ``Swarm`` instance runs its sync calls on."""
    return _SHARED
