"""Test doubles that are part of the public API.

- :class:`ScriptedModel`: an in-process model answering from a queue of scripted replies.
- :func:`structured` / :func:`output_json`: script a structured (``output_type``) answer.
- :class:`swarmlet.testing.server.ScriptedServer`: a real OpenAI-compatible HTTP server on
  127.0.0.1 for testing the HTTP path (import it from ``swarmlet.testing.server``).
"""

from swarmlet.testing.scripted import (
    Reply,
    ReplyLike,
    ScriptedModel,
    output_json,
    reply,
    structured,
    tool_call,
)

__all__ = ["Reply", "ReplyLike", "ScriptedModel", "output_json", "reply", "structured", "tool_call"]
