"""History control: each agent's model sees only the part of the conversation it needs.

Run it with ``python examples/history.py``. It runs offline on swarmlet's ScriptedModel and
prints what each model call was sent.
"""

from __future__ import annotations

from typing import Any

from swarmlet import Agent, Swarm
from swarmlet.history import last_turns, without_tool_traffic
from swarmlet.testing import ScriptedModel, tool_call


def drop_big_tool_results(messages: list[dict[str, Any]], agent: Agent) -> list[dict[str, Any]]:
    """A filter of your own: shorten long tool results (the run's history keeps them whole)."""
    for message in messages:  # a copy: editing it is safe
        if message["role"] == "tool" and len(message["content"]) > 40:
            message["content"] = message["content"][:40] + "... (shortened)"
    return messages


def order_history() -> str:
    """Every order of the customer."""
    return "; ".join(f"order {n}: tea" for n in range(1, 20))


model = ScriptedModel()
support = Agent(
    name="Support",
    model=model,
    functions=[order_history],
    # the last user turn, no other agent's tool calls, long results shortened
    history_filter=[last_turns(1), without_tool_traffic(), drop_big_tool_results],
)


def transfer_to_support() -> Agent:
    return support


triage = Agent(name="Triage", model=model, functions=[transfer_to_support])


def main() -> None:
    conversation = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "what did I order?"},
    ]
    model.add(tool_call("transfer_to_support"), tool_call("order_history"), "Tea, 19 times.")
    response = Swarm().run(triage, conversation)
    for number, request in enumerate(model.requests, 1):
        print(f"call {number} ({request.agent_name}) was sent:")
        for message in request.messages[1:]:  # the system prompt left out
            calls = [c["function"]["name"] for c in message.get("tool_calls", [])]
            print(f"  {message['role']}: {message.get('content') or calls}")
    print(f"the run's history keeps all {len(conversation) + len(response.messages)} messages")


if __name__ == "__main__":
    main()
