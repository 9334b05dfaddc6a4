"""Model providers: the protocol, the OpenAI-compatible provider and the offline ones."""

from swarmlet.models.base import (
    AssistantMessage,
    MessageDelta,
    Model,
    ModelRequest,
    ToolCall,
    ToolCallFragment,
)

__all__ = [
    "AssistantMessage",
    "MessageDelta",
    "Model",
    "ModelRequest",
    "ToolCall",
    "ToolCallFragment",
]
