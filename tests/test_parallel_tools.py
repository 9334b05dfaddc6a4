"""Several tool calls in one turn run concurrently; results keep the model's call order.

Sync tools run in parallel in ``sync_tools="threads"`` mode (the sync API's default runs them
in the calling thread, one at a time: tests/test_sync_bridge.py).
"""

from __future__ import annotations

import asyncio
import threading
import time

from swarmlet import Agent, Swarm
from swarmlet.testing import ScriptedModel, tool_call

USER = [{"role": "user", "content": "go"}]


class Recorder:
    """Records (name, start, end) of each tool run."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def record(self, name: str, start: float) -> None:
        with self.lock:
            self.spans[name] = (start, time.perf_counter())

    def overlapped(self, a: str, b: str) -> bool:
        (a0, a1), (b0, b1) = self.spans[a], self.spans[b]
        return a0 < b1 and b0 < a1


def make_tools(rec: Recorder) -> list:  # type: ignore[type-arg]
    def slow_sync(tag: str) -> str:
        start = time.perf_counter()
        time.sleep(0.3)
        rec.record(f"sync-{tag}", start)
        return f"sync {tag}"

    async def slow_async(tag: str) -> str:
        start = time.perf_counter()
        await asyncio.sleep(0.3 if tag == "first" else 0.05)  # the first call finishes last
        rec.record(f"async-{tag}", start)
        return f"async {tag}"

    return [slow_sync, slow_async]


def test_two_slow_tools_overlap_in_one_turn() -> None:
    rec = Recorder()
    model = ScriptedModel(
        [[tool_call("slow_sync", {"tag": "a"}), tool_call("slow_sync", {"tag": "b"})], "done"]
    )
    Swarm(client=model, sync_tools="threads").run(Agent(functions=make_tools(rec)), USER)
    assert rec.overlapped("sync-a", "sync-b")


def test_results_are_appended_in_call_order_not_finish_order() -> None:
    rec = Recorder()
    model = ScriptedModel(
        [
            [tool_call("slow_async", {"tag": "first"}), tool_call("slow_async", {"tag": "second"})],
            "done",
        ]
    )
    response = Swarm(client=model).run(Agent(functions=make_tools(rec)), USER)
    assert rec.spans["async-second"][1] < rec.spans["async-first"][1]  # finished first...
    assert [m["content"] for m in response.messages[1:3]] == [
        "async first",
        "async second",
    ]  # ...listed second
    calls = response.messages[0]["tool_calls"]
    assert [m["tool_call_id"] for m in response.messages[1:3]] == [c["id"] for c in calls]


def test_sync_and_async_tools_overlap_with_each_other() -> None:
    rec = Recorder()
    model = ScriptedModel(
        [[tool_call("slow_sync", {"tag": "x"}), tool_call("slow_async", {"tag": "first"})], "done"]
    )
    Swarm(client=model, sync_tools="threads").run(Agent(functions=make_tools(rec)), USER)
    assert rec.overlapped("sync-x", "async-first")


def test_parallel_tool_calls_false_runs_one_at_a_time_and_is_sent() -> None:
    rec = Recorder()
    model = ScriptedModel(
        [[tool_call("slow_sync", {"tag": "a"}), tool_call("slow_sync", {"tag": "b"})], "done"]
    )
    agent = Agent(functions=make_tools(rec), parallel_tool_calls=False)
    Swarm(client=model, sync_tools="threads").run(agent, USER)
    assert not rec.overlapped("sync-a", "sync-b")
    assert model.requests[0].parallel_tool_calls is False


def test_several_handoffs_in_one_turn_the_last_one_wins() -> None:
    a, b = Agent(name="A"), Agent(name="B")

    def to_a() -> Agent:
        return a

    def to_b() -> Agent:
        return b

    model = ScriptedModel([[tool_call("to_b"), tool_call("to_a")], "hi"])
    response = Swarm(client=model).run(Agent(functions=[to_a, to_b]), USER)
    assert response.agent is a
    assert response.messages[-1]["sender"] == "A"


def test_eight_blocking_tools_all_run_at_once() -> None:
    # asyncio's default executor has min(32, cores + 4) threads: 6 on a 2-core machine, which
    # would run 8 blocking calls in two rounds. swarmlet's own tool pool is larger.
    rec = Recorder()
    model = ScriptedModel([[tool_call("slow_sync", {"tag": str(i)}) for i in range(8)], "done"])
    Swarm(client=model, sync_tools="threads").run(Agent(functions=make_tools(rec)), USER)
    starts = [start for start, _ in rec.spans.values()]
    ends = [end for _, end in rec.spans.values()]
    assert len(rec.spans) == 8
    assert max(starts) < min(ends)  # every call had started before any finished
