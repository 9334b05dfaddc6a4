"""Driving ``swarmlet batch``: check the files, pick the runner, show progress, summarise.

The file formats, the durability policy and the local runner live in :mod:`swarmlet.batch`;
the Ray runner in :mod:`swarmlet.batch_ray`. This module only wires them to the terminal.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from swarmlet.agent import Agent
from swarmlet.batch import (
    BatchError,
    BatchSummary,
    ResultWriter,
    batch_client,
    pending_items,
    read_done_ids,
    read_inputs,
    run_local,
)
from swarmlet.config import ResolvedModel
from swarmlet.exceptions import UsageError

__all__ = ["LOCAL_RAY", "BatchJob", "execute_batch", "ray_flag_with_value"]

LOCAL_RAY = "local"
"""``--ray`` value meaning "start a Ray instance on this machine" (what ``--ray`` alone means)."""

_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[\w.\-]+:\d+)$")


def ray_flag_with_value(argv: list[str]) -> list[str]:
    """Let ``--ray`` take an optional value: ``--ray`` alone becomes ``--ray=local``.

    The next argument is taken as the address only if it looks like one (``auto``,
    ``local``, ``ray://...`` or ``host:port``), so ``--ray app.py:agent in.jsonl`` still works.
    """
    result: list[str] = []
    tokens = iter(range(len(argv)))
    for index in tokens:
        token = argv[index]
        if token != "--ray":
            result.append(token)
            continue
        following = argv[index + 1] if index + 1 < len(argv) else None
        if following is not None and _ADDRESS.match(following):
            result.append(f"--ray={following}")
            next(tokens)
        else:
            result.append(f"--ray={LOCAL_RAY}")
    return result


@dataclass
class BatchJob:
    """Everything ``swarmlet batch`` was asked to do."""

    target: str
    agent: Agent
    inputs: Path
    out: Path
    concurrency: int = 64
    resume: bool = False
    ray_address: str | None = None
    context_variables: dict[str, Any] = field(default_factory=dict)
    max_turns: int | None = None
    model: str | None = None
    base_url: str | None = None

    def run_options(self, model_override: str | None) -> dict[str, Any]:
        """Keyword arguments for ``map_async`` besides the inputs."""
        options: dict[str, Any] = {"model_override": model_override}
        if self.max_turns is not None:
            options["max_turns"] = self.max_turns
        if self.context_variables:
            options["context_variables"] = self.context_variables
        return options


def execute_batch(job: BatchJob, resolved: ResolvedModel | None, console: Console) -> int:
    """Run the batch; return the exit code (0 all succeeded, 1 some failed, 130 interrupted).

    Raises:
        UsageError: a bad input file, or an existing output file without ``--resume``.
    """
    items = read_inputs(job.inputs)
    if not job.resume and job.out.exists() and job.out.stat().st_size > 0:
        raise UsageError(
            f"{job.out} already has results; pass --resume to continue it, or choose another "
            "--out (nothing was run or changed)"
        )
    done = read_done_ids(job.out) if job.resume else set()
    todo = pending_items(items, done)
    summary = BatchSummary(total=len(items), skipped=len(items) - len(todo))
    with ResultWriter(job.out) as writer, _progress(console, summary) as advance:

        def sink(record: dict[str, Any]) -> None:
            writer.write(record)
            summary.record(record)
            advance()

        try:
            _run(job, resolved, todo, sink)
        except KeyboardInterrupt:
            console.print(
                f"Interrupted after {writer.written} new results; run the same command with "
                "--resume to continue.",
                style="yellow",
                markup=False,
            )
            return 130
        except BatchError as exc:
            _print_summary(console, summary, job.out)
            console.print(f"Error: {exc}", style="red", markup=False, highlight=False)
            return 1
    _print_summary(console, summary, job.out)
    return 1 if summary.failed else 0


def _run(job: BatchJob, resolved: ResolvedModel | None, todo: list[Any], sink: Any) -> None:
    if not todo:
        return
    if job.ray_address is not None:
        from swarmlet.batch_ray import run_on_ray  # Ray is an optional extra

        run_on_ray(job, todo, sink)
        return
    from swarmlet.core import Swarm

    client = Swarm(client=batch_client(resolved.client if resolved else None, job.concurrency))
    options = job.run_options(resolved.model_override if resolved else None)
    asyncio.run(
        run_local(client, job.agent, todo, sink, concurrency=job.concurrency, run_options=options)
    )


@contextmanager
def _progress(console: Console, summary: BatchSummary) -> Iterator[Callable[[], None]]:
    """A rich progress bar over all inputs (resumed ones count as done); yields ``advance``."""
    columns = (
        TextColumn("batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("runs", total=summary.total, completed=summary.skipped, failed=0)

        def advance() -> None:
            progress.update(task, advance=1, failed=summary.failed)

        yield advance


def _print_summary(console: Console, summary: BatchSummary, out: Path) -> None:
    parts = [f"{summary.succeeded} succeeded", f"{summary.failed} failed"]
    if summary.skipped:
        parts.append(f"{summary.skipped} already in {out}")
    console.print(f"Batch done: {', '.join(parts)}.", markup=False, highlight=False)
    if summary.usage.requests:
        console.print(f"Usage: {summary.usage.summary()}", markup=False, highlight=False)
    for failure in summary.failures:
        console.print(f"  {failure}", style="red", markup=False, highlight=False)
