"""Model providers: the protocol, the OpenAI-compatible provider and the offline ones.

The providers are imported on first access (``swarmlet.models.OpenAIChatModel``...): the openai
SDK and llama-cpp-python are slow to import, and most programs need at most one of them.
"""

from __future__ import annotations

import importlib
from typing import Any

from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
    ToolCallFragment,
)

_LAZY = {
    "OpenAIChatModel": "swarmlet.models.openai_compat",
    "LocalModel": "swarmlet.models.local",
}

__all__ = [
    "AssistantMessage",
    "LocalModel",
    "MessageDelta",
    "Model",
    "ModelRequest",
    "OpenAIChatModel",
    "ToolCall",
    "ToolCallFragment",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'swarmlet.models' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
