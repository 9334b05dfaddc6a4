"""FastHTTPModel across event loops: one aiohttp session per loop, each closed with its loop.

The sync API runs each calling thread's run on that thread's own loop, so one provider may be
used from several loops at the same time. These tests use real loops in real threads against
the real ScriptedServer.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import warnings
from typing import Any

import aiohttp
import pytest

from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing.server import ScriptedReply, ScriptedServer
from tests.http_support import request


def _run_in_thread(fn: Any) -> threading.Thread:
    thread = threading.Thread(target=fn)
    thread.start()
    return thread


def test_two_threads_loops_use_one_provider_at_the_same_time(server: ScriptedServer) -> None:
    server.default_reply = ScriptedReply(content="ok", chunks=3)
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0)
    both_inside = threading.Barrier(2, timeout=10)
    sessions: dict[str, aiohttp.ClientSession] = {}
    answers: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    async def work(name: str) -> None:
        sessions[name] = await provider._session()
        both_inside.wait()  # both loops hold a live session before either sends anything
        texts = []
        for _ in range(5):
            texts.append((await provider.complete(request())).content or "")
            deltas = [d.content or "" async for d in provider.stream(request())]
            texts.append("".join(deltas))
        answers[name] = texts

    def thread_main(name: str) -> None:
        try:
            asyncio.run(work(name))
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [_run_in_thread(lambda n=n: thread_main(n)) for n in ("a", "b")]
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert answers == {"a": ["ok"] * 10, "b": ["ok"] * 10}
    assert sessions["a"] is not sessions["b"]
    # asyncio.run finalised each loop's session on its own loop.
    assert sessions["a"].closed and sessions["b"].closed
    assert len(server.requests) == 20


def test_a_session_is_reused_within_a_loop_and_closed_with_it(server: ScriptedServer) -> None:
    server.default_reply = ScriptedReply(content="ok")
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0)

    async def two_calls() -> tuple[aiohttp.ClientSession, aiohttp.ClientSession]:
        await provider.complete(request())
        first = await provider._session()
        await provider.complete(request())
        return first, await provider._session()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = asyncio.run(two_calls())
        again, _ = asyncio.run(two_calls())  # a new loop gets a new session
        gc.collect()
    assert first is second and first.closed
    assert again is not first and again.closed
    unclosed = [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert not [m for m in unclosed if "session" in m.lower() or "connector" in m.lower()]


async def test_aclose_closes_the_session_and_a_later_call_opens_a_new_one(
    server: ScriptedServer,
) -> None:
    server.default_reply = ScriptedReply(content="ok")
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0)
    await provider.complete(request())
    first = await provider._session()
    await provider.aclose()
    assert first.closed
    assert (await provider.complete(request())).content == "ok"
    assert (await provider._session()) is not first
    await provider.aclose()


async def test_a_given_session_is_used_and_left_open(server: ScriptedServer) -> None:
    server.default_reply = ScriptedReply(content="ok")
    async with aiohttp.ClientSession() as session:
        provider = FastHTTPModel(base_url=server.base_url, max_retries=0, http_client=session)
        assert (await provider.complete(request())).content == "ok"
        await provider.aclose()
        assert not session.closed


@pytest.mark.parametrize("limit", [1, 2])
async def test_max_connections_limits_open_connections(server: ScriptedServer, limit: int) -> None:
    server.default_reply = ScriptedReply(content="ok")
    server.latency = 0.05
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0, max_connections=limit)
    results = await asyncio.gather(*(provider.complete(request()) for _ in range(6)))
    assert [r.content for r in results] == ["ok"] * 6
    session = await provider._session()
    connector = session.connector
    assert connector is not None and connector.limit == limit
    await provider.aclose()


async def test_early_break_leaves_the_provider_usable(server: ScriptedServer) -> None:
    server.add(ScriptedReply(content="a fairly long streamed answer", chunks=8), "next")
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0)
    stream = provider.stream(request())
    async for delta in stream:
        assert delta.role == "assistant"
        break
    await stream.aclose()  # what `break` in a run's event loop ends up doing
    assert (await provider.complete(request())).content == "next"
    await provider.aclose()


def test_aiohttp_is_imported_on_first_use_only() -> None:
    # `import swarmlet` stays fast: the transport is imported when a request is first sent.
    code = (
        "import sys\n"
        "from swarmlet import Swarm\n"
        "from swarmlet.models.fast_http import FastHTTPModel\n"
        "Swarm(client=FastHTTPModel(base_url='http://127.0.0.1:9/v1'))\n"
        "print('aiohttp' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_dropped_provider_closes_its_session_on_a_loop_that_lives_on(
    server: ScriptedServer,
) -> None:
    # The sync API's loop outlives providers; a provider caught in a garbage cycle (e.g. via
    # an exception's traceback) must still close its session there, not leak it unclosed.
    server.default_reply = ScriptedReply(content="ok")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        provider = FastHTTPModel(base_url=server.base_url, max_retries=0)
        cycle: list[Any] = [provider]
        cycle.append(cycle)
        done = asyncio.run_coroutine_threadsafe(provider.complete(request()), loop)
        assert done.result(10).content == "ok"
        session = asyncio.run_coroutine_threadsafe(provider._session(), loop).result(10)
        connector = session.connector
        assert connector is not None and not connector.closed
        del provider, cycle, done, session  # the session is garbage with the provider
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.1), loop).result(10)
        assert connector.closed
        assert not [w for w in caught if "Unclosed client session" in str(w.message)]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_exit_after_sync_runs_closes_sessions_without_errors() -> None:
    # At interpreter exit the provider's finaliser and the loop's own shutdown may both try to
    # close a session; that must stay silent (no "aclose(): ... already running").
    code = (
        "from swarmlet import Agent, Swarm\n"
        "from swarmlet.models.fast_http import FastHTTPModel\n"
        "from swarmlet.testing.server import ScriptedServer\n"
        "server = ScriptedServer(default_reply='ok').start()\n"
        "swarm = Swarm(client=FastHTTPModel(base_url=server.base_url, max_retries=0))\n"
        "for stream in (False, True):\n"
        "    result = swarm.run(Agent(model='scripted'), [{'role': 'user', 'content': 'hi'}],\n"
        "                       stream=stream)\n"
        "    list(result) if stream else print(result.messages[-1]['content'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "Unclosed" not in result.stderr and "already running" not in result.stderr
