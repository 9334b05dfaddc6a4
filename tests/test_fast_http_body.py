"""FastHTTPModel's request body: encoded once, cleaned of lone surrogates only when needed."""

from __future__ import annotations

import pytest

from swarmlet.models import ModelRequest, fast_http
from swarmlet.models.fast_http import FastHTTPModel
from swarmlet.testing.server import ScriptedServer


def _request(text: str) -> ModelRequest:
    return ModelRequest(model="scripted", messages=[{"role": "user", "content": text}])


@pytest.mark.parametrize("codec", ["installed", "stdlib"])
async def test_lone_surrogates_are_sent_as_replacement_characters(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    if codec == "stdlib":  # the fallback when orjson is not installed
        monkeypatch.setattr(fast_http, "_dumps", fast_http._stdlib_dumps)
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
