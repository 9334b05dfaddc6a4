"""The transport floor: the benchmark's three requests through bare HTTP clients, no framework.

Each client sends exactly the requests of the benchmark conversation (triage hands off, sales
calls ``lookup_order``, sales answers), keep-alive on one connection, with JSON from orjson and
the same small SSE assembler for streamed replies, so the only thing that differs between rows
is the HTTP client. What a framework costs on top is its figure divided by a floor
(bench/report.py prints those multiples).

Candidates: the standard library's ``http.client`` and ``urllib3`` (sync), ``aiohttp`` (async),
``httpx2`` (async and sync; the HTTP stack of the openai SDK 3.x).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson
from frameworks import LOOKUP, MODEL, PROMPT, TRANSFER, Framework, lookup_order

HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}


class SSEAssembler:
    """Assemble a streamed chat completion from raw body pieces (content and tool calls)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.content: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}

    def feed(self, piece: bytes) -> None:
        self.buffer += piece
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            choices = orjson.loads(line[6:]).get("choices")
            if choices:
                self._delta(choices[0].get("delta") or {})

    def _delta(self, delta: dict[str, Any]) -> None:
        if delta.get("content"):
            self.content.append(delta["content"])
        for tc in delta.get("tool_calls") or ():
            slot = self.calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
            slot["id"] = slot["id"] or tc.get("id") or ""
            function = tc.get("function") or {}
            slot["name"] = slot["name"] or function.get("name") or ""
            slot["arguments"] += function.get("arguments") or ""

    def reply(self) -> dict[str, Any]:
        calls = [self.calls[i] for i in sorted(self.calls)]
        return {"content": "".join(self.content) or None, "calls": calls}


def complete_reply(body: bytes) -> dict[str, Any]:
    """content and calls of a non-streamed chat completion body."""
    message = orjson.loads(body)["choices"][0]["message"]
    calls = [
        {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
        for c in message.get("tool_calls") or ()
    ]
    return {"content": message.get("content"), "calls": calls}


def streamed_reply(pieces: Iterable[bytes]) -> dict[str, Any]:
    assembler = SSEAssembler()
    for piece in pieces:
        assembler.feed(piece)
    return assembler.reply()


class Conversation:
    """The three request bodies, each built from the previous reply (as RawSDK builds them)."""

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self.messages: list[Any] = [{"role": "system", "content": "Triage."}, *PROMPT]
        self.step = 0

    def body(self) -> bytes:
        tools = [TRANSFER] if self.step == 0 else [LOOKUP]
        params: dict[str, Any] = {"model": MODEL, "messages": self.messages, "tools": tools}
        if self.stream:
            params["stream"] = True
        return orjson.dumps(params)

    def answer(self, reply: dict[str, Any]) -> str | None:
        """Record ``reply``; the final text after the third call, else None."""
        self.step += 1
        if self.step == 3:
            return str(reply["content"] or "")
        calls = reply["calls"]
        results = [orjson.dumps({"assistant": "Sales"}).decode()] if self.step == 1 else []
        if self.step == 2:
            results = [lookup_order(**orjson.loads(calls[0]["arguments"]))]
        self.messages.append(
            {
                "role": "assistant",
                "content": reply["content"],
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in calls
                ],
            }
        )
        for call, result in zip(calls, results, strict=True):
            self.messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
        if self.step == 1:
            self.messages[0] = {"role": "system", "content": "Sales."}
        return None


class Floor(Framework):
    """A bare client: no openai SDK, no framework."""

    def __init__(self, base_url: str, pool: int) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.path = urlsplit(self.url).path
        self.pool = pool
        self.setup()

    def setup(self) -> None:
        """Create the client (subclasses)."""

    def conversation_sync(self, stream: bool) -> str:
        conversation = Conversation(stream)
        while True:
            body = conversation.body()
            reply = self.send_sync(body, stream)
            answer = conversation.answer(reply)
            if answer is not None:
                return answer

    async def conversation(self, stream: bool) -> str:
        conversation = Conversation(stream)
        while True:
            reply = await self.send(conversation.body(), stream)
            answer = conversation.answer(reply)
            if answer is not None:
                return answer

    def send_sync(self, body: bytes, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    async def send(self, body: bytes, stream: bool) -> dict[str, Any]:
        raise NotImplementedError


class HttpClientFloor(Floor):
    """The standard library's ``http.client``: one persistent ``HTTPConnection``."""

    name = "floor-http.client"
    is_async = False

    def setup(self) -> None:
        import http.client

        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def send_sync(self, body: bytes, stream: bool) -> dict[str, Any]:
        self.conn.request("POST", self.path, body, HEADERS)
        response = self.conn.getresponse()
        if not stream:
            return complete_reply(response.read())
        return streamed_reply(iter(lambda: response.read1(65536), b""))


class Urllib3Floor(Floor):
    """``urllib3``: a one-connection ``HTTPConnectionPool``."""

    name = "floor-urllib3"
    is_async = False

    def setup(self) -> None:
        import urllib3

        self.http = urllib3.HTTPConnectionPool(self.host, self.port, maxsize=1, retries=False)

    def send_sync(self, body: bytes, stream: bool) -> dict[str, Any]:
        response = self.http.urlopen(
            "POST", self.path, body=body, headers=HEADERS, preload_content=not stream
        )
        if not stream:
            return complete_reply(response.data)
        reply = streamed_reply(response.stream(65536))
        response.release_conn()
        return reply


class HttpxSyncFloor(Floor):
    """``httpx2.Client`` (the openai SDK's sync transport)."""

    name = "floor-httpx2-sync"
    is_async = False

    def setup(self) -> None:
        import httpx2

        self.http = httpx2.Client(timeout=30)

    def send_sync(self, body: bytes, stream: bool) -> dict[str, Any]:
        if not stream:
            return complete_reply(self.http.post(self.url, content=body, headers=HEADERS).content)
        with self.http.stream("POST", self.url, content=body, headers=HEADERS) as response:
            return streamed_reply(response.iter_bytes())


class HttpxAsyncFloor(Floor):
    """``httpx2.AsyncClient`` (the openai SDK's async transport)."""

    name = "floor-httpx2-async"

    def setup(self) -> None:
        import httpx2

        self.http = httpx2.AsyncClient(timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, body: bytes, stream: bool) -> dict[str, Any]:
        if not stream:
            response = await self.http.post(self.url, content=body, headers=HEADERS)
            return complete_reply(response.content)
        assembler = SSEAssembler()
        async with self.http.stream("POST", self.url, content=body, headers=HEADERS) as response:
            async for piece in response.aiter_bytes():
                assembler.feed(piece)
        return assembler.reply()


class AiohttpFloor(Floor):
    """``aiohttp.ClientSession`` (swarmlet's default provider's transport)."""

    name = "floor-aiohttp"

    def setup(self) -> None:
        self.session: Any = None

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, body: bytes, stream: bool) -> dict[str, Any]:
        if self.session is None:  # a session belongs to the running loop
            import aiohttp

            self.session = aiohttp.ClientSession()
        async with self.session.post(self.url, data=body, headers=HEADERS) as response:
            if not stream:
                return complete_reply(await response.read())
            assembler = SSEAssembler()
            async for piece in response.content.iter_any():
                assembler.feed(piece)
            return assembler.reply()


FLOORS: list[type[Floor]] = [
    HttpClientFloor,
    Urllib3Floor,
    AiohttpFloor,
    HttpxAsyncFloor,
    HttpxSyncFloor,
]
