"""The tool call running now, and how it adds events to its run's stream.

While a run executes a tool call, :func:`current_call` returns a :class:`RunningCall` for it
(in coroutine tools, and in synchronous tools' worker threads, which get a copy of the
context). A tool that runs something observable of its own — an agent used as a tool runs a
whole sub-run — passes that work's events to :meth:`RunningCall.emit`: they appear in the
calling run's event stream while the tool is still running, tagged with the call's id in
their ``path`` (see :mod:`swarmlet.events`), before the call's ``ToolCallFinished``.

A tool that runs a sub-run which pauses for human approval raises :class:`ToolInterrupted`
with the sub-run's state; the calling run pauses too, and later resumes the call with
:attr:`RunningCall.resume_state` set (see :mod:`swarmlet.state`).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from swarmlet.agent import Agent
from swarmlet.events import Event, RunCompleted, RunFailed, with_origin
from swarmlet.models.base import Model, ToolCall

if TYPE_CHECKING:
    from swarmlet.state import RunState

__all__ = ["ParentRun", "RunningCall", "ToolInterrupted", "current_call"]


@dataclass(frozen=True, slots=True)
class ParentRun:
    """What a sub-run started by a tool reuses from the run executing that tool.

    Attributes:
        resolve: finds the provider serving an agent (the calling client's rule).
        executor: the thread pool for synchronous tools.
        stream: whether the run calls its models streaming.
        model_override: the run's ``model_override``.
    """

    resolve: Callable[[Agent], Model]
    executor: Executor | None
    stream: bool
    model_override: str | None


@dataclass(frozen=True, slots=True)
class RunningCall:
    """A tool call being executed by a run.

    Attributes:
        call: the call as the model sent it (``call.id`` is its id in the run's history).
        agent: the agent whose tool this is.
        run: what a sub-run started by this tool reuses from the run (``None`` when the
            tool phase was entered without it).
        resume_state: when the run resumes a call whose sub-run paused for approval, that
            sub-run's state: an agent-tool continues it (``resumed=True``) instead of
            starting a new sub-run. ``None`` otherwise.
    """

    call: ToolCall
    agent: Agent
    _sink: Callable[[Event], None]
    _loop: asyncio.AbstractEventLoop
    _loop_thread: int
    run: ParentRun | None = None
    resume_state: RunState | None = None

    def emit(self, event: Event) -> None:
        """Add ``event`` to the run's stream, tagged as coming from this call.

        Safe to call from the run's event loop and from a worker thread.
        """
        tagged = with_origin(event, self.call.id)
        if threading.get_ident() == self._loop_thread:
            self._sink(tagged)
        else:
            self._loop.call_soon_threadsafe(self._sink, tagged)


_current: contextvars.ContextVar[RunningCall | None] = contextvars.ContextVar(
    "swarmlet_running_call", default=None
)


def current_call() -> RunningCall | None:
    """The tool call being executed in this context, or ``None`` outside a tool."""
    return _current.get()


def enter_call(
    call: ToolCall,
    agent: Agent,
    sink: Callable[[Event], None],
    run: ParentRun | None = None,
    resume_state: RunState | None = None,
) -> None:
    """Make ``call`` current for the rest of this task (the tool phase runs each in its own)."""
    loop = asyncio.get_running_loop()
    thread = threading.get_ident()
    _current.set(RunningCall(call, agent, sink, loop, thread, run, resume_state))


class ToolInterrupted(BaseException):
    """Raised by a tool whose sub-run paused for approval (an agent-tool), with its state.

    A ``BaseException``, like ``asyncio.CancelledError``: it is control flow, and an
    ``except Exception`` around the sub-run (or the run's own tool error handling) must not
    turn it into an error message for the model.

    The calling run records ``state`` as the call's sub-run, surfaces its interruptions (with
    the call's id in their ``path``) and pauses too. When it resumes and the sub-run's calls
    are decided, the tool is called again with :attr:`RunningCall.resume_state` set.
    """

    def __init__(self, state: RunState) -> None:
        super().__init__("the tool's sub-run paused for approval")
        self.state = state


def record_sub_run(state: RunState, event: Event) -> None:
    """Keep a sub-run's final response (``Response.sub_runs``) when ``event`` ends one.

    A completed sub-run's :class:`RunCompleted`, or a failed one's :class:`RunFailed` (its
    messages up to the failure), keyed by the event's path joined with ``/``.
    """
    if not event.path:
        return
    if isinstance(event, RunCompleted):
        state.sub_runs["/".join(event.path)] = event.response
    elif isinstance(event, RunFailed) and event.error.response is not None:
        state.sub_runs["/".join(event.path)] = event.error.response
