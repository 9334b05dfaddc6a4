"""A conversation that survives the process: ``session=`` on a SQLite file.

Run it twice: ``python examples/sessions.py [path/to/chats.db]`` (default ``chats.db`` in the
current directory). Each run adds one exchange to the stored conversation and prints all of
it; the second run starts with the agent the first one handed off to. It uses swarmlet's
ScriptedModel (a fixed, offline script), so it runs anywhere.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from swarmlet import Agent, Swarm
from swarmlet.sessions import SQLiteSession
from swarmlet.testing import ScriptedModel, tool_call

spanish_agent = Agent(name="Spanish Agent", instructions="You only speak Spanish.")


def transfer_to_spanish_agent() -> Agent:
    """Transfer Spanish-speaking users immediately."""
    return spanish_agent


english_agent = Agent(
    name="English Agent",
    instructions="You only speak English. Hand Spanish speakers to the Spanish agent.",
    functions=[transfer_to_spanish_agent],
)


def main(path: str) -> None:
    """Add one exchange to the conversation stored in ``path`` and print the whole of it."""
    session = SQLiteSession("demo", path)
    history = _history(session)
    if not history:
        model = ScriptedModel([tool_call("transfer_to_spanish_agent"), "¡Hola! ¿Qué tal?"])
        text = "Hola. ¿Cómo estás?"
    else:
        model = ScriptedModel([f"Seguimos: ya son {len(history)} mensajes."])
        text = "¿Sigues ahí?"
    response = Swarm(client=model).run(english_agent, text, session=session)
    print(f"Answered by: {response.agent.name if response.agent else None}\n")
    for message in _history(session):
        who = message.get("sender") or message["role"]
        if message.get("tool_calls"):
            print(f"{who}: calls {message['tool_calls'][0]['function']['name']}")
        else:
            print(f"{who}: {message['content']}")


def _history(session: SQLiteSession) -> list[dict[str, Any]]:
    """The stored messages (``Session.load`` is a coroutine; this script is synchronous)."""
    return asyncio.run(session.load()).messages


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "chats.db")
