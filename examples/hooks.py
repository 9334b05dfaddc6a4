"""Lifecycle hooks: watch a run (an audit trail of model calls, tools and handoffs).

Run it with ``python examples/hooks.py``. It runs offline on swarmlet's ScriptedModel.
"""

from __future__ import annotations

from swarmlet import Agent, Swarm
from swarmlet.events import Handoff, ModelRequested, RunCompleted, RunFailed, ToolCallFinished
from swarmlet.hooks import RunHooks
from swarmlet.testing import ScriptedModel, tool_call


class AuditTrail(RunHooks):
    """Prints one line per step; methods may also be ``async def``."""

    def on_model_request(self, event: ModelRequested) -> None:
        print(f"[{event.agent.name}] model call #{event.turn}")

    def on_tool_end(self, event: ToolCallFinished) -> None:
        print(f"[{event.agent.name}] {event.name} -> {event.content}")

    def on_handoff(self, event: Handoff) -> None:
        print(f"handoff {event.from_agent.name} -> {event.to_agent.name}")

    def on_run_end(self, event: RunCompleted | RunFailed) -> None:
        print("run ended" if isinstance(event, RunCompleted) else f"run failed: {event.error}")


def main() -> None:
    model = ScriptedModel([tool_call("to_billing"), tool_call("balance"), "You owe 12 EUR."])

    def balance() -> str:
        return "12 EUR"

    billing = Agent(name="Billing", model=model, functions=[balance])

    def to_billing() -> Agent:
        return billing

    triage = Agent(name="Triage", model=model, functions=[to_billing])
    response = Swarm().run(
        triage, [{"role": "user", "content": "what do I owe?"}], hooks=AuditTrail()
    )
    print(response.messages[-1]["content"])


if __name__ == "__main__":
    main()
