"""swarmlet: Swarm-compatible, production-grade multi-agent orchestration.

``from swarmlet import Swarm, Agent, Result, Response`` is all a Swarm program needs.
"""

from swarmlet.agent import Agent, Response, Result
from swarmlet.core import Swarm
from swarmlet.events import Event
from swarmlet.exceptions import SwarmletError
from swarmlet.guardrails import GuardrailResult
from swarmlet.hooks import RunHooks
from swarmlet.schema import tool
from swarmlet.state import RunState

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Event",
    "GuardrailResult",
    "Response",
    "Result",
    "RunHooks",
    "RunState",
    "Swarm",
    "SwarmletError",
    "tool",
]

_SUBMODULES = ("types", "util", "repl")


def __getattr__(name: str) -> object:
    """``swarmlet.types`` / ``swarmlet.util`` / ``swarmlet.repl`` after a bare ``import swarmlet``.

    Swarm's ``__init__`` imports its ``types`` and ``util``, so Swarm programs use them as
    attributes. They are imported on first access: ``swarmlet.types`` re-exports the openai
    SDK's types, and importing openai would double ``import swarmlet``'s time.
    """
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"swarmlet.{name}")
    raise AttributeError(f"module 'swarmlet' has no attribute {name!r}")
