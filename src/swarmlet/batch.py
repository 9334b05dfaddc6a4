"""Batch runs over a JSONL file, resumable: what ``swarmlet batch`` does.

Input: one JSON object per line, ``{"id": ..., "input": <text or message list>,
"context_variables": {...}}``; ``id`` is optional (the 1-based line number otherwise) and must be
unique; blank lines are skipped. The whole file is checked before anything runs, so a bad line
is reported with its number and costs no model call.

Output: one JSON object per input, appended as soon as that input finishes (so in completion
order, not input order)::

    {"id": 7, "output": ..., "agent": "Triage", "usage": null, "error": null}

``output`` is the final text, or the structured output as JSON; ``error`` is ``null`` or
``{"type": "ModelError", "message": "..."}`` (then ``output`` is ``null``).

Durability: each line is written with a single ``write(2)`` to a file opened with ``O_APPEND``,
so a process killed at any moment (even ``SIGKILL``) leaves every finished line in the file; the
file is ``fsync``-ed at most once a second while running and once at the end, so a machine
crash loses at most the last second. ``--resume`` reads the output file first: the ids in it are
skipped; a torn last line (no newline, or not JSON: the process died mid-write, or the machine
crashed) is cut off and its input runs again. The result: never a duplicate id, never a lost one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarmlet.agent import Agent, Response
from swarmlet.exceptions import RunError, SwarmletError, UsageError
from swarmlet.fanout import MapInput, MapProgress, RunInput, run_input
from swarmlet.output import encode_output
from swarmlet.usage import Usage

if TYPE_CHECKING:
    from swarmlet.core import Swarm

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchSummary",
    "RecordSink",
    "ResultWriter",
    "batch_client",
    "id_key",
    "pending_items",
    "read_done_ids",
    "read_inputs",
    "result_record",
    "run_local",
]

_FSYNC_INTERVAL = 1.0
"""Seconds between fsyncs of the output file while a batch runs."""


class BatchError(SwarmletError):
    """A batch stopped early (e.g. a Ray task died); the results written so far are kept."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input line: its id and the run it asks for."""

    id: Any
    run: RunInput

    def as_map_input(self) -> MapInput:
        """The input in the form ``Swarm.map`` takes."""
        return {"messages": self.run.messages, "context_variables": self.run.context_variables}


@dataclass
class BatchSummary:
    """Counts of one ``swarmlet batch`` invocation, and the token usage of its runs."""

    total: int
    skipped: int = 0
    succeeded: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def record(self, line: Mapping[str, Any]) -> None:
        """Count one written result line (and add its token usage to the total)."""
        if isinstance(line.get("usage"), dict):
            self.usage.merge(Usage.model_validate(line["usage"]))
        if line["error"] is None:
            self.succeeded += 1
            return
        self.failed += 1
        if len(self.failures) < 5:  # a few examples are enough for the summary
            self.failures.append(f"id {line['id']!r}: {line['error']['message']}")


def id_key(value: Any) -> str:
    """A canonical key for an id (``7`` and ``"7"`` are different ids)."""
    return json.dumps(value, sort_keys=True)


# --------------------------------------------------------------------------- reading inputs


def read_inputs(path: Path) -> list[BatchItem]:
    """Every input of a JSONL file, checked.

    Raises:
        UsageError: unreadable file, a line that is not a JSON object with ``input``, an
            input of the wrong shape, or a duplicate id (each names the line).
    """
    items: list[BatchItem] = []
    first_line: dict[str, int] = {}
    for number, text in _lines(path):
        item = _parse_input(text, number, path)
        key = id_key(item.id)
        if key in first_line:
            raise UsageError(
                f"{path}:{number}: id {item.id!r} was already used on line {first_line[key]}; "
                "ids must be unique for --resume to work"
            )
        first_line[key] = number
        items.append(item)
    return items


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as file:
            for number, text in enumerate(file, start=1):
                if text.strip():
                    yield number, text
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc}") from None


def _parse_input(text: str, number: int, path: Path) -> BatchItem:
    where = f"{path}:{number}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or "input" not in data:
        raise UsageError(f'{where}: expected an object with "input" (and optional "id")')
    unknown = sorted(set(data) - {"id", "input", "context_variables"})
    if unknown:
        raise UsageError(f"{where}: unknown keys {unknown}")
    item_id = data.get("id", number)
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
        raise UsageError(f"{where}: id must be a string or an integer, got {item_id!r}")
    context = data.get("context_variables") or {}
    if not isinstance(context, dict):
        raise UsageError(f"{where}: context_variables must be an object")
    try:
        run = run_input({"messages": data["input"], "context_variables": context})
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    return BatchItem(item_id, run)


# --------------------------------------------------------------------------- the output file


def read_done_ids(path: Path) -> set[str]:
    """The id keys already in an output file, cutting off a torn end first.

    A torn end is whatever follows the last good line when none of it is a good line: a
    write cut short by a kill, or the garbage a machine crash can leave. It is truncated away,
    so the next append starts on a fresh line.

    Raises:
        UsageError: a damaged line is followed by good ones (the file was not written by an
            interrupted batch); nothing is changed then.
    """
    if not path.exists():
        return set()
    data = path.read_bytes()
    done: set[str] = set()
    good_end = position = 0
    damaged_at: int | None = None
    for number, raw in enumerate(data.split(b"\n"), start=1):
        end = position + len(raw) + 1
        # Only newline-terminated lines count: a last line without one was cut short.
        record = _parse_record(raw) if raw.strip() and end <= len(data) else None
        if record is not None:
            if damaged_at is not None:
                raise UsageError(
                    f"{path}:{damaged_at}: not a result line, and result lines follow it; "
                    "refusing to resume over a file this command did not write"
                )
            done.add(id_key(record["id"]))
            good_end = end
        elif raw.strip() and damaged_at is None:
            damaged_at = number
        position = end
    if good_end < len(data):
        with path.open("r+b") as file:  # drop the torn bytes so appends start on a fresh line
            file.truncate(good_end)
            os.fsync(file.fileno())
    return done


def _parse_record(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "id" in record else None


class ResultWriter:
    """Appends result lines durably (see the module docstring for the policy)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._clock = clock
        self._last_sync = clock()
        self.written = 0

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record as one line, with one ``write`` call."""
        line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()
        view = memoryview(line)
        while view:  # a regular file takes it all at once; loop only for the rare short write
            view = view[os.write(self._fd, view) :]
        self.written += 1
        if self._clock() - self._last_sync >= _FSYNC_INTERVAL:
            os.fsync(self._fd)
            self._last_sync = self._clock()

    def close(self) -> None:
        """fsync and close the file."""
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def result_record(item_id: Any, result: Response | RunError) -> dict[str, Any]:
    """The output line for one finished input."""
    if isinstance(result, RunError):
        return {
            "id": item_id,
            "output": None,
            "agent": result.agent_name,
            "usage": _usage(result.response),
            "error": {"type": type(result).__name__, "message": str(result)},
        }
    return {
        "id": item_id,
        "output": _output(result.output),
        "agent": result.agent.name if result.agent is not None else None,
        "usage": _usage(result),
        "error": None,
    }


def _output(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.loads(encode_output(value))


def _usage(response: Response | None) -> Any:
    """Token usage when the run tracked it (``Response.usage``), else ``None``."""
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    if hasattr(usage, "model_dump"):
        return usage.model_dump(mode="json")
    if hasattr(usage, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(usage)
    return usage


def batch_client(client: Any, connections: int) -> Any:
    """The client a batch runs on: an SDK client for an endpoint becomes a ``FastHTTPModel``.

    Same endpoint, key and headers (both read the ``OPENAI_*`` environment), but a fraction of
    the SDK's CPU per request: a 3,000-input batch spent most of its client CPU in the SDK's
    request path (docs/benchmarks.md). Providers (``LocalModel``, ``ScriptedModel``...) and
    ``None`` are kept as they are.
    """
    from swarmlet.models.base import Model

    if client is None or isinstance(client, Model) or not hasattr(client, "base_url"):
        return client
    from swarmlet.models.fast_http import FastHTTPModel

    return FastHTTPModel.from_env(
        base_url=str(client.base_url), load_dotenv=False, max_connections=connections
    )


def pending_items(items: Sequence[BatchItem], done: set[str]) -> list[BatchItem]:
    """The inputs whose id is not in ``done``, in file order."""
    return [item for item in items if id_key(item.id) not in done]


RecordSink = Callable[[dict[str, Any]], None]
"""Receives each finished input's output record (writes it, counts it, advances a bar)."""


async def run_local(
    client: Swarm,
    agent: Agent,
    items: Sequence[BatchItem],
    sink: RecordSink,
    *,
    concurrency: int,
    run_options: Mapping[str, Any],
) -> None:
    """Run ``items`` in this process with ``client.map_async``, passing records to ``sink``."""

    def finished(update: MapProgress) -> None:
        sink(result_record(items[update.index].id, update.result))

    await client.map_async(
        agent,
        [item.as_map_input() for item in items],
        concurrency=concurrency,
        progress=finished,
        **run_options,
    )
