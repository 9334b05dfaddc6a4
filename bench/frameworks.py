"""The same conversation written for each framework under test.

The conversation: a triage agent hands off (tool ``transfer_to_sales``) to a sales agent, which
calls ``lookup_order(order_id)`` and answers "Your order A1 has shipped." — three model calls.
The parallel-tools conversation: one agent whose first reply calls ``slow_tool`` k times, each
sleeping ``t`` seconds, then answers.

Every framework gets an ``openai`` client built by :func:`openai_clients`: the same base URL,
``max_retries=0`` (so a failure is reported, not retried and hidden) and the same httpx2
connection pool limits (``max_connections = max_keepalive_connections = pool``).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MODEL = "scripted"
PROMPT = [{"role": "user", "content": "Where is my order A1?"}]
ANSWER = "Your order A1 has shipped."

# (start, end) of every slow_tool call of the current parallel-tools conversation.
TOOL_SPANS: list[tuple[float, float]] = []
_spans_lock = threading.Lock()
TOOL_SECONDS = 0.2


def lookup_order(order_id: str) -> str:
    """Look up an order's status."""
    return json.dumps({"order_id": order_id, "status": "shipped"})


def slow_tool(i: int) -> str:
    """A tool that takes TOOL_SECONDS (blocking, like a typical Swarm tool)."""
    start = time.perf_counter()
    time.sleep(TOOL_SECONDS)
    with _spans_lock:
        TOOL_SPANS.append((start, time.perf_counter()))
    return f"result {i}"


async def slow_tool_async(i: int) -> str:
    """The same tool, non-blocking."""
    start = time.perf_counter()
    await asyncio.sleep(TOOL_SECONDS)
    TOOL_SPANS.append((start, time.perf_counter()))
    return f"result {i}"


slow_tool_async.__name__ = "slow_tool"  # the same tool name for every framework


def openai_clients(base_url: str, pool: int) -> tuple[Any, Any]:
    """(sync, async) openai clients with identical settings for every framework."""
    import httpx2
    import openai

    limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    common: dict[str, Any] = {"base_url": base_url, "api_key": "bench", "max_retries": 0}
    sync = openai.OpenAI(**common, http_client=openai.DefaultHttpxClient(limits=limits))
    aio = openai.AsyncOpenAI(**common, http_client=openai.DefaultAsyncHttpxClient(limits=limits))
    return sync, aio


class Framework:
    """One framework's way of running the benchmark conversations.

    ``conversation(stream)`` / ``tools_conversation(use_async)`` are coroutines returning the
    final answer text; sync frameworks implement ``conversation_sync`` instead and the runner
    drives them from threads.
    """

    name = "?"
    is_async = True

    def __init__(self, base_url: str, pool: int) -> None:
        self.base_url, self.pool = base_url, pool

    # The SDK clients are made (and openai imported) only by the frameworks that use them: a
    # process that does not need the SDK must not carry it. Its thousands of classes and models
    # cost memory and garbage-collector time (every full collection traverses them), which
    # would be charged to frameworks that never touch it (swarmlet's default path, the floors).
    @functools.cached_property
    def _clients(self) -> tuple[Any, Any]:
        return openai_clients(self.base_url, self.pool)

    @property
    def sync_client(self) -> Any:
        """The openai SDK's sync client (made on first use)."""
        return self._clients[0]

    @property
    def async_client(self) -> Any:
        """The openai SDK's async client (made on first use)."""
        return self._clients[1]

    async def conversation(self, stream: bool) -> str:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close what the async workload opened (after the measurement)."""

    def conversation_sync(self, stream: bool) -> str:
        raise NotImplementedError

    async def tools_conversation(self, use_async: bool) -> str:
        raise NotImplementedError

    def tools_conversation_sync(self) -> str:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# The floor: the raw openai SDK, by hand.


def _tool_schema(name: str, params: dict[str, Any]) -> dict[str, Any]:
    props = {k: {"type": v} for k, v in params.items()}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": name,
            "parameters": {"type": "object", "properties": props, "required": list(props)},
        },
    }


TRANSFER = _tool_schema("transfer_to_sales", {})
LOOKUP = _tool_schema("lookup_order", {"order_id": "string"})
SLOW = _tool_schema("slow_tool", {"i": "integer"})


class RawSDK(Framework):
    """The openai SDK alone: the three calls and the two tools by hand (async client)."""

    name = "raw-openai"

    async def _call(self, messages: list[Any], tools: list[Any], stream: bool) -> dict[str, Any]:
        create = self.async_client.chat.completions.create
        if not stream:
            msg = (await create(model=MODEL, messages=messages, tools=tools)).choices[0].message
            calls = [
                {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
                for c in msg.tool_calls or ()
            ]
            return {"content": msg.content, "calls": calls}
        content: list[str] = []
        calls_by_index: dict[int, dict[str, Any]] = {}
        async for chunk in await create(model=MODEL, messages=messages, tools=tools, stream=True):
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                content.append(delta.content)
            for tc in delta.tool_calls or ():
                slot = calls_by_index.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = slot["id"] or tc.id or ""
                if tc.function is not None:
                    slot["name"] = slot["name"] or tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
        calls = [calls_by_index[i] for i in sorted(calls_by_index)]
        return {"content": "".join(content) or None, "calls": calls}

    @staticmethod
    def _append(messages: list[Any], reply: dict[str, Any], results: list[str]) -> None:
        messages.append(
            {
                "role": "assistant",
                "content": reply["content"],
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in reply["calls"]
                ],
            }
        )
        for call, result in zip(reply["calls"], results, strict=True):
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})

    async def conversation(self, stream: bool) -> str:
        messages: list[Any] = [{"role": "system", "content": "Triage."}, *PROMPT]
        reply = await self._call(messages, [TRANSFER], stream)
        self._append(messages, reply, [json.dumps({"assistant": "Sales"})])
        messages[0] = {"role": "system", "content": "Sales."}
        reply = await self._call(messages, [LOOKUP], stream)
        args = json.loads(reply["calls"][0]["arguments"])
        self._append(messages, reply, [lookup_order(**args)])
        return (await self._call(messages, [LOOKUP], stream))["content"] or ""

    async def tools_conversation(self, use_async: bool) -> str:
        messages: list[Any] = [{"role": "system", "content": "Worker."}, *PROMPT]
        reply = await self._call(messages, [SLOW], False)
        calls = [json.loads(c["arguments"]) for c in reply["calls"]]
        if use_async:
            results = await asyncio.gather(*(slow_tool_async(**a) for a in calls))
        else:
            results = await asyncio.gather(*(asyncio.to_thread(slow_tool, **a) for a in calls))
        self._append(messages, reply, list(results))
        return (await self._call(messages, [SLOW], False))["content"] or ""


# --------------------------------------------------------------------------------------------
# swarmlet and the original Swarm: the same Swarm program, only the import differs.


def _swarm_agents(agent_cls: Callable[..., Any], slow: Callable[..., Any]) -> tuple[Any, Any]:
    sales = agent_cls(name="Sales", model=MODEL, instructions="Sales.", functions=[lookup_order])

    def transfer_to_sales() -> Any:
        """Hand the conversation to sales."""
        return sales

    triage = agent_cls(
        name="Triage", model=MODEL, instructions="Triage.", functions=[transfer_to_sales]
    )
    worker = agent_cls(name="Worker", model=MODEL, instructions="Worker.", functions=[slow])
    return triage, worker


class Swarmlet(Framework):
    """swarmlet's async API (``run_async`` / ``stream``) on an ``AsyncOpenAI`` client."""

    name = "swarmlet"

    def __init__(self, base_url: str, pool: int) -> None:
        super().__init__(base_url, pool)
        import swarmlet

        self.model = self._model(base_url, pool)
        self.client = swarmlet.Swarm(client=self.model)
        self.triage, self.worker = _swarm_agents(swarmlet.Agent, slow_tool)
        self.worker_async = swarmlet.Agent(
            name="Worker", model=MODEL, instructions="Worker.", functions=[slow_tool_async]
        )

    async def aclose(self) -> None:
        close = getattr(self.model, "aclose", None) or self.model.close
        await close()

    def _model(self, base_url: str, pool: int) -> Any:
        return self.async_client

    async def conversation(self, stream: bool) -> str:
        if not stream:
            response = await self.client.run_async(self.triage, PROMPT)
            return str(response.messages[-1]["content"])
        from swarmlet.events import RunCompleted

        final = None
        async for event in self.client.stream(self.triage, PROMPT):
            if isinstance(event, RunCompleted):
                final = event.response
        assert final is not None
        return str(final.messages[-1]["content"])

    async def tools_conversation(self, use_async: bool) -> str:
        agent = self.worker_async if use_async else self.worker
        response = await self.client.run_async(agent, PROMPT)
        return str(response.messages[-1]["content"])


class SwarmletFast(Swarmlet):
    """swarmlet with its lean HTTP provider (``swarmlet.models.fast_http.FastHTTPModel``)."""

    name = "swarmlet-fasthttp"

    def _model(self, base_url: str, pool: int) -> Any:
        from swarmlet.models.fast_http import FastHTTPModel

        return FastHTTPModel(base_url=base_url, api_key="bench", max_connections=pool, model=MODEL)


# What docs/benchmarks.md ("Garbage collection at high concurrency") suggests to applications
# that keep thousands of conversations in flight: a larger first-generation threshold, so that
# objects waiting on a reply are not promoted (and then traversed by every full collection).
GC_THRESHOLDS = (50_000, 20, 20)


class SwarmletFastGC(SwarmletFast):
    """swarmlet-fasthttp in a process with ``gc.set_threshold(*GC_THRESHOLDS)``."""

    name = "swarmlet-fasthttp-gc"

    def __init__(self, base_url: str, pool: int) -> None:
        gc.set_threshold(*GC_THRESHOLDS)
        super().__init__(base_url, pool)


class SwarmletSDKAiohttp(Swarmlet):
    """swarmlet on the openai SDK with its aiohttp transport (``openai[aiohttp]``)."""

    name = "swarmlet-sdk-aiohttp"

    def _model(self, base_url: str, pool: int) -> Any:
        import httpx2
        import openai

        limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
        return openai.AsyncOpenAI(
            base_url=base_url,
            api_key="bench",
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(limits=limits),
        )


class SwarmletSync(Framework):
    """swarmlet's Swarm-compatible sync ``run`` with the default ``Swarm()`` (no client).

    ``Swarm()`` reads ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` and uses ``FastHTTPModel``, as a
    Swarm program does after changing only its imports.
    """

    name = "swarmlet-sync"
    is_async = False

    def __init__(self, base_url: str, pool: int) -> None:
        super().__init__(base_url, pool)
        import os

        import swarmlet

        os.environ["OPENAI_BASE_URL"] = base_url
        os.environ["OPENAI_API_KEY"] = "bench"
        self.client = swarmlet.Swarm()
        self.triage, self.worker = _swarm_agents(swarmlet.Agent, slow_tool)

    def conversation_sync(self, stream: bool) -> str:
        return _swarm_style(self.client, self.triage, stream)

    def tools_conversation_sync(self) -> str:
        return str(self.client.run(self.worker, PROMPT).messages[-1]["content"])


class SwarmletSyncThreads(SwarmletSync):
    """The same with ``Swarm(sync_tools="threads")``: sync tools in parallel on a pool.

    The default (``"caller"``) runs them in the calling thread one at a time, as Swarm does;
    this case measures the other setting of that knob.
    """

    name = "swarmlet-sync-threads"

    def __init__(self, base_url: str, pool: int) -> None:
        super().__init__(base_url, pool)
        import swarmlet

        self.client = swarmlet.Swarm(sync_tools="threads")


class OriginalSwarm(Framework):
    """openai/swarm (``pip install openai-swarm``): synchronous, on an ``openai.OpenAI``."""

    name = "openai-swarm"
    is_async = False

    def __init__(self, base_url: str, pool: int) -> None:
        super().__init__(base_url, pool)
        import swarm

        self.client = swarm.Swarm(client=self.sync_client)
        self.triage, self.worker = _swarm_agents(swarm.Agent, slow_tool)

    def conversation_sync(self, stream: bool) -> str:
        return _swarm_style(self.client, self.triage, stream)

    def tools_conversation_sync(self) -> str:
        return str(self.client.run(self.worker, PROMPT).messages[-1]["content"])


def _swarm_style(client: Any, agent: Any, stream: bool) -> str:
    if not stream:
        return str(client.run(agent, PROMPT).messages[-1]["content"])
    final = None
    for event in client.run(agent, PROMPT, stream=True):
        if "response" in event:
            final = event["response"]
    assert final is not None
    return str(final.messages[-1]["content"])


# --------------------------------------------------------------------------------------------
# The OpenAI Agents SDK on Chat Completions.


class AgentsSDK(Framework):
    """openai-agents with ``OpenAIChatCompletionsModel`` and tracing disabled."""

    name = "openai-agents"

    def __init__(self, base_url: str, pool: int) -> None:
        super().__init__(base_url, pool)
        import agents

        agents.set_tracing_disabled(True)
        model = agents.OpenAIChatCompletionsModel(model=MODEL, openai_client=self.async_client)
        sales = agents.Agent(
            name="Sales",
            instructions="Sales.",
            model=model,
            tools=[agents.function_tool(lookup_order)],
        )
        self.triage = agents.Agent(
            name="Triage", instructions="Triage.", model=model, handoffs=[sales]
        )
        self.worker = agents.Agent(
            name="Worker",
            instructions="Worker.",
            model=model,
            tools=[agents.function_tool(slow_tool)],
        )
        self.worker_async = agents.Agent(
            name="Worker",
            instructions="Worker.",
            model=model,
            tools=[agents.function_tool(slow_tool_async, name_override="slow_tool")],
        )
        self.runner = agents.Runner

    async def conversation(self, stream: bool) -> str:
        text = PROMPT[0]["content"]
        if not stream:
            result = await self.runner.run(self.triage, text)
            return str(result.final_output)
        streamed = self.runner.run_streamed(self.triage, text)
        async for _event in streamed.stream_events():
            pass
        return str(streamed.final_output)

    async def tools_conversation(self, use_async: bool) -> str:
        agent = self.worker_async if use_async else self.worker
        result = await self.runner.run(agent, PROMPT[0]["content"])
        return str(result.final_output)


FRAMEWORKS: dict[str, type[Framework]] = {
    cls.name: cls
    for cls in (
        RawSDK,
        Swarmlet,
        SwarmletFast,
        SwarmletFastGC,
        SwarmletSDKAiohttp,
        SwarmletSync,
        SwarmletSyncThreads,
        OriginalSwarm,
        AgentsSDK,
    )
}


def run_threads(fn: Callable[[], str], n: int, workers: int) -> list[str | BaseException]:
    """Run ``fn`` n times on a thread pool of ``workers`` threads; errors are returned."""
    results: list[str | BaseException] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn) for _ in range(n)]
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # reported, never raised: the case records errors
                results.append(exc)
    return results


async def gather_all(coro_fn: Callable[[], Any], n: int) -> list[str | BaseException]:
    """Run n conversations at once on the event loop; errors are returned."""
    return list(await asyncio.gather(*(coro_fn() for _ in range(n)), return_exceptions=True))
