"""A child process for the cross-process session tests: ``python -m tests.session_worker``.

Modes:
    holds URL SESSION TAG N   N times: hold the session, append three messages one by one.
    hang URL SESSION K        hold the session, append K messages, print "ready", sleep.
    runs URL SESSION TAG N    N runs one after another on the session (a tool call, then an
                              answer), each sent as the text TAG-i.
    run URL SESSION           a run on the session: a fast tool, then a tool that prints
                              "ready" and never returns (the parent SIGKILLs the process).
"""

from __future__ import annotations

import asyncio
import sys
import time

from swarmlet import Agent, Result, Swarm
from swarmlet.sessions import Session, open_store
from swarmlet.testing import ScriptedModel, reply, tool_call


async def holds(url: str, session_id: str, tag: str, n: int) -> None:
    store = open_store(url)
    session = Session(store, session_id)
    for i in range(n):
        async with session.hold() as lease:
            for part in range(3):
                await lease.append([{"role": "user", "content": f"{tag}-{i}-{part}"}])
                await asyncio.sleep(0)
    await store.close()


async def hang(url: str, session_id: str, k: int) -> None:
    store = open_store(url)
    async with Session(store, session_id).hold() as lease:
        for i in range(k):
            await lease.append([{"role": "user", "content": f"m{i}"}])
        print("ready", flush=True)
        await asyncio.sleep(3600)


def fast() -> Result:
    """Answer at once, and note it in the context variables."""
    return Result(value="fast done", context_variables={"fast": True})


def slow() -> str:
    """Never answer."""
    print("ready", flush=True)
    time.sleep(3600)
    return "unreachable"


async def run(url: str, session_id: str) -> None:
    agent = Agent(name="Worker", functions=[fast, slow])
    model = ScriptedModel([tool_call("fast", id="f1"), tool_call("slow", id="s1"), "never"])
    session = Session(open_store(url), session_id)
    await Swarm(client=model).run_async(agent, "go", {"n": 1}, session=session)


def echo(text: str) -> str:
    """Echo the text back."""
    return text


async def runs(url: str, session_id: str, tag: str, n: int) -> None:
    agent = Agent(name="Echo", functions=[echo])
    session = Session(open_store(url), session_id)
    for i in range(n):
        text = f"{tag}-{i}"
        model = ScriptedModel(
            [tool_call("echo", {"text": text}), reply(f"said {text}", delay=0.01)]
        )
        await Swarm(client=model).run_async(agent, text, session=session)


if __name__ == "__main__":
    mode, url, session_id, *rest = sys.argv[1:]
    if mode == "holds":
        asyncio.run(holds(url, session_id, rest[0], int(rest[1])))
    elif mode == "runs":
        asyncio.run(runs(url, session_id, rest[0], int(rest[1])))
    elif mode == "hang":
        asyncio.run(hang(url, session_id, int(rest[0])))
    else:
        asyncio.run(run(url, session_id))
