"""The sync bridge: where a sync run executes, where its sync tools run, and how it stops.

See swarmlet/_sync.py. Real threads, real event loops, real sqlite3 connections (whose
objects refuse to be used from another thread), a real SIGINT and a real fork.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.exceptions import UsageError
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.testing.server import ScriptedReply, ScriptedServer

USER = [{"role": "user", "content": "go"}]


def _refund_db() -> sqlite3.Connection:
    """A connection bound to the calling thread (sqlite3's default check_same_thread=True)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE refunds (item INTEGER)")
    return conn


def _refund_agent(conn: sqlite3.Connection) -> Agent:
    def refund(item: int) -> str:
        conn.execute("INSERT INTO refunds VALUES (?)", (item,))
        return f"refunded {item}"

    return Agent(name="Refunds", functions=[refund])


def _refund_model() -> ScriptedModel:
    return ScriptedModel(
        [[tool_call("refund", {"item": 1}), tool_call("refund", {"item": 2})], "ok"]
    )


def _rows(conn: sqlite3.Connection) -> list[int]:
    return [row[0] for row in conn.execute("SELECT item FROM refunds ORDER BY item")]


@pytest.mark.parametrize("stream", [False, True])
def test_sync_tools_use_resources_bound_to_the_calling_thread(stream: bool) -> None:
    conn = _refund_db()
    swarm = Swarm(client=_refund_model())
    if stream:
        response = list(swarm.run(_refund_agent(conn), USER, stream=True))[-1]["response"]
    else:
        response = swarm.run(_refund_agent(conn), USER)
    assert [m["content"] for m in response.messages[1:3]] == ["refunded 1", "refunded 2"]
    assert _rows(conn) == [1, 2]


def test_a_worker_threads_own_connection_works_too() -> None:
    results: list[list[int]] = []

    def worker() -> None:
        conn = _refund_db()
        Swarm(client=_refund_model()).run(_refund_agent(conn), USER)
        results.append(_rows(conn))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [[1, 2]] * 3


def _thread_recorder() -> tuple[Callable[..., str], list[tuple[str, float, float]]]:
    spans: list[tuple[str, float, float]] = []

    def slow(tag: str) -> str:
        start = time.perf_counter()
        time.sleep(0.2)
        spans.append((threading.current_thread().name, start, time.perf_counter()))
        return tag

    return slow, spans


def _two_slow_calls() -> ScriptedModel:
    return ScriptedModel([[tool_call("slow", {"tag": "a"}), tool_call("slow", {"tag": "b"})], "ok"])


def _overlap(spans: list[tuple[str, float, float]]) -> bool:
    (_, a0, a1), (_, b0, b1) = spans
    return a0 < b1 and b0 < a1


def test_by_default_sync_tools_run_in_the_caller_one_at_a_time() -> None:
    slow, spans = _thread_recorder()
    Swarm(client=_two_slow_calls()).run(Agent(functions=[slow]), USER)
    assert {name for name, _, _ in spans} == {threading.current_thread().name}
    assert not _overlap(spans)


@pytest.mark.parametrize("where", ["client", "run", "executor"])
def test_threads_mode_runs_sync_tools_in_parallel_on_a_pool(where: str) -> None:
    slow, spans = _thread_recorder()
    model = _two_slow_calls()
    if where == "client":
        Swarm(client=model, sync_tools="threads").run(Agent(functions=[slow]), USER)
    elif where == "run":
        Swarm(client=model).run(Agent(functions=[slow]), USER, sync_tools="threads")
    else:
        with ThreadPoolExecutor(2, thread_name_prefix="mine") as pool:
            Swarm(client=model, tool_executor=pool).run(Agent(functions=[slow]), USER)
        assert all(name.startswith("mine") for name, _, _ in spans)
    assert threading.current_thread().name not in {name for name, _, _ in spans}
    assert _overlap(spans)


async def test_the_async_api_runs_slow_sync_tools_on_the_pool_unless_asked_for_the_caller() -> None:
    # Its default is "auto" (tests/test_sync_tools_auto.py): a tool sleeping 0.2 s never
    # leaves the pool, so the two calls overlap.
    slow, spans = _thread_recorder()
    await Swarm(client=_two_slow_calls()).run_async(Agent(functions=[slow]), USER)
    assert _overlap(spans) and threading.current_thread().name not in spans[0][0]
    spans.clear()
    events = Swarm(client=_two_slow_calls()).events(
        Agent(functions=[slow]), USER, sync_tools="caller"
    )
    async for _ in events:
        pass
    assert {name for name, _, _ in spans} == {threading.current_thread().name}


async def test_run_async_and_stream_take_the_sync_tool_policy_per_run() -> None:
    slow, spans = _thread_recorder()
    client = Swarm(client=_two_slow_calls())
    await client.run_async(Agent(functions=[slow]), USER, sync_tools="caller")
    assert {name for name, _, _ in spans} == {threading.current_thread().name}
    spans.clear()
    stream = Swarm(client=_two_slow_calls()).stream(
        Agent(functions=[slow]), USER, sync_tools="caller"
    )
    async for _ in stream:
        pass
    assert {name for name, _, _ in spans} == {threading.current_thread().name}


def test_a_sync_tool_with_a_timeout_runs_on_the_pool_so_the_run_can_stop_waiting() -> None:
    from swarmlet import tool

    @tool(timeout=0.2)
    def stuck() -> str:
        time.sleep(1)
        return "late"

    model = ScriptedModel([tool_call("stuck"), "gave up"])
    response = Swarm(client=model).run(Agent(functions=[stuck]), USER)
    assert "did not finish within 0.2 s" in response.messages[1]["content"]


def test_sync_runs_reuse_the_calling_threads_loop_and_start_no_thread() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def which_loop() -> str:
        loops.append(asyncio.get_running_loop())
        return "seen"

    before = threading.active_count()
    for _ in range(3):
        model = ScriptedModel([tool_call("which_loop"), "ok"])
        Swarm(client=model).run(Agent(functions=[which_loop]), USER)
    assert loops[0] is loops[1] is loops[2]
    assert threading.active_count() == before


def test_an_inline_sync_tool_may_run_a_nested_sync_run() -> None:
    conn = _refund_db()
    inner = Swarm(client=_refund_model())

    def delegate() -> str:
        response = inner.run(_refund_agent(conn), USER)  # nested, in this same thread
        return str(response.messages[-1]["content"])

    outer = Swarm(client=ScriptedModel([tool_call("delegate"), "done"]))
    response = outer.run(Agent(functions=[delegate]), USER)
    assert response.messages[1]["content"] == "ok"
    assert _rows(conn) == [1, 2]


def test_a_sync_tool_may_use_asyncio_run_as_in_swarm() -> None:
    async def fetch(item: int) -> str:
        await asyncio.sleep(0)
        return f"fetched {item}"

    def lookup(item: int) -> str:
        return asyncio.run(fetch(item))  # no loop is running in this thread, as far as it knows

    model = ScriptedModel([tool_call("lookup", {"item": 4}), "ok"])
    response = Swarm(client=model).run(Agent(functions=[lookup]), USER)
    assert response.messages[1]["content"] == "fetched 4"


@pytest.mark.parametrize("stream", [False, True])
def test_the_sync_api_inside_an_async_tool_or_instructions_is_refused(stream: bool) -> None:
    swarm = Swarm(client=ScriptedModel([tool_call("nested"), "after", "x"]))
    refused: list[str] = []

    async def nested() -> str:
        with pytest.raises(UsageError, match="run_async") as error:
            swarm.run(Agent(), USER, stream=stream)  # would block the loop it runs on
        refused.append(str(error.value))
        return "refused"

    def instructions(context_variables: dict[str, Any]) -> str:
        with pytest.raises(UsageError, match="run_async"):
            swarm.run(Agent(), USER)
        refused.append("instructions")
        return "be brief"

    response = swarm.run(Agent(functions=[nested]), USER, stream=stream)
    final = response if not stream else list(response)[-1]["response"]  # type: ignore[call-overload]
    assert final.messages[1]["content"] == "refused"
    Swarm(client=ScriptedModel(["hi"])).run(Agent(instructions=instructions), USER)
    assert refused[-1] == "instructions"


@pytest.mark.parametrize("stream", [False, True])
def test_a_running_loop_in_the_caller_jupyter_style_still_works(stream: bool) -> None:
    """A thread whose loop is running calls the sync API; its sync tools still run there."""
    outcome: dict[str, Any] = {}

    async def notebook_cell() -> None:
        conn = _refund_db()  # bound to this thread, whose loop is busy running this cell
        swarm = Swarm(client=_refund_model())
        if stream:
            events = list(swarm.run(_refund_agent(conn), USER, stream=True))
            outcome["answer"] = events[-1]["response"].messages[-1]["content"]
            outcome["deltas"] = [e for e in events if e.get("content")]
        else:
            outcome["answer"] = swarm.run(_refund_agent(conn), USER).messages[-1]["content"]
        outcome["rows"] = _rows(conn)

    thread = threading.Thread(target=lambda: asyncio.run(notebook_cell()))
    thread.start()
    thread.join(30)
    assert outcome["answer"] == "ok" and outcome["rows"] == [1, 2]
    if stream:
        assert "".join(e["content"] for e in outcome["deltas"]) == "ok"


class _ClosingModel(ScriptedModel):
    """A scripted model that records in ``closed`` when a run closes its stream."""

    def __init__(self, replies: list[Any], closed: list[str]) -> None:
        super().__init__(replies)
        self.closed = closed

    async def stream(self, request: Any) -> Any:  # type: ignore[override]
        try:
            async for delta in super().stream(request):
                yield delta
        finally:
            self.closed.append("closed")


def test_breaking_out_of_a_stream_closes_the_run(tmp_path: Path) -> None:
    closed: list[str] = []

    swarm = Swarm(client=_ClosingModel(["a long answer in many pieces"], closed))
    for event in swarm.run(Agent(), USER, stream=True):
        if event.get("content"):
            break
    assert closed == ["closed"]


def test_breaking_out_of_a_stream_in_a_thread_with_a_running_loop_closes_the_run() -> None:
    closed: list[str] = []

    async def notebook_cell() -> None:  # the run goes to the shared loop (Jupyter's case)
        model = _ClosingModel(["a long answer"], closed)
        for event in Swarm(client=model).run(Agent(), USER, stream=True):
            if event.get("content"):
                break

    thread = threading.Thread(target=lambda: asyncio.run(notebook_cell()))
    thread.start()
    thread.join(30)
    assert closed == ["closed"]


class _StallingServer:
    """Sends one streamed chunk, then waits: records when the client closes the connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        with self.sock:
            conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += conn.recv(65536)
            chunk = {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
            event = f"data: {json.dumps(chunk)}\n\n".encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n" + b"%x\r\n" % len(event) + event + b"\r\n"
            )
            conn.settimeout(20)
            if conn.recv(1) == b"":
                self.closed.set()


def test_breaking_out_of_a_stream_closes_the_http_connection() -> None:
    server = _StallingServer()
    swarm = Swarm(client=FastHTTPModel(base_url=server.base_url, api_key="k", max_retries=0))
    for event in swarm.run(Agent(), USER, stream=True):
        if event.get("content"):
            assert event["content"] == "Hel"
            break
    assert server.closed.wait(10)


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import sys
    from swarmlet import Agent, Swarm
    from swarmlet.testing import ScriptedModel, reply, tool_call

    class Model(ScriptedModel):
        async def stream(self, request):
            try:
                async for delta in super().stream(request):
                    yield delta
            finally:
                print("model stream closed", flush=True)

    def started() -> str:
        print("tool ran", flush=True)
        return "ok"

    stream = sys.argv[1] == "stream"
    model = Model([tool_call("started"), reply("too late", delay=60), "second run works"])
    swarm = Swarm(client=model)
    try:
        result = swarm.run(Agent(functions=[started]), [], stream=stream)
        if stream:
            for event in result:
                pass
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
    response = swarm.run(Agent(), [])
    print(response.messages[-1]["content"], flush=True)
    """
)


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_ctrl_c_cancels_the_run_and_the_next_run_works(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "ctrl_c.py"
    path.write_text(CTRL_C_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, "-u", str(path), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        while (line := proc.stdout.readline()) and line.strip() != "tool ran":
            pass
        assert line.strip() == "tool ran"  # now the model's second reply waits 60 s
        time.sleep(0.3)
        proc.send_signal(__import__("signal").SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    lines = out.split()
    assert proc.returncode == 0, err
    assert "KeyboardInterrupt" in out and "works" in out
    if mode == "stream":  # the cancelled turn closed its model stream before returning
        assert out.split("KeyboardInterrupt")[0].count("model stream closed") == 1
    assert lines[-3:] == ["second", "run", "works"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_sync_runs_work_in_a_forked_child() -> None:
    Swarm(client=ScriptedModel(["parent"])).run(Agent(), USER)  # the parent's loop exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            answer = Swarm(client=ScriptedModel(["child"])).run(Agent(), USER)
            os.write(write, str(answer.messages[-1]["content"]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        assert pipe.read() == "child"
    os.waitpid(pid, 0)


def _threads(fn: Callable[[int], Any], n: int) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def test_many_threads_share_a_default_client_each_on_its_own_loop(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    server.default_reply = ScriptedReply(content="ok")
    swarm = Swarm()

    def conversation(i: int) -> list[str]:
        answers = []
        for _ in range(3):
            answers.append(swarm.run(Agent(), USER).messages[-1]["content"])
            events = list(swarm.run(Agent(), USER, stream=True))
            answers.append(events[-1]["response"].messages[-1]["content"])
        return answers

    assert _threads(conversation, 4) == [["ok"] * 6] * 4
    assert len(server.requests) == 24


def test_an_async_openai_client_serves_sync_runs_from_many_threads(
    server: ScriptedServer,
) -> None:
    import openai

    server.default_reply = ScriptedReply(tool_calls=[{"name": "refund", "arguments": {"item": 3}}])
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    swarm = Swarm(client=client)

    def conversation(i: int) -> tuple[list[int], str]:
        conn = _refund_db()  # tools run in this thread, though the run is on the shared loop
        response = swarm.run(_refund_agent(conn), USER, max_turns=1)  # one model call + tools
        return _rows(conn), response.messages[-1]["content"]

    assert _threads(conversation, 3) == [([3], "refunded 3")] * 3
