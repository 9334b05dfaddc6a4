"""A personal shopper for Harbor & Pine, a fictional kitchen-and-home shop, on a real SQLite DB.

A triage agent sends the customer to a sales agent (``look_up_item``, ``order_item``) or a
refunds agent (``refund_item``, ``notify_customer``). The tools are methods of
:class:`~.shop.Shop`, which creates and seeds ``personal_shopper.db`` on first use in the data
directory (``build(data_dir=...)``, else ``$SWARMLET_DATA_DIR``, else the per-user data dir).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent
from swarmlet.examples import Example
from swarmlet.examples import data_dir as resolve_data_dir
from swarmlet.examples.personal_shopper.shop import Shop

__all__ = ["DB_NAME", "Shop", "ShopperAgents", "build", "make_agents"]

MODEL = "gpt-4o-mini"
DB_NAME = "personal_shopper.db"


@dataclass(frozen=True)
class ShopperAgents:
    """The three agents of one shop, wired together."""

    triage: Agent
    sales: Agent
    refunds: Agent


def _with_user(text: str) -> Any:
    # The signed-in customer comes from the context, so the model never has to guess an ID.
    def render(context_variables: dict[str, Any]) -> str:
        user_id = context_variables.get("user_id") or "unknown: ask the customer for it"
        return f"{text}\nThe signed-in customer's user_id is {user_id}."

    return render


def make_agents(shop: Shop) -> ShopperAgents:
    """Build the triage, sales and refunds agents working on ``shop``."""
    triage = Agent(
        name="Triage Agent",
        model=MODEL,
        instructions=_with_user(
            "You are the front desk of Harbor & Pine, a kitchen and home shop. Send customers "
            "who want to buy or find something to sales, and customers who want money back to "
            "refunds. Ask one short question if you cannot tell which."
        ),
    )
    sales = Agent(
        name="Sales Agent",
        model=MODEL,
        instructions=_with_user(
            "You help customers find and order products. Search with look_up_item, confirm the "
            "product and price with the customer, then call order_item. Never order without a "
            "clear yes."
        ),
        functions=[shop.look_up_item, shop.order_item],
    )
    refunds = Agent(
        name="Refunds Agent",
        model=MODEL,
        instructions=_with_user(
            "You process refunds. Find the item's product_id (use look_up_item if the customer "
            "only names it), call refund_item, then ask whether they want a confirmation by "
            "email or phone and call notify_customer."
        ),
        functions=[shop.refund_item, shop.notify_customer, shop.look_up_item],
    )

    def transfer_to_sales() -> Agent:
        """Send the customer to the sales agent to find or order products."""
        return sales

    def transfer_to_refunds() -> Agent:
        """Send the customer to the refunds agent to return an item."""
        return refunds

    def transfer_back_to_triage() -> Agent:
        """Send the customer back to triage when the request is not for this agent."""
        return triage

    triage.functions = [transfer_to_sales, transfer_to_refunds]
    sales.functions.append(transfer_back_to_triage)
    refunds.functions.append(transfer_back_to_triage)
    return ShopperAgents(triage=triage, sales=sales, refunds=refunds)


def build(data_dir: Path | None = None) -> Example:
    """The personal-shopper example, its database in ``data_dir`` (created on first use)."""
    shop = Shop(resolve_data_dir(data_dir) / DB_NAME)
    return Example(
        name="personal_shopper",
        description="A shop assistant that looks up, orders and refunds items in a SQLite DB.",
        agent=make_agents(shop).triage,
        context_variables={"user_id": 1},
        eval_cases={},
    )
