"""Runs as server-side objects: started in the background, buffered, re-attachable, cancellable.

A run started through the server is an asyncio task owned by the :class:`RunManager`, not by
the HTTP request that asked for it. The task appends each event (already encoded as JSON text,
once) to its :class:`RunRecord`; any number of clients read the record from any position and
wait for more. So a client that disconnects mid-stream loses nothing: the run goes on (unless
it asked for ``on_disconnect="cancel"``), and the client can fetch the result or re-attach to
the events from where it left off (SSE ``Last-Event-ID``).

Besides the run's own events (:mod:`swarmlet.server.wire`), a record holds two of the
server's: ``run_created`` first (``run_id``, ``thread_id``) and ``run_ended`` last (the run's
summary: ``status`` -- ``completed``, ``failed`` or ``cancelled`` --, ``response``, ``error``).
``run_ended`` comes after the outcome is stored, so a reader that sees it can fetch the thread.

Finished records are kept for ``retention`` seconds so late clients can still read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from swarmlet.agent import Response
from swarmlet.events import Event, RunCompleted
from swarmlet.exceptions import RunError, SwarmletError
from swarmlet.server.wire import event_to_json, response_to_json

__all__ = ["RunManager", "RunRecord", "RunStatus"]

logger = logging.getLogger("swarmlet.server")

RunStatus = Literal["running", "completed", "paused", "failed", "cancelled"]

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
        """Append one event (stamped ``t``: seconds since the run started) and wake readers."""
        body["t"] = round(time.time() - self.created_at, 4)
        self.events.append((body["type"], json.dumps(body, ensure_ascii=False)))
        async with self._changed:
            self._changed.notify_all()

    async def follow(self, after: int = -1) -> AsyncIterator[tuple[int, str, str]]:
        """Yield ``(index, type, json_text)`` for every event after index ``after``, live."""
        async for batch in self.follow_batches(after):
            for item in batch:
                yield item

    async def follow_batches(self, after: int = -1) -> AsyncIterator[list[tuple[int, str, str]]]:
        """Like :meth:`follow`, but everything already there at once (one write per batch)."""
        index = after + 1
        while True:
            if index < len(self.events):
                batch = [(i, *self.events[i]) for i in range(index, len(self.events))]
                index += len(batch)
                yield batch
                continue
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
        retention: seconds a finished run stays readable.
    """

    def __init__(self, *, retention: float = 600.0) -> None:
        self.retention = retention
        self._runs: dict[str, RunRecord] = {}

    def get(self, run_id: str) -> RunRecord | None:
        """The record of ``run_id``, if this process has it."""
        return self._runs.get(run_id)

    def start(
        self,
        events: AsyncGenerator[Event, None],
        *,
        thread_id: str | None = None,
        on_finish: OnFinish | None = None,
    ) -> RunRecord:
        """Drive a run's events (from ``Swarm.events``) in the background; return its record."""
        self._prune()
        record = RunRecord(id=f"run_{uuid.uuid4().hex}", thread_id=thread_id)
        record.task = asyncio.create_task(self._drive(record, events, on_finish))
        self._runs[record.id] = record
        return record

    def for_thread(self, thread_id: str) -> list[RunRecord]:
        """This process's records of runs on ``thread_id``, oldest first."""
        return [r for r in self._runs.values() if r.thread_id == thread_id]

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
        self, record: RunRecord, events: AsyncGenerator[Event, None], on_finish: OnFinish | None
    ) -> None:
        await record.publish(
            {"type": "run_created", "run_id": record.id, "thread_id": record.thread_id}
        )
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    await record.publish(_encode(record, event))
            paused = (record.response or {}).get("interruptions")
            record.status = "paused" if paused else "completed"
        except asyncio.CancelledError:
            record.status = "cancelled"
        except Exception as exc:
            _failure(record, exc)
        await self._finish(record, on_finish)

    async def _finish(self, record: RunRecord, on_finish: OnFinish | None) -> None:
        """Store the outcome (``on_finish``), then publish ``run_ended`` and wake readers."""
        record.finished_at = time.time()
        if on_finish is not None:
            try:
                await on_finish(record)
            except Exception as exc:  # storing failed: the run's outcome must say so
                logger.exception("run %s: storing its outcome failed", record.id)
                _failure(record, exc)
        await record.publish({"type": "run_ended", **record.summary()})
        record._ended = True
        async with record._changed:
            record._changed.notify_all()

    def _prune(self) -> None:
        cutoff = time.time() - self.retention
        stale = [k for k, r in self._runs.items() if r.finished_at and r.finished_at < cutoff]
        for key in stale:
            del self._runs[key]


def _encode(record: RunRecord, event: Event) -> dict[str, Any]:
    """The event as JSON; the run's own completion also sets the record's response."""
    body = event_to_json(event)
    if isinstance(event, RunCompleted) and not event.path:
        record.response = body["response"]
    return body


def _failure(record: RunRecord, exc: BaseException) -> None:
    """Mark the run failed with the error's type and message (no traceback)."""
    record.status = "failed"
    kind = type(exc).__name__
    if not isinstance(exc, SwarmletError):
        logger.error("run %s failed unexpectedly", record.id, exc_info=exc)
    record.error = {"type": kind, "message": str(exc)}
    partial = getattr(exc, "response", None) if isinstance(exc, RunError) else None
    if isinstance(partial, Response):
        record.response = response_to_json(partial)
