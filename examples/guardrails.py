"""Guardrails: block a bad input before it costs a model call, check an answer, guard a tool.

Run it with ``python examples/guardrails.py``. It runs offline on swarmlet's ScriptedModel.
"""

from __future__ import annotations

from swarmlet import Agent, Swarm, tool
from swarmlet.exceptions import InputGuardrailTripped, OutputGuardrailTripped
from swarmlet.guardrails import GuardrailInput, GuardrailResult, ToolCallInput
from swarmlet.testing import ScriptedModel, tool_call


def no_card_numbers(data: GuardrailInput) -> GuardrailResult:
    """Input guardrail: trip when the user's message looks like it holds a card number."""
    digits = sum(c.isdigit() for c in data.text)
    return GuardrailResult(tripped=digits >= 12, info=f"{digits} digits")


def no_promises(data: GuardrailInput) -> bool:
    """Output guardrail: a plain bool means *tripped*."""
    return "guarantee" in data.text.lower()


def refund_limit(call: ToolCallInput) -> GuardrailResult:
    """Tool guardrail: refunds above 100 are not made; the model is told why instead."""
    if call.arguments.get("amount", 0) > 100:
        return GuardrailResult.replace("Refused: refunds above 100 need a manager.")
    return GuardrailResult(tripped=False)


@tool(before=refund_limit)
def refund(amount: int) -> str:
    """Refund the customer."""
    return f"refunded {amount}"


def main() -> None:
    model = ScriptedModel()
    agent = Agent(
        name="Support",
        model=model,
        functions=[refund],
        input_guardrails=[no_card_numbers],
        output_guardrails=[no_promises],
    )
    client = Swarm()

    try:
        client.run(agent, [{"role": "user", "content": "charge 4111 1111 1111 1111"}])
    except InputGuardrailTripped as trip:
        print(f"input blocked by {trip.guardrail}: {trip.result.info}; model calls: 0")

    model.add(tool_call("refund", {"amount": 500}), "I cannot refund that much myself.")
    response = client.run(agent, [{"role": "user", "content": "refund 500 please"}])
    print(f"tool said: {response.messages[1]['content']}")
    print(f"answer: {response.messages[-1]['content']}")

    model.add("We guarantee delivery tomorrow!")
    try:
        client.run(agent, [{"role": "user", "content": "when will it arrive?"}])
    except OutputGuardrailTripped as trip:
        print(f"answer withheld by {trip.guardrail}")


if __name__ == "__main__":
    main()
