"""Agents for the batch tests, loaded by file path as `swarmlet batch` (and Ray workers) do."""

from __future__ import annotations

import os
from typing import Any

from swarmlet import Agent
from swarmlet.exceptions import ModelError
from swarmlet.models.base import ModelRequest
from swarmlet.testing import Reply, ScriptedModel


def last_user(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message."""
    return str([m for m in messages if m["role"] == "user"][-1]["content"])


def _respond(request: ModelRequest) -> Any:
    text = last_user(request.messages)
    if text.startswith("fail"):
        return ModelError(f"scripted failure for {text!r}", status_code=500)
    return Reply(content=f"echo: {text}", delay=float(os.environ.get("BATCH_TEST_DELAY", "0")))


#: Answers in-process (its own ScriptedModel): "echo: <text>", failing on "fail...".
echo = Agent(name="Echo", model=ScriptedModel(responder=_respond))

#: The same behaviour over HTTP: pass --base-url of a ScriptedServer using `http_responder`.
http_echo = Agent(name="HttpEcho", model="scripted")


def http_responder(body: dict[str, Any]) -> Any:
    """ScriptedServer responder matching `echo`."""
    from swarmlet.testing.server import ScriptedReply

    text = last_user(body["messages"])
    if text.startswith("fail"):
        return ScriptedReply(content="scripted failure", status=400)
    return ScriptedReply(content=f"echo: {text}")
