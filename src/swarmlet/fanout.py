"""Fan-out from code: one agent over many inputs, at bounded concurrency (``Swarm.map``).

Each input becomes one independent run. Results come back in input order, one
:class:`~swarmlet.agent.Response` or one :class:`~swarmlet.exceptions.RunError` per input, so one
input's failure never loses the others' results. A fixed pool of ``concurrency`` worker tasks
pulls the next input index, so 10,000 inputs never mean 10,000 pending tasks; cancelling the
call (task cancellation, Ctrl-C in the sync ``map``) cancels every worker and waits for them.

What counts as an item's failure: any :class:`RunError` (model errors, ``max_turns`` is not one
— like ``run``, reaching it returns the response so far), and any other exception a run raises
(a callable ``instructions`` raising ``KeyError``, say), wrapped in a ``RunError`` whose
``__cause__`` is the original. A :class:`~swarmlet.exceptions.UsageError` or
``ConfigurationError`` (no API key) is the caller's bug, the same for every item: it stops the
whole call.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from swarmlet.agent import Agent, Response
from swarmlet.exceptions import RunError, SwarmletError, UsageError

if TYPE_CHECKING:
    from swarmlet.core import Swarm

__all__ = ["MapInput", "MapProgress", "ProgressCallback", "RunInput", "map_runs", "run_input"]

MapInput = str | Sequence[Mapping[str, Any]] | Mapping[str, Any]
"""One input of ``map``: a user message (text), a message list, or a dict with ``messages``
(text or a message list) and optional ``context_variables``."""


@dataclass(frozen=True, slots=True)
class RunInput:
    """One input of ``map`` in normal form: the messages and context variables of one run."""

    messages: list[dict[str, Any]]
    context_variables: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MapProgress:
    """Passed to ``map``'s ``progress`` callback each time an input finishes.

    Attributes:
        index: position of the finished input in ``inputs``.
        result: its :class:`Response`, or the :class:`RunError` it failed with.
        done: how many inputs have finished so far (this one included).
        total: how many inputs there are.
    """

    index: int
    result: Response | RunError
    done: int
    total: int


ProgressCallback = Callable[[MapProgress], Awaitable[object] | object]


def run_input(item: MapInput, base_context: Mapping[str, Any] | None = None) -> RunInput:
    """Normalise one ``map`` input; ``base_context`` is overlaid by the input's own variables.

    Raises:
        UsageError: the input has none of the accepted shapes.
    """
    context = dict(base_context or {})
    if isinstance(item, Mapping):
        if "messages" not in item:
            raise UsageError(
                "a dict input needs 'messages' (and optionally 'context_variables'); "
                f"got keys {sorted(item)}"
            )
        context.update(item.get("context_variables") or {})
        return RunInput(_messages(item["messages"]), context)
    return RunInput(_messages(item), context)


def _messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, Sequence) and all(isinstance(m, Mapping) and "role" in m for m in value):
        return [dict(m) for m in value]
    raise UsageError(
        "an input must be text, a list of message dicts (each with a 'role'), or a dict with "
        f"'messages'; got {type(value).__name__}"
    )


async def map_runs(
    client: Swarm,
    agent: Agent,
    inputs: Iterable[MapInput],
    *,
    concurrency: int = 16,
    context_variables: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    run_options: Mapping[str, Any] | None = None,
) -> list[Response | RunError]:
    """Run ``agent`` once per input (see :meth:`swarmlet.Swarm.map_async`)."""
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}")
    items = [run_input(item, context_variables) for item in inputs]  # bad input: fail first
    results: list[Response | RunError | None] = [None] * len(items)
    pending = iter(range(len(items)))
    done = 0

    async def worker() -> None:
        nonlocal done
        for index in pending:  # a shared iterator: each index is taken by exactly one worker
            result = await _run_one(client, agent, items[index], run_options or {})
            results[index] = result
            done += 1
            if progress is not None:
                await _call(progress, MapProgress(index, result, done, len(items)))

    await _all_or_nothing([worker() for _ in range(min(concurrency, len(items)))])
    return [r for r in results if r is not None]


async def _run_one(
    client: Swarm, agent: Agent, item: RunInput, options: Mapping[str, Any]
) -> Response | RunError:
    try:
        return await client.run_async(agent, item.messages, item.context_variables, **options)
    except RunError as exc:
        return exc
    except SwarmletError:
        raise  # misuse or missing configuration: the same for every input, stop everything
    except Exception as exc:
        error = RunError(f"the run raised {type(exc).__name__}: {exc}", agent_name=agent.name)
        error.__cause__ = exc
        return error


async def _call(callback: ProgressCallback, value: MapProgress) -> None:
    outcome = callback(value)
    if inspect.isawaitable(outcome):
        await outcome


async def _all_or_nothing(coroutines: list[Any]) -> None:
    """Run the workers; if one raises or the caller cancels, cancel the rest and wait for them."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        # Wait until every worker has really stopped (its run closed, its HTTP request dropped).
        await asyncio.gather(*tasks, return_exceptions=True)
