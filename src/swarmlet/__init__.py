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

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Event",
    "GuardrailResult",
    "Response",
    "Result",
    "RunHooks",
    "Swarm",
    "SwarmletError",
    "tool",
]
