"""Tools from Model Context Protocol servers, and swarms served over MCP.

Needs the ``mcp`` extra (``pip install 'swarmlet[mcp]'``); swarmlet's core never imports it.

- :class:`MCPServer` — ``MCPServer.stdio(command, args)`` / ``MCPServer.http(url, headers)``,
  listed on an agent as ``Agent(mcp_servers=[...])``.
- :func:`swarmlet.mcp.expose.swarm_mcp_server` — a swarm as an MCP server (``swarmlet mcp``).
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401 - fail early with an install hint
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("swarmlet.mcp needs the 'mcp' package: pip install 'swarmlet[mcp]'") from exc

from swarmlet.exceptions import MCPServerError
from swarmlet.mcp.server import MCPServer
from swarmlet.mcp.tools import MCPToolError

__all__ = ["MCPServer", "MCPServerError", "MCPToolError"]
