"""Server-sent event streams of a run's record (sse-starlette does the wire protocol and pings).

Each SSE message carries one event: ``event:`` its type, ``id:`` its index in the run (send it
back as ``Last-Event-ID``, or ``?after=``, to re-attach without gaps or repeats), ``data:`` the
event as JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse

from swarmlet.server.runs import RunManager, RunRecord

__all__ = ["PING_SECONDS", "run_event_stream"]

PING_SECONDS = 15
"""A comment line is sent this often while a run is quiet, so proxies keep the stream open."""


def run_event_stream(
    runs: RunManager, record: RunRecord, *, after: int = -1, cancel_on_disconnect: bool = False
) -> EventSourceResponse:
    """An SSE response following ``record`` from event index ``after + 1`` until it ends."""
    return EventSourceResponse(
        _messages(runs, record, after, cancel_on_disconnect),
        ping=PING_SECONDS,
        headers={"X-Swarmlet-Run-Id": record.id, "Cache-Control": "no-store"},
    )


async def _messages(
    runs: RunManager, record: RunRecord, after: int, cancel_on_disconnect: bool
) -> AsyncIterator[bytes]:
    try:
        async for batch in record.follow_batches(after):
            # Events that are already there go out in one write: a write per event cost more
            # server CPU than the rest of the stream (docs/benchmarks.md). The JSON text is one
            # line (no raw newlines), so each event is exactly these three lines.
            yield "".join(
                f"id: {index}\nevent: {kind}\ndata: {text}\n\n" for index, kind, text in batch
            ).encode()
    finally:
        # Reached early only when the client went away (sse-starlette cancels us then).
        if cancel_on_disconnect and not record.done:
            runs.cancel(record)
