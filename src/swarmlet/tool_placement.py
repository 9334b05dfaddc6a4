"""Where a synchronous tool runs: the shared thread pool, and the ``sync_tools="auto"`` policy.

A sync tool called from a run can run on a thread pool (the run waits for it without blocking
its event loop) or directly on the loop's thread (no thread hop, but the loop is blocked while
it runs). The hop costs about 90 µs of CPU per call (docs/benchmarks.md), which is most of the
tool's cost when the tool is a dict lookup or a handoff.

:class:`AutoExecutor` chooses per tool, from what the tool has shown: a tool runs on the pool
until :data:`PROMOTE_AFTER` pooled runs in a row each took less than :data:`QUICK_SECONDS`, and
from then on on the loop's thread (with :class:`~swarmlet._sync.InlineExecutor` semantics: the
loop is hidden, so the tool may use ``asyncio.run``, and a nested sync call goes to the shared
loop). An inline run that takes :data:`QUICK_SECONDS` or longer sends the tool back to the pool
for good and logs one warning. Times are the tool function's own wall time: a tool waiting on
I/O uses no CPU but blocks the loop just the same.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from swarmlet._sync import INLINE, shared_loop

__all__ = ["PROMOTE_AFTER", "QUICK_SECONDS", "TOOL_THREADS", "AutoExecutor", "shared_executor"]

T = TypeVar("T")

# The auto policy's two numbers, in one place.
QUICK_SECONDS = 0.001
"""A sync tool run shorter than this (wall time) is quick enough to run on the event loop.

One millisecond is about ten thread hops of CPU: a tool below it costs the other runs sharing
the loop less latency than the hop costs everyone in CPU, and it is well under the gaps between
a streamed model's chunks, so streams do not visibly stall.
"""

PROMOTE_AFTER = 3
"""How many pooled runs in a row must be quick before a tool runs on the loop's thread.

One quick run may be luck (a warm cache, an early return); three in a row say the tool is
usually quick. Learning costs three hops per tool and client, a fraction of a millisecond.
"""

TOOL_THREADS = 64
"""Worker threads of the shared pool that runs synchronous tools.

Tools are usually I/O-bound (HTTP, databases), and asyncio's default executor has only
``min(32, cores + 4)`` threads: on a 2-core machine, 8 parallel tool calls would run in two
rounds. Pass ``Swarm(tool_executor=...)`` for a pool of your own.
"""

# The logger of tool execution (swarmlet.tools), where users look for what their tools did.
logger = logging.getLogger("swarmlet.tools")

_shared_executor: ThreadPoolExecutor | None = None
_shared_executor_lock = threading.Lock()


def shared_executor() -> ThreadPoolExecutor:
    """The process-wide pool for synchronous tools, created on first use."""
    global _shared_executor
    with _shared_executor_lock:
        if _shared_executor is None:
            _shared_executor = ThreadPoolExecutor(TOOL_THREADS, thread_name_prefix="swarmlet-tool")
        return _shared_executor


@dataclass(slots=True)
class _Record:
    """What one client has learnt about one tool: where it runs and its quick pooled streak."""

    place: Literal["learning", "inline", "pool"] = "learning"
    quick_runs: int = 0


@dataclass(frozen=True, slots=True)
class _Timed:
    """A tool call's outcome (its value or its exception) and its wall time in seconds."""

    value: Any
    error: Exception | None
    seconds: float

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _timed(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Timed:
    """Call ``fn`` and time it, here (a worker thread, or the loop's thread inline)."""
    start = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # its time counts too; re-raised by _Timed.result
        return _Timed(None, exc, time.perf_counter() - start)
    return _Timed(value, None, time.perf_counter() - start)


class AutoExecutor(Executor):
    """Runs sync tools on a pool until they have shown they are quick, then on the loop's thread.

    One per client (``Swarm``): what it learns about a tool holds for all the client's runs, on
    every event loop. Tools are keyed by their function, held weakly; a callable that cannot be
    hashed or weakly referenced always runs on the pool. A run on the shared background loop of
    the sync bridge (Jupyter, nested sync calls) keeps its tools on the pool: that loop serves
    every thread's fallback runs, and an inline tool calling the sync API would wait for itself.

    The run loop calls :meth:`run` for each sync tool call; :meth:`submit` (any other work, a
    tool with a timeout) goes to the pool.

    Args:
        pool: the executor for pooled runs (``None``: the shared pool, :func:`shared_executor`).
    """

    def __init__(self, pool: Executor | None = None) -> None:
        self.pool = pool
        self._records: weakref.WeakKeyDictionary[Callable[..., Any], _Record] = (
            weakref.WeakKeyDictionary()
        )
        # One client may serve runs on several loops (the sync API has one per thread).
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn`` on the pool, like any pooled call."""
        return (self.pool or shared_executor()).submit(fn, *args, **kwargs)

    async def run(
        self, name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Call the sync tool ``fn`` (named ``name``) where it belongs now; return its result.

        Raises:
            Exception: whatever the tool raised.
        """
        record = self._record(fn)
        if record is not None and record.place == "inline" and _may_block_this_loop():
            return self.call_inline(name, fn, args, kwargs)
        loop = asyncio.get_running_loop()
        # copy_context keeps contextvars (tracing, request ids) visible inside the thread.
        context = contextvars.copy_context()
        timed = await loop.run_in_executor(self, context.run, _timed, fn, args, kwargs)
        if record is not None:
            self._pooled_done(record, timed.seconds)
        return timed.result()

    def runs_inline_now(self, fn: Callable[..., Any]) -> bool:
        """Whether a call of ``fn`` made now would run on this thread (see :meth:`call_inline`)."""
        record = self._record(fn)
        return record is not None and record.place == "inline" and _may_block_this_loop()

    def call_inline(
        self, name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Call ``fn`` on this thread now, for a tool :meth:`runs_inline_now` accepted.

        Raises:
            Exception: whatever the tool raised.
        """
        timed: _Timed = INLINE.call(_timed, fn, args, kwargs)
        if timed.seconds >= QUICK_SECONDS:  # the quick common case looks nothing up again
            self._demote(name, fn, timed.seconds)
        return timed.result()

    def _record(self, fn: Callable[..., Any]) -> _Record | None:
        """The record of ``fn``, made on its first call; ``None``: it can never run inline."""
        with self._lock:
            try:
                record = self._records.get(fn)
                if record is None:
                    record = self._records[fn] = _Record()
            except TypeError:  # unhashable, or cannot be weakly referenced
                return None
        return record

    def _pooled_done(self, record: _Record, seconds: float) -> None:
        with self._lock:
            if record.place != "learning":  # promoted or demoted meanwhile (another call)
                return
            if seconds >= QUICK_SECONDS:
                record.quick_runs = 0
                return
            record.quick_runs += 1
            if record.quick_runs >= PROMOTE_AFTER:
                record.place = "inline"

    def _demote(self, name: str, fn: Callable[..., Any], seconds: float) -> None:
        """Send ``fn`` back to the pool for good: an inline run took ``seconds``."""
        with self._lock:
            record = self._records.get(fn)
            if record is None or record.place == "pool":  # demoted by a concurrent call
                return
            record.place = "pool"
        logger.warning(
            "sync tool %r took %.1f ms on the event loop's thread, blocking the loop; it runs "
            'on the thread pool from now on. Swarm(sync_tools="threads") keeps sync tools '
            "off the loop.",
            name,
            seconds * 1000,
        )


def _may_block_this_loop() -> bool:
    """False on the sync bridge's shared loop (see :class:`AutoExecutor`)."""
    return asyncio.get_running_loop() is not shared_loop().loop_if_started()
