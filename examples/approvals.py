"""Human approval: a transfer waits for a person, the run is saved as JSON and resumed.

Run it with ``python examples/approvals.py``. It runs offline on swarmlet's ScriptedModel.
In a real program the JSON would go to a database or a queue, and the resume would happen in
another process, hours later: only the JSON and the agents are needed.
"""

from __future__ import annotations

from swarmlet import Agent, Swarm, tool
from swarmlet.state import RunState
from swarmlet.testing import ScriptedModel, tool_call

model = ScriptedModel()


@tool(needs_approval=lambda args: args["amount"] > 100)  # or needs_approval=True
def transfer(amount: int, to: str) -> str:
    """Send money."""
    print(f"  (transferring {amount} to {to})")
    return f"sent {amount} to {to}"


bank = Agent(name="Bank", model=model, functions=[transfer])


def main() -> None:
    client = Swarm()
    model.add(tool_call("transfer", {"amount": 500, "to": "Bob"}), "Done: 500 sent to Bob.")
    paused = client.run(bank, [{"role": "user", "content": "send Bob 500"}])
    for item in paused.interruptions:
        print(f"waiting for approval: {item.tool_name}({item.arguments}) [{item.call_id}]")
    saved = paused.state.to_json()  # versioned JSON; to_json(key=...) signs it

    state = RunState.from_json(saved, bank)  # later, anywhere: the JSON and the agents
    state.approve(paused.interruptions[0].call_id)  # or state.reject(call_id, message=...)
    response = client.resume(state)
    print(response.messages[-1]["content"])


if __name__ == "__main__":
    main()
