"""A small banking app for the approval tests, runnable as a script in a fresh process.

``python tests/approval_app.py start STATE.json`` runs until the transfer waits for approval
and writes the run's state; ``python tests/approval_app.py resume STATE.json`` loads it,
approves the pending call, resumes and prints the final answer. Each real transfer appends a
line to the file named by ``$TRANSFER_LOG``, so a test can count executions across processes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from swarmlet import Agent, Swarm, tool
from swarmlet.state import RunState
from swarmlet.testing import ScriptedModel, tool_call

model = ScriptedModel()


@tool(needs_approval=lambda args: args.get("amount", 0) > 100)
def transfer(amount: int, to: str) -> str:
    """Move money."""
    with open(os.environ["TRANSFER_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{amount}->{to}\n")
    return f"sent {amount} to {to}"


def balance() -> str:
    """The account balance."""
    return "1000 EUR"


payments = Agent(name="Payments", model=model, functions=[transfer, balance])


def transfer_to_payments() -> Agent:
    """Hand the conversation to the payments desk."""
    return payments


triage = Agent(name="Triage", model=model, functions=[transfer_to_payments])

START = [
    tool_call("transfer_to_payments", id="call_handoff"),
    [
        tool_call("balance", id="call_balance"),
        tool_call("transfer", {"amount": 500, "to": "bob"}, id="call_transfer"),
    ],
]
RESUME = ["Sent 500 EUR to Bob."]


def start(path: Path) -> None:
    model.add(*START)
    response = Swarm().run(triage, [{"role": "user", "content": "send bob 500"}])
    path.write_text(response.state.to_json(), encoding="utf-8")
    print(json.dumps([i.call_id for i in response.interruptions]))


def resume(path: Path) -> None:
    model.add(*RESUME)
    state = RunState.from_json(path.read_text(encoding="utf-8"), triage)
    state.approve("call_transfer")
    response = Swarm().resume(state)
    print(response.messages[-1]["content"])


if __name__ == "__main__":
    {"start": start, "resume": resume}[sys.argv[1]](Path(sys.argv[2]))
