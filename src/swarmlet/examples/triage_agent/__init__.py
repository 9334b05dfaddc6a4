"""A triage agent that routes customers to a sales agent or a refunds agent, and back.

The specialists get a ``transfer_back_to_triage`` function so a customer who changes topic is not
stuck with the wrong agent. The refund and discount tools record what they did in the context
variables, so a run's outcome can be checked without a model.
"""

from __future__ import annotations

from pathlib import Path

from swarmlet.agent import Agent, Result
from swarmlet.examples import Example

__all__ = [
    "apply_discount",
    "build",
    "process_refund",
    "refunds_agent",
    "sales_agent",
    "transfer_back_to_triage",
    "transfer_to_refunds",
    "transfer_to_sales",
    "triage_agent",
]

MODEL = "gpt-4o-mini"
EVALS = Path(__file__).parent / "evals"

DISCOUNT = "11%"
"""The one discount the sales agent may hand out."""


def process_refund(item_id: str, reason: str = "NOT SPECIFIED") -> Result:
    """Refund an item. Ask for the item ID first; the reason is optional.

    Args:
        item_id: the ID of the item to refund, e.g. ``item_42``.
        reason: why the customer wants the refund.
    """
    return Result(
        value=f"Refund for {item_id} processed (reason: {reason}).",
        context_variables={"last_refund": {"item_id": item_id, "reason": reason}},
    )


def apply_discount() -> Result:
    """Apply the customer's discount to their cart."""
    return Result(
        value=f"A {DISCOUNT} discount was applied to the cart.",
        context_variables={"discount": DISCOUNT},
    )


triage_agent = Agent(
    name="Triage Agent",
    model=MODEL,
    instructions=(
        "You greet customers of an online garden-tools shop and work out what they need. "
        "Send buying questions to sales and refund or return requests to refunds. "
        "If the request is unclear, ask one short question before routing. "
        "Never mention that you are transferring; just call the transfer function."
    ),
)

sales_agent = Agent(
    name="Sales Agent",
    model=MODEL,
    instructions=(
        "You sell garden tools. Be enthusiastic but honest, keep answers short, and offer the "
        "discount only to customers who hesitate over price."
    ),
    functions=[apply_discount],
)

refunds_agent = Agent(
    name="Refunds Agent",
    model=MODEL,
    instructions=(
        "You handle refunds. Ask for the item ID if you do not have it, and for the reason if "
        "the customer wants to give one. If the customer is unhappy about price rather than "
        "quality, you may offer a discount code instead of a refund."
    ),
    functions=[process_refund, apply_discount],
)


def transfer_to_sales() -> Agent:
    """Route the customer to the sales agent (buying, prices, product questions)."""
    return sales_agent


def transfer_to_refunds() -> Agent:
    """Route the customer to the refunds agent (returns, refunds, broken items)."""
    return refunds_agent


def transfer_back_to_triage() -> Agent:
    """Send the customer back to triage when their request is not for this agent."""
    return triage_agent


triage_agent.functions = [transfer_to_sales, transfer_to_refunds]
sales_agent.functions.append(transfer_back_to_triage)
refunds_agent.functions.append(transfer_back_to_triage)


def build(data_dir: Path | None = None) -> Example:
    """The triage example; it keeps no data, so ``data_dir`` is ignored."""
    return Example(
        name="triage_agent",
        description="A triage agent routing customers to sales or refunds, and back.",
        agent=triage_agent,
        context_variables={},
        eval_cases={"triage": EVALS / "triage_cases.json"},
    )
