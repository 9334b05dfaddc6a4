"""Two agents and a handoff: the smallest complete swarmlet program.

Run it with ``python examples/quickstart.py``. With ``OPENAI_API_KEY`` (or ``OPENAI_BASE_URL``)
set, in the environment or a ``.env`` file, it talks to that endpoint. Without one it runs on
swarmlet's ScriptedModel, which replays a fixed script, so the program runs offline anywhere.
"""

from __future__ import annotations

import os

from swarmlet import Agent, Swarm
from swarmlet.testing import ScriptedModel, tool_call

spanish_agent = Agent(
    name="Spanish Agent",
    instructions="You only speak Spanish.",
)


def transfer_to_spanish_agent() -> Agent:
    """Transfer Spanish-speaking users immediately."""
    return spanish_agent


english_agent = Agent(
    name="English Agent",
    instructions="You only speak English. Hand Spanish speakers to the Spanish agent.",
    functions=[transfer_to_spanish_agent],
)


def make_client() -> Swarm:
    """A client for the configured endpoint, or for a scripted model when there is none."""
    from dotenv import load_dotenv

    load_dotenv()
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        return Swarm()
    print("No OPENAI_API_KEY set: using swarmlet's ScriptedModel (a fixed, offline script).\n")
    script = ScriptedModel(
        [tool_call("transfer_to_spanish_agent"), "¡Hola! ¿En qué puedo ayudarte?"]
    )
    return Swarm(client=script)


def main() -> None:
    """Ask the English agent something in Spanish and print who answered."""
    client = make_client()
    messages = [{"role": "user", "content": "Hola. ¿Cómo estás?"}]
    response = client.run(agent=english_agent, messages=messages)
    for message in response.messages:
        if message["role"] == "tool":
            print(f"  [tool {message['tool_name']}] -> {message['content']}")
        elif message.get("tool_calls"):
            names = ", ".join(c["function"]["name"] for c in message["tool_calls"])
            print(f"{message['sender']}: calls {names}")
        else:
            print(f"{message['sender']}: {message['content']}")
    print(f"\nActive agent at the end: {response.agent.name if response.agent else None}")


if __name__ == "__main__":
    main()
