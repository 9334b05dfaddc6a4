"""A small MCP server (the official ``mcp`` package's API) for ``examples/mcp_tools.py``.

Run on its own it speaks MCP over stdio: ``python examples/mcp_server.py``.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("orders", log_level="WARNING")

ORDERS = {"A1": "shipped", "B2": "packing"}


@server.tool()
def order_status(order_id: str) -> str:
    """The status of an order, by its id (e.g. "A1")."""
    return ORDERS.get(order_id.upper(), "unknown order")


@server.tool()
def word_count(text: str) -> int:
    """How many words a text has."""
    return len(text.split())


if __name__ == "__main__":
    server.run()
