"""``swarmlet serve``: check the settings are safe, say where the server is, run uvicorn.

Refuses to start (``ConfigurationError``) when authentication is off and the address is not
loopback: an open agent server on a network spends your model budget for anyone.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from swarmlet.agent import Agent
from swarmlet.core import Swarm
from swarmlet.exceptions import ConfigurationError
from swarmlet.server.app import ServerSettings, create_app

__all__ = ["check_bind", "is_loopback", "redact_url", "run_server", "startup_banner"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def check_bind(host: str, settings: ServerSettings) -> None:
    """Refuse a non-loopback address without authentication.

    Raises:
        ConfigurationError: auth is off and ``host`` is not loopback.
    """
    if not settings.auth.enabled and not is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve on {host} without authentication: anyone who can reach it "
            "could run your agents. Drop --no-auth (a token is generated), or bind 127.0.0.1."
        )


def startup_banner(agent: Agent, host: str, port: int, settings: ServerSettings) -> str:
    """What ``swarmlet serve`` prints at start (the token only when it was generated)."""
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    lines = [
        f"swarmlet: serving {agent.name!r} at {url}",
        f"  web UI {url}/   API docs {url}/docs   OpenAI-compatible API {url}/v1",
        f"  threads stored in {redact_url(settings.db_url)}",
    ]
    if not settings.auth.enabled:
        lines.append("  authentication is OFF (--no-auth); only this machine can connect")
    elif settings.auth.generated:
        (token,) = settings.auth.tokens
        lines += [
            f"  API token (generated for this run): {token}",
            f"  open {url}/#token={token} to log in to the web UI",
            "  set SWARMLET_API_TOKENS or --token-file to choose your own tokens",
        ]
    else:
        lines.append(f"  {len(settings.auth.tokens)} API token(s) configured")
    return "\n".join(lines)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (database URLs are printed at start)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def run_server(
    agent: Agent,
    swarm: Swarm,
    settings: ServerSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    out: TextIO | None = None,
) -> None:
    """Check the bind address, print the banner and serve until interrupted."""
    import uvicorn

    check_bind(host, settings)
    app = create_app(agent, swarm=swarm, settings=settings)
    print(startup_banner(agent, host, port, settings), file=out or sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
