"""The swarmlet agent server: a FastAPI app serving one swarm over HTTP, SSE and a web UI.

Install with ``pip install 'swarmlet[server]'`` and start it with
``swarmlet serve MODULE:AGENT`` (or ``swarmlet serve --example airline``), or build the app
yourself with :func:`create_app` and run it under any ASGI server.

Modules: :mod:`.app` (the factory and settings), :mod:`.auth` (bearer tokens),
:mod:`.api` (runs, graph, health), :mod:`.runs` (background runs, re-attachable),
:mod:`.wire` (events as JSON), :mod:`.sse` (event streams), :mod:`.agent_graph` (the graph
walk), :mod:`.openai_facade` (``/v1``), :mod:`.ui` (the web page), :mod:`.serve` (the CLI).
"""

from swarmlet.server.app import ServerSettings, create_app
from swarmlet.server.auth import TokenAuth, load_tokens

__all__ = ["ServerSettings", "TokenAuth", "create_app", "load_tokens"]
