"""``sync_tools="auto"``: sync tools on the pool until they have been quick, then on the loop.

See swarmlet/tool_placement.py. Real runs with a scripted model; each tool records the thread
it ran in, and the test compares it with the thread running the event loop. "Quick" tools do
almost nothing (far under the 1 ms threshold); "slow" ones sleep 5 ms (over it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from swarmlet import Agent, Swarm, tool
from swarmlet._sync import shared_loop
from swarmlet.exceptions import UsageError
from swarmlet.testing import ScriptedModel, tool_call
from swarmlet.tool_placement import PROMOTE_AFTER, QUICK_SECONDS

SLOW = 0.005  # seconds a slow tool sleeps: over QUICK_SECONDS


def _calls(name: str, n: int) -> ScriptedModel:
    """A model calling ``name`` once per turn, ``n`` turns, then answering."""
    return ScriptedModel([*(tool_call(name, {"n": i}) for i in range(n)), "done"])


def _recorder(slow_from: int | None = None) -> tuple[Callable[[int], str], list[threading.Thread]]:
    """A tool ``look(n)`` recording its thread; it sleeps from call number ``slow_from`` on."""
    threads: list[threading.Thread] = []

    def look(n: int) -> str:
        threads.append(threading.current_thread())
        if slow_from is not None and len(threads) > slow_from:
            time.sleep(SLOW)
        return f"seen {n}"

    return look, threads


def _on_loop(threads: list[threading.Thread]) -> list[bool]:
    """Which calls ran on this (the event loop's) thread."""
    return [thread is threading.current_thread() for thread in threads]


def test_the_rule_is_three_runs_under_a_millisecond() -> None:
    assert (PROMOTE_AFTER, QUICK_SECONDS) == (3, 0.001)


def test_the_default_policy_is_auto_for_the_async_api_only() -> None:
    assert Swarm().sync_tools_policy(sync_api=False) == "auto"
    assert Swarm().sync_tools_policy(sync_api=True) == "caller"
    with ThreadPoolExecutor(1) as pool:
        assert Swarm(tool_executor=pool).sync_tools_policy(sync_api=False) == "threads"
        assert Swarm(tool_executor=pool).sync_tools_policy(sync_api=True) == "threads"
        mine = Swarm(tool_executor=pool, sync_tools="auto")
        assert mine.sync_tools_policy(sync_api=False) == "auto"
    assert Swarm(sync_tools="auto").sync_tools_policy(sync_api=True) == "auto"


async def test_a_quick_tool_runs_on_the_pool_three_times_then_on_the_loop() -> None:
    look, threads = _recorder()
    response = await Swarm(client=_calls("look", 6)).run_async(Agent(functions=[look]), "go")
    assert _on_loop(threads) == [False, False, False, True, True, True]
    assert all(t.name.startswith("swarmlet-tool") for t in threads[:3])
    assert [m["content"] for m in response.messages if m["role"] == "tool"][3] == "seen 3"


async def test_what_was_learnt_holds_for_the_clients_later_runs_but_not_other_clients() -> None:
    look, threads = _recorder()
    two_runs = [tool_call("look", {"n": 0}), tool_call("look", {"n": 1}), "done"] * 2
    client = Swarm(client=ScriptedModel(two_runs))
    for _ in range(2):
        await client.run_async(Agent(functions=[look]), "go")
    await Swarm(client=_calls("look", 1)).run_async(Agent(functions=[look]), "go")
    assert _on_loop(threads) == [False, False, False, True, False]


async def test_a_slow_tool_never_runs_on_the_loop() -> None:
    look, threads = _recorder(slow_from=0)
    await Swarm(client=_calls("look", 6)).run_async(Agent(functions=[look]), "go")
    assert _on_loop(threads) == [False] * 6


async def test_a_slow_pooled_run_restarts_the_count() -> None:
    calls = 0

    def look(n: int) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            time.sleep(SLOW)
        threads.append(threading.current_thread())
        return "ok"

    threads: list[threading.Thread] = []
    await Swarm(client=_calls("look", 7)).run_async(Agent(functions=[look]), "go")
    # quick, quick, slow (count back to 0), then three quick on the pool, then inline
    assert _on_loop(threads) == [False] * 6 + [True]


async def test_a_tool_that_turns_slow_inline_is_sent_back_to_the_pool_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    look, threads = _recorder(slow_from=3)
    with caplog.at_level(logging.WARNING, logger="swarmlet.tools"):
        response = await Swarm(client=_calls("look", 7)).run_async(Agent(functions=[look]), "go")
    # quick x3 on the pool, the 4th (slow) inline, then the pool for good although slow
    assert _on_loop(threads) == [False, False, False, True, False, False, False]
    warnings = [r for r in caplog.records if r.name == "swarmlet.tools"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert "'look'" in message and " ms " in message
    assert 'Swarm(sync_tools="threads")' in message
    assert response.messages[-1]["content"] == "done"


async def test_an_exception_counts_its_time_and_still_reaches_the_model() -> None:
    threads: list[threading.Thread] = []

    def fail(n: int) -> str:
        threads.append(threading.current_thread())
        if n == 0:
            time.sleep(SLOW)  # a slow failure: the count restarts after it
        raise ValueError(f"no {n}")

    response = await Swarm(client=_calls("fail", 5)).run_async(Agent(functions=[fail]), "go")
    assert _on_loop(threads) == [False, False, False, False, True]
    errors = [m["content"] for m in response.messages if m["role"] == "tool"]
    assert errors == [f"Error: ValueError: no {n}" for n in range(5)]


async def test_an_inline_tool_sees_no_running_loop_and_may_use_asyncio_run() -> None:
    threads: list[threading.Thread] = []

    def nested(n: int) -> str:
        threads.append(threading.current_thread())
        if n < PROMOTE_AFTER:  # quick; a new event loop may take over 1 ms to make
            return "quick"

        async def answer() -> str:
            return f"inner {n}"

        return asyncio.run(answer())  # RuntimeError if this thread's loop were visible

    response = await Swarm(client=_calls("nested", 4)).run_async(Agent(functions=[nested]), "go")
    assert _on_loop(threads) == [False, False, False, True]
    assert [m["content"] for m in response.messages if m["role"] == "tool"][3] == "inner 3"


async def test_a_tool_with_a_timeout_stays_on_the_pool_even_when_quick() -> None:
    look, threads = _recorder()
    timed = tool(timeout=5)(look)
    await Swarm(client=_calls("look", 5)).run_async(Agent(functions=[timed]), "go")
    assert _on_loop(threads) == [False] * 5


async def test_a_tool_marked_thread_stays_on_the_pool_even_when_quick() -> None:
    look, threads = _recorder()
    tool(thread=True)(look)
    await Swarm(client=_calls("look", 6)).run_async(Agent(functions=[look]), "go")
    assert _on_loop(threads) == [False] * 6


async def test_a_thread_tool_may_wait_for_work_on_the_runs_own_loop() -> None:
    # Inline, this tool would wait for the loop it blocks: the run would hang for good.
    loop = asyncio.get_running_loop()

    async def on_the_loop(n: int) -> str:
        return f"loop saw {n}"

    @tool(thread=True)
    def ask_the_loop(n: int) -> str:
        return asyncio.run_coroutine_threadsafe(on_the_loop(n), loop).result(timeout=5)

    client = Swarm(client=_calls("ask_the_loop", 5))
    response = await asyncio.wait_for(
        client.run_async(Agent(functions=[ask_the_loop]), "go"), timeout=10
    )
    tools = [m["content"] for m in response.messages if m["role"] == "tool"]
    assert tools == [f"loop saw {n}" for n in range(5)]


def test_the_sync_api_runs_a_thread_tool_off_the_callers_thread() -> None:
    look, threads = _recorder()
    tool(thread=True)(look)
    plain, plain_threads = _recorder()
    tool(name="plain")(plain)  # both recorders' functions are named "look"
    model = ScriptedModel([tool_call("look", {"n": 0}), tool_call("plain", {"n": 1}), "done"])
    Swarm(client=model).run(Agent(functions=[look, plain]), "go")
    assert _on_loop(threads) == [False]  # "caller" policy: a thread tool still pools
    assert _on_loop(plain_threads) == [True]


async def test_a_tool_that_cannot_be_a_key_stays_on_the_pool() -> None:
    threads: list[threading.Thread] = []

    class Look:  # __eq__ without __hash__: unhashable
        __name__ = "look"

        def __eq__(self, other: object) -> bool:
            return self is other

        def __call__(self, n: int) -> str:
            threads.append(threading.current_thread())
            return "ok"

    await Swarm(client=_calls("look", 5)).run_async(Agent(functions=[Look()]), "go")
    assert _on_loop(threads) == [False] * 5


@pytest.mark.parametrize("where", ["client", "run"])
async def test_threads_always_pools(where: str) -> None:
    look, threads = _recorder()
    agent, model = Agent(functions=[look]), _calls("look", 5)
    if where == "client":
        await Swarm(client=model, sync_tools="threads").run_async(agent, "go")
    else:
        await Swarm(client=model).run_async(agent, "go", sync_tools="threads")
    assert _on_loop(threads) == [False] * 5


async def test_a_tool_executor_still_means_threads_by_default() -> None:
    look, threads = _recorder()
    with ThreadPoolExecutor(2, thread_name_prefix="mine") as pool:
        client = Swarm(client=_calls("look", 5), tool_executor=pool)
        await client.run_async(Agent(functions=[look]), "go")
    assert all(t.name.startswith("mine") for t in threads) and len(threads) == 5


async def test_auto_with_a_tool_executor_pools_on_it() -> None:
    look, threads = _recorder()
    with ThreadPoolExecutor(2, thread_name_prefix="mine") as pool:
        client = Swarm(client=_calls("look", 5), tool_executor=pool, sync_tools="auto")
        await client.run_async(Agent(functions=[look]), "go")
    assert all(t.name.startswith("mine") for t in threads[:3])
    assert _on_loop(threads) == [False, False, False, True, True]


async def test_stream_and_events_take_auto_too() -> None:
    for start in ("stream", "events"):
        look, threads = _recorder()
        client = Swarm(client=_calls("look", 4), sync_tools="caller")
        events = getattr(client, start)(Agent(functions=[look]), "go", sync_tools="auto")
        async for _ in events:
            pass
        assert _on_loop(threads) == [False, False, False, True], start


def test_the_sync_api_may_ask_for_auto() -> None:
    look, threads = _recorder()
    Swarm(client=_calls("look", 5), sync_tools="auto").run(Agent(functions=[look]), "go")
    assert _on_loop(threads) == [False, False, False, True, True]  # this thread runs the loop


def test_runs_on_the_shared_background_loop_keep_tools_on_the_pool() -> None:
    # That loop serves every thread's fallback runs; an inline tool calling the sync API
    # there would wait for itself.
    look, threads = _recorder()
    client = Swarm(client=_calls("look", 5))
    loop = shared_loop().open().loop
    run = asyncio.run_coroutine_threadsafe(client.run_async(Agent(functions=[look]), "go"), loop)
    run.result(timeout=30)
    assert len(threads) == 5 and all(t.name.startswith("swarmlet-tool") for t in threads)


@pytest.mark.parametrize("where", ["client", "run"])
async def test_an_unknown_policy_is_refused(where: str) -> None:
    bogus: Any = "bogus"
    with pytest.raises(UsageError, match="'caller', 'threads', 'auto' or None, got 'bogus'"):
        if where == "client":
            Swarm(sync_tools=bogus)
        else:
            await Swarm(client=_calls("look", 0)).run_async(Agent(), "go", sync_tools=bogus)
