"""FastHTTPModel's request body: encoded once, cleaned of lone surrogates only when needed."""

from __future__ import annotations

import pytest

from swarmlet.models import ModelRequest, fast_http, json_codec
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.models.sse import SSEParser
from swarmlet.testing.server import ScriptedServer


def _request(text: str) -> ModelRequest:
    return ModelRequest(model="scripted", messages=[{"role": "user", "content": text}])


@pytest.mark.parametrize("codec", ["installed", "stdlib"])
async def test_lone_surrogates_are_sent_as_replacement_characters(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    if codec == "stdlib":  # the fallback when orjson is not installed
        monkeypatch.setattr(fast_http, "dumps", json_codec.stdlib_dumps)
    server.add("ok", "ok")
    provider = FastHTTPModel(base_url=server.base_url, max_retries=0)
    name = b"report-\xff.txt".decode("utf-8", errors="surrogateescape")
    request = _request(f"look at {name}")
    assert (await provider.complete(request)).content == "ok"
    assert [d.content async for d in provider.stream(_request("plain ünïcode"))][-1] is None
    await provider.aclose()
    assert server.requests[0]["messages"][0]["content"] == "look at report-\ufffd.txt"
    assert server.requests[1]["messages"][0]["content"] == "plain ünïcode"
    assert request.messages[0]["content"] == f"look at {name}"  # the caller's copy is kept


def test_sse_parser_joins_pieces_lines_and_multi_line_data() -> None:
    parser = SSEParser()
    wire = b': comment\r\nevent: x\r\ndata: {"a":\r\ndata:1}\r\n\r\n'
    wire += b"data: [DONE]\n\ndata: tail"
    events = []
    for i in range(0, len(wire), 5):  # arbitrary piece boundaries, even inside "\r\n"
        events += parser.feed(wire[i : i + 5])
    assert events == [b'{"a":\n1}', b"[DONE]"]
    assert parser.close() == [b"tail"]  # a last event without its blank line still counts
