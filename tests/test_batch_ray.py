"""swarmlet batch --ray on a local Ray instance: same records as a local map, resume works."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from rich.console import Console

from swarmlet import Response, Swarm
from swarmlet.batch import read_inputs, result_record
from swarmlet.cli import load_agent
from swarmlet.cli_batch import LOCAL_RAY, BatchJob, execute_batch
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing.server import ScriptedServer
from tests.batch_support import http_responder

SUPPORT = Path(__file__).with_name("batch_support.py")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def echo_server() -> Iterator[ScriptedServer]:
    with ScriptedServer(responder=http_responder) as srv:
        yield srv


def _job(tmp_path: Path, server: ScriptedServer, *, resume: bool = False) -> BatchJob:
    return BatchJob(
        target=f"{SUPPORT}:http_echo",
        agent=load_agent(f"{SUPPORT}:http_echo"),
        inputs=tmp_path / "in.jsonl",
        out=tmp_path / "out.jsonl",
        concurrency=4,
        resume=resume,
        ray_address=LOCAL_RAY,
        base_url=server.base_url,
    )


def test_ray_batch_gives_the_same_records_as_local_map(
    local_ray: None, tmp_path: Path, echo_server: ScriptedServer
) -> None:
    lines = [{"input": f"q{i}"} for i in range(40)] + [{"id": "bad", "input": "fail now"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    job = _job(tmp_path, echo_server)
    code = execute_batch(job, None, Console(file=io.StringIO()))
    assert code == 1  # the "bad" input failed

    ray_records = {r["id"]: r for r in _records(job.out)}
    assert len(_records(job.out)) == 41  # no duplicates

    items = read_inputs(job.inputs)
    client = Swarm(client=FastHTTPModel(base_url=echo_server.base_url, max_retries=0))
    local = client.map(job.agent, [item.as_map_input() for item in items])
    expected = {
        item.id: json.loads(json.dumps(result_record(item.id, result)))
        for item, result in zip(items, local, strict=True)
    }
    assert set(ray_records) == set(expected)
    for key, record in expected.items():
        assert ray_records[key]["output"] == record["output"]
        assert ray_records[key]["agent"] == record["agent"]
        assert (ray_records[key]["error"] is None) == (record["error"] is None)
    assert isinstance(local[0], Response)


def test_ray_batch_resumes(local_ray: None, tmp_path: Path, echo_server: ScriptedServer) -> None:
    (tmp_path / "in.jsonl").write_text("".join(f'{{"input": "r{i}"}}\n' for i in range(10)))
    (tmp_path / "out.jsonl").write_text('{"id": 3, "output": "kept", "error": null}\n{"id')
    job = _job(tmp_path, echo_server, resume=True)
    assert execute_batch(job, None, Console(file=open(tmp_path / "log", "w"))) == 0  # noqa: SIM115
    records = _records(job.out)
    assert sorted(r["id"] for r in records) == list(range(1, 11))
    assert len(echo_server.requests) == 9
    assert {r["id"]: r["output"] for r in records}[3] == "kept"


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
