"""Running a step while a check runs beside it (parallel input guardrails).

With parallel input guardrails the first model turn streams while the guardrails decide. The
turn runs in a task of its own that feeds a queue (so the model stream is opened, read and
cancelled in one task); its items are passed on as they come, except the turn's outcome,
which waits for the check. When the check trips, the turn is cancelled at once and the
check's outcome (``Tripped``) replaces the turn's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from swarmlet.outcomes import OUTCOME_TYPES

__all__ = ["race"]

_DONE = object()


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


async def race(
    step: AsyncGenerator[Any, None], check: asyncio.Task[Any]
) -> AsyncGenerator[Any, None]:
    """Yield ``step``'s items while ``check`` runs; ``check``'s items come when it is done.

    If ``check``'s items include an outcome, ``step`` is cancelled and that outcome ends
    this generator; otherwise ``step``'s own outcome does.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()
    pump = asyncio.ensure_future(_pump(step, queue))
    held: list[Any] = []  # the turn's outcome, which waits for the check
    try:
        async for item in _drain(queue, check):
            if isinstance(item, OUTCOME_TYPES):
                held.append(item)
            else:
                yield item
        verdict = await check
        for item in verdict:
            yield item
        if any(isinstance(item, OUTCOME_TYPES) for item in verdict):
            return  # tripped: the turn is cancelled below
        async for item in _drain(queue, None):
            if isinstance(item, OUTCOME_TYPES):
                held.append(item)
            else:
                yield item
        for item in held:
            yield item
    finally:
        pump.cancel()


async def _drain(
    queue: asyncio.Queue[Any], until: asyncio.Task[Any] | None
) -> AsyncGenerator[Any, None]:
    """Items from ``queue`` until the step is done, or (if given) ``until`` finishes first."""
    while True:
        getter = asyncio.ensure_future(queue.get())
        if until is not None:
            await asyncio.wait({getter, until}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return
        item = await getter
        if item is _DONE:
            queue.put_nowait(_DONE)  # so that a later drain ends too
            return
        if isinstance(item, _Failed):
            raise item.error
        yield item


async def _pump(step: AsyncGenerator[Any, None], queue: asyncio.Queue[Any]) -> None:
    """Run ``step`` to its end in this task, passing its items (or its error) on."""
    try:
        async for item in step:
            queue.put_nowait(item)
    except BaseException as exc:  # the consumer re-raises it
        queue.put_nowait(_Failed(exc))
    finally:
        queue.put_nowait(_DONE)
