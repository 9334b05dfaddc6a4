"""``create_triage_agent``, which Swarm's personal_shopper example imports (never released).

Our own small version: a triage agent with one ``transfer_to_<agent name>`` function per agent,
and with ``add_backlinks`` a ``transfer_back_to_triage`` function added to each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from swarmlet import Agent


def create_triage_agent(
    name: str,
    instructions: str,
    agents: Sequence[Agent],
    add_backlinks: bool = False,
) -> Agent:
    """An agent that hands the conversation to one of ``agents``."""
    triage = Agent(name=name, instructions=instructions)
    triage.functions = [_transfer(agent) for agent in agents]
    if add_backlinks:
        back = _transfer(triage, "transfer_back_to_triage")
        for agent in agents:
            agent.functions.append(back)
    return triage


def _transfer(agent: Agent, name: str | None = None) -> Callable[[], Agent]:
    def transfer() -> Agent:
        return agent

    transfer.__name__ = name or "transfer_to_" + agent.name.lower().replace(" ", "_")
    transfer.__doc__ = f"Hand the conversation to the {agent.name}."
    return transfer
