"""An agent that uses the tools of an MCP server; offline, no key needed.

Run it with ``pip install 'swarmlet[mcp]'`` then ``python examples/mcp_tools.py``. swarmlet
starts ``examples/mcp_server.py`` as a subprocess and talks MCP to it over stdio. The model is
swarmlet's ScriptedModel, which calls the server's ``order_status`` tool for two orders in
parallel, then answers. With a real model (``OPENAI_API_KEY`` set), the model itself decides.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from swarmlet import Agent, Swarm
from swarmlet.mcp import MCPServer
from swarmlet.testing import ScriptedModel, tool_call

orders_server = MCPServer.stdio(sys.executable, [str(Path(__file__).with_name("mcp_server.py"))])

agent = Agent(
    name="Support",
    instructions="Answer questions about orders. Use the tools.",
    mcp_servers=[orders_server],
)


def main() -> None:
    """Ask about two orders and print the tool results and the answer."""
    if os.environ.get("OPENAI_API_KEY"):
        client = Swarm()
    else:  # offline: script what a model would do
        calls = [
            tool_call("order_status", {"order_id": "A1"}),
            tool_call("order_status", {"order_id": "B2"}),
        ]
        client = Swarm(client=ScriptedModel([calls, "A1 has shipped; B2 is being packed."]))
    with orders_server:  # connect now; the server process stops at the end of the block
        response = client.run(agent, [{"role": "user", "content": "Where are A1 and B2?"}])
    for message in response.messages:
        if message["role"] == "tool":
            print(f"{message['tool_name']} -> {message['content']}")
    print(response.messages[-1]["content"])


if __name__ == "__main__":
    main()
