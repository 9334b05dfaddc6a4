"""Runs as server-side objects: started in the background, buffered, re-attachable, cancellable.

A run started through the server is an asyncio task owned by the :class:`RunManager`, not by
the HTTP request that asked for it. The task appends each event (already encoded as JSON text,
once) to its :class:`RunRecord`; any number of clients read the record from any position and
wait for more. So a client that disconnects mid-stream loses nothing: the run goes on (unless
it asked for ``on_disconnect="cancel"``), and the client can fetch the result or re-attach to
the events from where it left off (SSE ``Last-Event-ID``).

Besides the run's own events (:mod:`swarmlet.server.wire`), a record holds three of the
server's: ``run_started`` (first, with the run id), and at the end exactly one of
``run_completed`` (the loop's own), ``run_failed`` (``error``: type and message, plus the
partial ``response``) or ``run_cancelled``.

Finished records are kept for ``retention`` seconds so late clients can still read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from swarmlet.agent import Agent, Response
from swarmlet.core import Swarm
from swarmlet.events import Event, RunCompleted, RunFailed
from swarmlet.exceptions import RunError, SwarmletError
from swarmlet.server.wire import event_to_json, response_to_json

__all__ = ["RunManager", "RunRecord", "RunStatus"]

logger = logging.getLogger("swarmlet.server")

RunStatus = Literal["running", "completed", "failed", "cancelled"]

OnFinish = Callable[["RunRecord"], Awaitable[None]]
"""Called (awaited) when a run ends, before its final event is published."""


@dataclass(eq=False)
class RunRecord:
    """One run: its status, its events as JSON text, and its outcome once finished.

    Attributes:
        id: the run id (``run_<hex>``).
        thread_id: the thread the run belongs to, if any.
        status: ``running`` until it ends as ``completed``, ``failed`` or ``cancelled``.
        events: ``(type, json_text)`` for each event so far; an event's index is its SSE id.
        response: the run's response as JSON (also set, partially, when it failed).
        error: ``{"type", "message"}`` when it failed.
    """

    id: str
    thread_id: str | None = None
    status: RunStatus = "running"
    events: list[tuple[str, str]] = field(default_factory=list)
    response: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    task: asyncio.Task[None] | None = None
    _ended: bool = False
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def done(self) -> bool:
        """Whether the run has ended and its last event is published."""
        return self._ended

    async def publish(self, body: dict[str, Any]) -> None:
        """Append one event and wake every reader."""
        self.events.append((body["type"], json.dumps(body, ensure_ascii=False)))
        async with self._changed:
            self._changed.notify_all()

    async def follow(self, after: int = -1) -> AsyncIterator[tuple[int, str, str]]:
        """Yield ``(index, type, json_text)`` for every event after index ``after``, live."""
        index = after + 1
        while True:
            while index < len(self.events):
                kind, text = self.events[index]
                yield index, kind, text
                index += 1
            if self.done:
                return
            await self._wait_beyond(index)

    async def _wait_beyond(self, index: int) -> None:
        """Wait until event ``index`` exists or the run has ended."""
        async with self._changed:
            await self._changed.wait_for(lambda: index < len(self.events) or self.done)

    async def wait(self) -> None:
        """Return once the run has ended."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.done)

    def summary(self) -> dict[str, Any]:
        """The record as JSON for the API (without its events)."""
        return {
            "id": self.id,
            "thread_id": self.thread_id,
            "status": self.status,
            "response": self.response,
            "error": self.error,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "event_count": len(self.events),
        }


class RunManager:
    """Starts runs as background tasks and keeps their records.

    Args:
        swarm: the client the runs use.
        retention: seconds a finished run stays readable.
    """

    def __init__(self, swarm: Swarm, *, retention: float = 600.0) -> None:
        self.swarm = swarm
        self.retention = retention
        self._runs: dict[str, RunRecord] = {}

    def get(self, run_id: str) -> RunRecord | None:
        """The record of ``run_id``, if this process has it."""
        return self._runs.get(run_id)

    def start(
        self,
        agent: Agent,
        messages: list[dict[str, Any]],
        context_variables: dict[str, Any],
        *,
        stream: bool = True,
        max_turns: float = float("inf"),
        model_override: str | None = None,
        thread_id: str | None = None,
        on_finish: OnFinish | None = None,
    ) -> RunRecord:
        """Start a run in the background and return its record at once."""
        self._prune()
        record = RunRecord(id=f"run_{uuid.uuid4().hex}", thread_id=thread_id)
        events = self.swarm.events(
            agent,
            messages,
            context_variables,
            model_override,
            stream=stream,
            max_turns=max_turns,
        )
        record.task = asyncio.create_task(self._drive(record, events, on_finish))
        self._runs[record.id] = record
        return record

    def cancel(self, record: RunRecord) -> bool:
        """Ask a running run to stop; False when it had already ended."""
        if record.done or record.task is None:
            return False
        record.task.cancel()
        return True

    async def close(self) -> None:
        """Cancel every run still going (server shutdown) and wait for them to end."""
        tasks = [r.task for r in self._runs.values() if r.task is not None and not r.done]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drive(
        self, record: RunRecord, events: AsyncIterator[Event], on_finish: OnFinish | None
    ) -> None:
        started = {"type": "run_started", "run_id": record.id, "thread_id": record.thread_id}
        await record.publish(started)
        try:
            async with contextlib.aclosing(events):  # type: ignore[type-var]
                final = await _pump(record, events)
            record.status = "completed"
        except asyncio.CancelledError:
            record.status = "cancelled"
            final = {"type": "run_cancelled", "run_id": record.id}
        except Exception as exc:
            final = _failure(record, exc)
        await self._finish(record, final, on_finish)

    async def _finish(
        self, record: RunRecord, final: dict[str, Any], on_finish: OnFinish | None
    ) -> None:
        """Store the outcome (``on_finish``), then publish the last event and wake readers."""
        record.finished_at = time.time()
        if on_finish is not None:
            try:
                await on_finish(record)
            except Exception as exc:  # storing failed: the run's outcome must say so
                logger.exception("run %s: storing its outcome failed", record.id)
                final = _failure(record, exc)
        await record.publish(final)
        record._ended = True
        async with record._changed:
            record._changed.notify_all()

    def _prune(self) -> None:
        cutoff = time.time() - self.retention
        stale = [k for k, r in self._runs.items() if r.finished_at and r.finished_at < cutoff]
        for key in stale:
            del self._runs[key]


async def _pump(record: RunRecord, events: AsyncIterator[Event]) -> dict[str, Any]:
    """Publish the run's events; return the last one, held back until the outcome is stored."""
    async for event in events:
        if isinstance(event, RunFailed) and not event.path:
            continue  # the loop's own failure event: its exception follows, see _failure
        body = event_to_json(event)
        if isinstance(event, RunCompleted) and not getattr(event, "path", ()):
            record.response = body["response"]
            return body
        await record.publish(body)
    raise RuntimeError("the run ended without a run_completed event")


def _failure(record: RunRecord, exc: BaseException) -> dict[str, Any]:
    """Mark the run failed and build its ``run_failed`` event (type and message, no traceback)."""
    record.status = "failed"
    kind = type(exc).__name__
    if not isinstance(exc, SwarmletError):
        logger.error("run %s failed unexpectedly", record.id, exc_info=exc)
    record.error = {"type": kind, "message": str(exc)}
    partial = getattr(exc, "response", None) if isinstance(exc, RunError) else None
    if isinstance(partial, Response):
        record.response = response_to_json(partial)
    return {
        "type": "run_failed",
        "run_id": record.id,
        "error": record.error,
        "response": record.response,
    }
