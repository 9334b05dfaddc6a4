"""Running swarmlet's async core from synchronous code: the sync bridge.

A sync call (``Swarm.run``, ``run(stream=True)``, ``run_demo_loop``) goes one of three ways,
decided when it starts (:func:`bridge_for`):

1. **The calling thread's own loop** (the usual case: no event loop runs in this thread). The
   run executes on an event loop that belongs to the calling thread and is kept for its next
   calls, so connection pools are reused; there is no thread hop, and a streamed run's events
   reach the caller in batches (everything the run produced before it next waited on I/O). Sync
   tools can run right here, in the caller's thread (:data:`INLINE`).
2. **The shared background loop** (a loop already runs in this thread — Jupyter — or a sync
   tool running inline calls the sync API again, or the run needs a client bound to that loop).
   The run executes on one process-wide loop in a daemon thread; the calling thread waits on a
   queue, receiving the stream's event batches and serving the run's sync tool calls
   (:class:`CallerThreadExecutor`), so resources bound to the caller's thread still work.
3. **Refused**: code running *on* a swarmlet run's loop (an async tool, callable instructions)
   calling the sync API would block that loop, or wait for itself: ``UsageError``.

Ctrl-C during a sync call cancels the run (its generators close, HTTP streams are released) and
raises ``KeyboardInterrupt``; a second Ctrl-C raises at once. An abandoned stream (``break``)
is closed the same way. After ``os.fork`` the child starts fresh loops.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import functools
import os
import queue
import signal
import threading
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Generator,
    Iterator,
)
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from swarmlet.exceptions import UsageError

T = TypeVar("T")

__all__ = [
    "INLINE",
    "BackgroundLoop",
    "CallerThreadExecutor",
    "InlineExecutor",
    "ThreadLoop",
    "bridge_for",
    "shared_loop",
]

_NESTED_MESSAGE = (
    "the synchronous Swarm API was called from inside a running swarmlet run "
    "(an async tool or instructions); use `await client.run_async(...)` there"
)


# --------------------------------------------------------------------------- sync tool executors


class CallerThreadExecutor(Executor):
    """Runs sync tools in the thread that called the sync API, one at a time.

    ``submit`` is called on the run's loop; the call is queued for the calling thread, which
    serves it while it waits for the run (see :class:`BackgroundLoop`).
    """

    def __init__(self, inbox: queue.SimpleQueue[Any] | None = None) -> None:
        self._inbox = inbox

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        assert self._inbox is not None, "InlineExecutor overrides submit"
        self._inbox.put(("call", future, fn, args, kwargs))
        return future


class InlineExecutor(CallerThreadExecutor):
    """Runs a sync tool directly, on the loop's (= the calling) thread, blocking the loop.

    The run loop calls :meth:`call` instead of going through a future (see ``tools._invoke``).
    """

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` here, as if no event loop were running in this thread (as in Swarm).

        The loop is blocked while ``fn`` runs anyway; hiding it lets the tool use
        ``asyncio.run`` like any sync code. The thread is marked so that a nested sync call
        takes the background path (this thread's loop is busy).
        """
        loop = asyncio._get_running_loop()
        _state.inline_depth = getattr(_state, "inline_depth", 0) + 1
        asyncio._set_running_loop(None)
        try:
            return fn(*args, **kwargs)
        finally:
            asyncio._set_running_loop(loop)
            _state.inline_depth -= 1

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(self.call(fn, *args, **kwargs))
        except Exception as exc:  # reported like a worker thread's failure
            future.set_exception(exc)
        return future


INLINE = InlineExecutor()
"""The executor for "sync tools in the caller's thread" when the run's loop is that thread's."""

_state = threading.local()  # per thread: its loop, its pid, and how deep inline tools are nested


# --------------------------------------------------------------------------- choosing a bridge


def bridge_for(needs_shared_loop: bool = False) -> ThreadLoop | _RemoteCall:
    """The bridge a sync call made now, from this thread, should use (see module docstring).

    Args:
        needs_shared_loop: the run uses something bound to one event loop (an
            ``AsyncOpenAI`` client), so every sync call must use the shared loop.

    Raises:
        UsageError: called from code running on a swarmlet run's own loop.
    """
    if getattr(_state, "inline_depth", 0):  # a sync tool running on this thread's busy loop
        return _SHARED.open()
    running = asyncio._get_running_loop()
    if running is None:
        return _SHARED.open() if needs_shared_loop else ThreadLoop.current()
    if running is _SHARED.loop_if_started() or running is getattr(_state, "loop", None):
        raise UsageError(_NESTED_MESSAGE)
    return _SHARED.open()


# --------------------------------------------------------------------------- 1. the thread's loop


class ThreadLoop:
    """An event loop owned by one thread, run only while that thread is inside a sync call."""

    caller_executor: CallerThreadExecutor = INLINE

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread_id = threading.get_ident()
        # A thread that ends takes its loop with it (its pools are unreachable from then on);
        # so does the process at exit. Both close the loop's connection pools first.
        _LIVE_LOOPS.add(self.loop)
        self._owner = _LoopOwner(self.loop)

    def open(self) -> ThreadLoop:
        """This bridge, for one sync call (it keeps no per-call state)."""
        return self

    @classmethod
    def current(cls) -> ThreadLoop:
        """This thread's loop, created on first use (and again in a forked child)."""
        bridge: ThreadLoop | None = getattr(_state, "bridge", None)
        if bridge is None or getattr(_state, "pid", 0) != os.getpid() or bridge.loop.is_closed():
            bridge = cls()
            _state.bridge, _state.loop, _state.pid = bridge, bridge.loop, os.getpid()
        return bridge

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion on this thread's loop."""
        task = self.loop.create_task(coro)
        self._drive(task, task)
        return task.result()

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """Iterate ``agen`` in one task; events reach the caller in batches."""
        pump = _Pump(agen)
        task = self.loop.create_task(pump.run())
        try:
            while True:
                while pump.buffer:
                    yield pump.buffer.popleft()
                if task.done():
                    task.result()  # raises the run's error
                    return
                self._drive(pump.wait_for_more(self.loop), task)
        finally:
            self._close(task)

    def _drive(self, until: asyncio.Future[Any], task: asyncio.Task[Any]) -> None:
        """Run the loop until ``until`` is done; Ctrl-C cancels ``task`` first, then raises."""
        with _ctrl_c_cancels(task) as interrupted:
            try:
                self.loop.run_until_complete(until)
            except BaseException:
                self._close(task)  # a KeyboardInterrupt that got through, or SystemExit
                if interrupted and task.cancelled():
                    raise KeyboardInterrupt from None
                raise
            if interrupted and task.cancelled():
                raise KeyboardInterrupt

    def _close(self, task: asyncio.Task[Any]) -> None:
        """Cancel an unfinished run and let it clean up (close streams and connections)."""
        if task.done():
            return
        if threading.get_ident() != self.thread_id:  # a stream finalised in another thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to finish
                self.loop.call_soon_threadsafe(task.cancel)
            return
        task.cancel()
        if self.loop.is_running():
            return  # finalised during another run of this loop, which finishes the task
        with contextlib.suppress(BaseException):
            self.loop.run_until_complete(task)


_LIVE_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Finish an idle thread loop like ``asyncio.run`` does: async generators, then close.

    Finalising async generators is how providers close a loop's connection pool (e.g.
    ``FastHTTPModel``); callbacks already scheduled (generators the garbage collector
    finalised) get a moment to run too.
    """
    if loop.is_running() or loop.is_closed():
        return
    with contextlib.suppress(Exception):
        loop.run_until_complete(_finish_pending())
    with contextlib.suppress(Exception):
        loop.close()


async def _finish_pending() -> None:
    # Work already scheduled first (it may be closing a generator the collector finalised:
    # closing that one again below would fail), then every generator still open.
    await asyncio.sleep(0)
    pending = asyncio.all_tasks() - {asyncio.current_task()}
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    await asyncio.get_running_loop().shutdown_asyncgens()


class _LoopOwner:
    """Held only by its thread's local storage: dropped when the thread ends, and then shuts
    the thread's loop down (from a fresh thread: the ending one may be half torn down)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.pid = loop, os.getpid()

    def __del__(self) -> None:
        if self.loop.is_closed() or self.pid != os.getpid():  # a forked child: not its loop
            return
        with contextlib.suppress(Exception):  # no new threads at interpreter shutdown
            threading.Thread(target=_shutdown, args=(self.loop,), daemon=True).start()


@atexit.register
def _shutdown_all() -> None:
    for loop in list(_LIVE_LOOPS):
        _shutdown(loop)


if hasattr(os, "register_at_fork"):  # a forked child must not touch the parent's loops
    os.register_at_fork(after_in_child=_LIVE_LOOPS.clear)


class _Pump:
    """Moves a run's events into a buffer the sync caller drains between loop runs."""

    def __init__(self, agen: AsyncIterator[Any]) -> None:
        self.agen = agen
        self.buffer: collections.deque[Any] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None

    def wait_for_more(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        self.waiter = loop.create_future()
        return self.waiter

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        try:
            async with _closing(self.agen):
                async for item in self.agen:
                    self.buffer.append(item)
                    self._wake()
        finally:
            self._wake()


@contextlib.contextmanager
def _ctrl_c_cancels(task: asyncio.Task[Any]) -> Iterator[list[bool]]:
    """While the loop runs, the first Ctrl-C cancels ``task``; a second one raises.

    Only in the main thread and only when Python's default handler is installed (someone
    else's handler is left alone). The yielded list is truthy once Ctrl-C was pressed.
    """
    interrupted: list[bool] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield interrupted
        return

    def on_sigint(signum: int, frame: Any) -> None:
        if interrupted or task.done():
            raise KeyboardInterrupt
        interrupted.append(True)
        task.cancel()
        task.get_loop().call_soon_threadsafe(lambda: None)  # wake the selector

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --------------------------------------------------------------------------- 2. the shared loop


class BackgroundLoop:
    """An event loop running in a daemon thread, started on first use, shared by all clients.

    Each sync call made through it (:meth:`open`) has a queue on which the calling thread,
    while it waits, receives event batches and the run's sync tool calls.
    """

    def __init__(self, name: str = "swarmlet-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def loop_if_started(self) -> asyncio.AbstractEventLoop | None:
        """The loop, if it runs in this process (for the nested-call check)."""
        return self._loop if self._pid == os.getpid() else None

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

    def open(self) -> _RemoteCall:
        """A bridge for one sync call, with its own queue to the calling thread."""
        return _RemoteCall(self._get_loop())


class _RemoteCall:
    """One sync call running on the background loop; the calling thread serves its queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.caller_executor = CallerThreadExecutor(self.inbox)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the background loop, serving its calls here; return its result."""
        future = self._start(coro)
        with contextlib.closing(_serve(self.inbox, future)) as served:
            for _ in served:
                pass  # pragma: no cover - a plain run sends no events
        return future.result()

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """Iterate ``agen`` on the background loop; events arrive here in batches."""
        pump = _RemotePump(agen, self.inbox)
        future = self._start(pump.run())
        want = functools.partial(self.loop.call_soon_threadsafe, pump.want)
        with contextlib.closing(_serve(self.inbox, future, on_empty=want)) as served:
            for batch in served:
                yield from batch
        future.result()

    def _start(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        # "end" when the run is over, even one cancelled before it started.
        future.add_done_callback(lambda _: self.inbox.put(("end",)))
        return future


def _serve(
    inbox: queue.SimpleQueue[Any],
    future: Future[Any],
    on_empty: Callable[[], object] | None = None,
) -> Generator[list[Any], None, None]:
    """Serve ``inbox`` in the calling thread until the run ends; yield its event batches.

    Ctrl-C (or a consumer that stops iterating) cancels the run and still waits for it to end,
    serving tool calls meanwhile, so the run cleans up before control returns.
    """
    try:
        if on_empty is not None:
            on_empty()
        while (message := inbox.get())[0] != "end":
            if message[0] == "events":
                yield message[1]
                if on_empty is not None:
                    on_empty()
            else:
                _call(*message[1:])
    except BaseException:
        future.cancel()
        while (message := inbox.get())[0] != "end":  # let the cancelled run finish
            if message[0] == "call":
                _call(*message[1:])  # skipped if cancelled; else the run is waiting for it
        raise


def _call(future: Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as exc:  # reported to the run like a worker thread's failure
        future.set_exception(exc)


class _RemotePump:
    """Sends a run's events to the calling thread in batches, when it asks for more."""

    def __init__(self, agen: AsyncIterator[Any], inbox: queue.SimpleQueue[Any]) -> None:
        self.agen, self.inbox = agen, inbox
        self.pending: list[Any] = []
        self.demand = asyncio.Event()
        self.flush_scheduled = False

    def want(self) -> None:
        """The caller has drained its batch (called on the loop)."""
        if self.pending:
            self._flush()
        else:
            self.demand.set()

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.pending:
            self.demand.clear()
            batch, self.pending = self.pending, []
            self.inbox.put(("events", batch))

    async def run(self) -> None:
        try:
            async with _closing(self.agen):
                while True:
                    await self.demand.wait()
                    try:
                        item = await _anext(self.agen)
                    except StopAsyncIteration:
                        break
                    self.pending.append(item)
                    if not self.flush_scheduled:  # one batch per pass of the loop
                        self.flush_scheduled = True
                        asyncio.get_running_loop().call_soon(self._flush)
        finally:
            self._flush()  # what is left; a flush still scheduled then finds nothing


@contextlib.asynccontextmanager
async def _closing(agen: AsyncIterator[Any]) -> AsyncGenerator[None, None]:
    """Close ``agen`` (finishing the run: streams and connections released) when done."""
    try:
        yield
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            await aclose()


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


_SHARED = BackgroundLoop()


def shared_loop() -> BackgroundLoop:
    """The background loop every ``Swarm`` instance falls back to (see module docstring)."""
    return _SHARED
