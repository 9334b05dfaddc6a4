"""``swarmlet batch --ray``: the same batch, spread over a Ray cluster (extra ``swarmlet[ray]``).

The driver (the ``swarmlet batch`` process) splits the pending inputs into one slice per CPU
of the cluster and starts one Ray task per slice. Each task imports the agent itself (from the
same ``MODULE:AGENT``), builds its own client from the same model flags, and runs its slice
with ``Swarm.map_async`` at ``--concurrency``. A task is a Ray *streaming generator*: it yields
each input's result record as soon as that input finishes, and the driver writes it to the
output file at once, so the output file, ``--resume`` and the progress bar behave exactly as
in a local batch. If a task dies, the results already streamed are kept; its other inputs are
simply not in the file, and ``--resume`` runs them again.

Pointing it at a real cluster: ``swarmlet batch app.py:agent in.jsonl --out out.jsonl --ray
ray://head-node:10001`` (or ``--ray auto`` on a cluster node). The agent's module must be
importable on the workers (same path, or shipped with the cluster's runtime environment), and
the endpoint's ``OPENAI_*`` variables must be set there: the driver never ships keys.
"""

from __future__ import annotations

import asyncio
import math
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmlet.batch import BatchError, BatchItem, RecordSink, batch_client, result_record
from swarmlet.cli_batch import LOCAL_RAY, BatchJob
from swarmlet.exceptions import ConfigurationError

__all__ = ["SliceSpec", "run_on_ray", "run_slice"]


@dataclass(frozen=True)
class SliceSpec:
    """What a Ray task needs besides its inputs: how to load the agent and reach the model."""

    target: str
    model: str | None
    base_url: str | None
    concurrency: int
    max_turns: int | None
    context_variables: dict[str, Any]


def run_on_ray(job: BatchJob, todo: Sequence[BatchItem], sink: RecordSink) -> None:
    """Run ``todo`` on Ray, passing every result record to ``sink`` as it arrives.

    Uses the Ray instance already initialised in this process if there is one; otherwise
    starts a local one (``job.ray_address == "local"``) or connects to ``job.ray_address``.

    Raises:
        ConfigurationError: Ray is not installed.
        BatchError: a task failed (the results streamed before it were passed on).
    """
    ray = _import_ray()
    if not ray.is_initialized():
        address = None if job.ray_address == LOCAL_RAY else job.ray_address
        ray.init(address=address, include_dashboard=False, logging_level="WARNING")
    spec = SliceSpec(
        target=_absolute_target(job.target),
        model=job.model,
        base_url=job.base_url,
        concurrency=job.concurrency,
        max_turns=job.max_turns,
        context_variables=job.context_variables,
    )
    task = ray.remote(run_slice).options(num_returns="streaming", max_retries=0)
    slices = _slices(list(todo), int(ray.cluster_resources().get("CPU", 1)))
    generators = [task.remote(spec, part) for part in slices]
    try:
        _drain(ray, generators, sink)
    except BaseException:
        for generator in generators:  # Ctrl-C or a failed task: stop the other tasks too
            ray.cancel(generator, force=False)
        raise


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(f"--ray needs Ray: pip install 'swarmlet[ray]' ({exc})") from None
    return ray


def _absolute_target(target: str) -> str:
    """``path/app.py:agent`` with an absolute path, so workers find the file from any cwd."""
    module, _, attribute = target.rpartition(":")
    if module.endswith(".py") or os.sep in module:
        return f"{Path(module).resolve()}:{attribute}"
    return target


def _slices(items: list[BatchItem], parts: int) -> list[list[BatchItem]]:
    size = max(1, math.ceil(len(items) / max(1, parts)))
    return [items[start : start + size] for start in range(0, len(items), size)]


def _drain(ray: Any, generators: list[Any], sink: RecordSink) -> None:
    """Pass records on as any task yields one, until every task has finished."""
    pending = list(generators)
    while pending:
        ready, _ = ray.wait(pending, num_returns=1, timeout=None)
        for generator in ready:
            try:
                ref = next(generator)
            except StopIteration:
                pending.remove(generator)
                continue
            try:
                record = ray.get(ref)
            except Exception as exc:
                raise BatchError(
                    f"a Ray task failed: {exc}; the results before it are in the output file, "
                    "run again with --resume to finish"
                ) from exc
            sink(record)


# --------------------------------------------------------------------------- on the worker

_DONE = object()


def run_slice(spec: SliceSpec, items: Sequence[BatchItem]) -> Iterator[dict[str, Any]]:
    """The Ray task: run ``items`` with a client of its own, yielding records as they finish."""
    results: queue.Queue[Any] = queue.Queue()
    worker = threading.Thread(target=_run_in_loop, args=(spec, items, results), daemon=True)
    worker.start()
    while (record := results.get()) is not _DONE:
        if isinstance(record, BaseException):
            raise record
        yield record
    worker.join()


def _run_in_loop(spec: SliceSpec, items: Sequence[BatchItem], results: queue.Queue[Any]) -> None:
    try:
        asyncio.run(_run(spec, items, results))
    except BaseException as exc:  # re-raised by the generator, in the task's own thread
        results.put(exc)
    finally:
        results.put(_DONE)


async def _run(spec: SliceSpec, items: Sequence[BatchItem], results: queue.Queue[Any]) -> None:
    from swarmlet.cli import load_agent
    from swarmlet.config import resolve_client
    from swarmlet.core import Swarm
    from swarmlet.fanout import MapProgress
    from swarmlet.models.base import Model

    agent = load_agent(spec.target)
    own_model = isinstance(agent.model, Model) and spec.model is None and spec.base_url is None
    resolved = None if own_model else resolve_client(spec.model, spec.base_url)
    client = Swarm(client=batch_client(resolved.client if resolved else None, spec.concurrency))
    options: dict[str, Any] = {"model_override": resolved.model_override if resolved else None}
    if spec.max_turns is not None:
        options["max_turns"] = spec.max_turns

    def finished(update: MapProgress) -> None:
        results.put(result_record(items[update.index].id, update.result))

    await client.map_async(
        agent,
        [item.as_map_input() for item in items],
        concurrency=spec.concurrency,
        context_variables=spec.context_variables,
        progress=finished,
        **options,
    )
