"""Swarm-compatible names: ``from swarmlet.types import Agent, Response, ...``.

``ChatCompletionMessage``, ``ChatCompletionMessageToolCall`` and ``Function`` are the official
``openai`` SDK's types, exactly as ``swarm.types`` re-exports them.
"""

from openai.types.chat import ChatCompletionMessage
from openai.types.chat.chat_completion_message_tool_call import (
    ChatCompletionMessageToolCall,
    Function,
)

from swarmlet.agent import Agent, AgentFunction, Response, Result

__all__ = [
    "Agent",
    "AgentFunction",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Function",
    "Response",
    "Result",
]
