"""swarmlet batch: input checks, output records, resume (incl. after SIGKILL), torn lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from swarmlet.batch import id_key, read_done_ids, read_inputs
from swarmlet.cli import app
from swarmlet.cli_batch import ray_flag_with_value
from swarmlet.exceptions import UsageError
from swarmlet.testing.server import ScriptedServer
from tests.batch_support import http_responder

SUPPORT = Path(__file__).with_name("batch_support.py")


def write_inputs(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def echo_server() -> Iterator[ScriptedServer]:
    with ScriptedServer(responder=http_responder) as srv:
        yield srv


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["batch", *args])


# ----------------------------------------------------------------------------- inputs


def test_inputs_ids_default_to_line_numbers_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"input": "a"}\n\n{"id": "x", "input": [{"role": "user", "content": "b"}],'
        ' "context_variables": {"k": 1}}\n',
        encoding="utf-8",
    )
    first, second = read_inputs(path)
    assert first.id == 1 and first.run.messages == [{"role": "user", "content": "a"}]
    assert second.id == "x" and second.run.context_variables == {"k": 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"input": "a"}\n{not json\n', "in.jsonl:2: not valid JSON"),
        ('{"id": 1, "input": "a"}\n{"id": 1, "input": "b"}\n', "already used on line 1"),
        ('{"text": "a"}\n', 'expected an object with "input"'),
        ('{"input": 5}\n', "in.jsonl:1: an input must be text"),
        ('{"input": "a", "extra": 1}\n', "unknown keys ['extra']"),
        ('{"id": 1.5, "input": "a"}\n', "id must be a string or an integer"),
    ],
)
def test_a_bad_input_line_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_inputs(path)


# ----------------------------------------------------------------------------- output file


def test_resume_cuts_a_torn_last_line_and_keeps_the_good_ones(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    good = '{"id": 1, "output": "a", "error": null}\n{"id": "2", "output": "b", "error": null}\n'
    out.write_bytes(good.encode() + b'{"id": 3, "outp')
    assert read_done_ids(out) == {id_key(1), id_key("2")}
    assert out.read_text(encoding="utf-8") == good  # the torn bytes are gone


def test_a_complete_looking_last_line_without_newline_is_treated_as_torn(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": 1, "error": null}\n{"id": 2, "error": null}')
    assert read_done_ids(out) == {id_key(1)}
    assert out.read_bytes() == b'{"id": 1, "error": null}\n'


def test_crash_garbage_at_the_end_is_cut_but_damage_in_the_middle_is_refused(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": 1}\n\x00\x00\x00\n\x00\x00')
    assert read_done_ids(out) == {id_key(1)}
    assert out.read_bytes() == b'{"id": 1}\n'
    out.write_bytes(b'{"id": 1}\nnot a record\n{"id": 2}\n')
    with pytest.raises(UsageError, match=r"out\.jsonl:2"):
        read_done_ids(out)
    assert out.read_bytes() == b'{"id": 1}\nnot a record\n{"id": 2}\n'  # left untouched


# ----------------------------------------------------------------------------- the command


def test_batch_writes_one_record_per_input_over_http(
    tmp_path: Path, echo_server: ScriptedServer
) -> None:
    inputs = write_inputs(
        tmp_path / "in.jsonl",
        [{"id": "a", "input": "one"}, {"input": "two"}, {"id": 9, "input": "fail please"}],
    )
    out = tmp_path / "out.jsonl"
    result = run_cli(
        f"{SUPPORT}:http_echo", str(inputs), "--out", str(out), "--base-url", echo_server.base_url
    )
    assert result.exit_code == 1, result.output  # one input failed
    by_id = {r["id"]: r for r in records(out)}
    assert set(by_id) == {"a", 2, 9}
    assert by_id["a"] == {
        "id": "a",
        "output": "echo: one",
        "agent": "HttpEcho",
        "usage": by_id["a"]["usage"],
        "error": None,
    }
    assert by_id[9]["output"] is None
    assert by_id[9]["error"]["type"] == "ModelError"
    assert "HTTP 400" in by_id[9]["error"]["message"]
    assert "2 succeeded, 1 failed" in result.output
    assert "3/3" in result.output  # the progress bar's final state
    usage = by_id["a"]["usage"]
    assert usage["requests"] == 1 and usage["output_tokens"] > 0
    assert "Usage: 2 requests," in result.output  # calls that failed (HTTP 400) are not counted


def test_an_existing_output_needs_resume_and_is_left_alone(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "in.jsonl", [{"input": "one"}])
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": 1, "output": "old", "error": null}\n', encoding="utf-8")
    result = run_cli(f"{SUPPORT}:echo", str(inputs), "--out", str(out))
    assert result.exit_code == 2
    assert "--resume" in result.output
    assert records(out) == [{"id": 1, "output": "old", "error": None}]


def test_resume_runs_only_the_missing_ids(tmp_path: Path, echo_server: ScriptedServer) -> None:
    inputs = write_inputs(tmp_path / "in.jsonl", [{"input": f"n{i}"} for i in range(6)])
    out = tmp_path / "out.jsonl"
    out.write_text(
        '{"id": 2, "output": "done before", "error": null}\n{"id": 5, "outp', encoding="utf-8"
    )
    result = run_cli(
        f"{SUPPORT}:http_echo",
        str(inputs),
        "--out",
        str(out),
        "--resume",
        "--base-url",
        echo_server.base_url,
    )
    assert result.exit_code == 0, result.output
    assert sorted(r["id"] for r in records(out)) == [1, 2, 3, 4, 5, 6]
    asked = sorted(m["messages"][-1]["content"] for m in echo_server.requests)
    assert asked == ["n0", "n2", "n3", "n4", "n5"]  # id 2 (input n1) was already there
    assert "1 already in" in result.output


def test_sigkill_then_resume_gives_every_id_exactly_once(tmp_path: Path) -> None:
    total = 300
    inputs = write_inputs(tmp_path / "in.jsonl", [{"input": f"q{i}"} for i in range(total)])
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "swarmlet.cli", "batch", f"{SUPPORT}:echo", str(inputs)]
    command += ["--out", str(out), "--concurrency", "4"]
    env = {**os.environ, "BATCH_TEST_DELAY": "0.01"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _line_count(out) < 40 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    written = _line_count(out)
    assert 40 <= written < total, "the kill must land half-way through the batch"
    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()
    ids = [r["id"] for r in records(out)]
    assert len(ids) == total
    assert sorted(ids) == list(range(1, total + 1))
    assert all(r["output"] == f"echo: q{r['id'] - 1}" for r in records(out))


def _line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_ray_flag_takes_an_optional_address() -> None:
    assert ray_flag_with_value(["batch", "a.py:x", "in", "--ray"]) == [
        "batch",
        "a.py:x",
        "in",
        "--ray=local",
    ]
    assert ray_flag_with_value(["--ray", "ray://head:10001", "--out", "o"]) == [
        "--ray=ray://head:10001",
        "--out",
        "o",
    ]
    assert ray_flag_with_value(["--ray", "a.py:agent"]) == ["--ray=local", "a.py:agent"]
    assert ray_flag_with_value(["--ray", "10.0.0.5:6379"]) == ["--ray=10.0.0.5:6379"]
