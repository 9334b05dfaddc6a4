"""The ``personal_shopper`` example, against a real SQLite database in a temporary data dir."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from swarmlet import Agent, Swarm
from swarmlet.examples import load
from swarmlet.examples.personal_shopper import DB_NAME, Shop, build, make_agents
from swarmlet.testing import ScriptedModel, tool_call


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    return Shop(tmp_path / "data" / DB_NAME)


def rows(shop: Shop, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(shop.path)) as conn:
        return conn.execute(sql, params).fetchall()


def tool(agent: Agent, name: str) -> Any:
    return next(f for f in agent.functions if f.__name__ == name)


def test_database_is_created_and_seeded_once_on_first_use(shop: Shop) -> None:
    assert not shop.path.exists()
    shop.look_up_item("kettle")
    assert rows(shop, "SELECT count(*) FROM users") == [(4,)]
    assert rows(shop, "SELECT count(*) FROM products") == [(10,)]
    assert rows(shop, "SELECT count(*) FROM orders") == [(6,)]
    Shop(shop.path).order_item(1, 4)  # a second "process" must not seed again
    assert rows(shop, "SELECT count(*) FROM users") == [(4,)]
    assert rows(shop, "SELECT count(*) FROM orders") == [(7,)]


def test_build_uses_data_dir_argument_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWARMLET_DATA_DIR", str(tmp_path / "env"))
    sales = load("personal_shopper").agent.functions[0]()
    tool(sales, "look_up_item")("skillet")
    assert (tmp_path / "env" / DB_NAME).is_file()
    sales = build(data_dir=tmp_path / "arg").agent.functions[0]()
    tool(sales, "look_up_item")("skillet")
    assert (tmp_path / "arg" / DB_NAME).is_file()


def test_refund_marks_the_order_refunded_once(shop: Shop) -> None:
    answer = shop.refund_item(1, 1)
    assert answer.startswith("Refunded order #1: Cast-iron skillet") and "$39.00" in answer
    assert rows(shop, "SELECT status, refunded_at IS NOT NULL FROM orders WHERE id = 1") == [
        ("refunded", 1)
    ]
    assert shop.refund_item(1, 1) == "Order #1 (Cast-iron skillet 26 cm) was already refunded."
    assert "nothing to refund" in shop.refund_item(1, 3)
    assert shop.refund_item(99, 1) == "No customer with user ID 99."
    assert rows(shop, "SELECT count(*) FROM orders WHERE status = 'refunded'") == [(2,)]


def test_refund_picks_an_open_order_when_the_item_was_bought_twice(shop: Shop) -> None:
    shop.order_item(2, 7)  # user 2's earlier order of product 7 is already refunded
    assert shop.refund_item(2, 7).startswith("Refunded order #7")
    assert rows(shop, "SELECT status FROM orders WHERE product_id = 7 ORDER BY id") == [
        ("refunded",),
        ("refunded",),
    ]


def test_order_inserts_a_row_and_takes_stock(shop: Shop) -> None:
    assert shop.order_item(3, 5) == "Order #7 placed: Pour-over coffee kettle, $45.00."
    assert rows(
        shop, "SELECT user_id, product_id, price_cents, status FROM orders WHERE id = 7"
    ) == [(3, 5, 4500, "placed")]
    assert rows(shop, "SELECT stock FROM products WHERE id = 5") == [(10,)]
    assert shop.order_item(3, 6) == "Sorry, Ceramic coffee dripper is out of stock."
    assert "No product with ID 404" in shop.order_item(3, 404)
    assert shop.order_item(77, 5) == "No customer with user ID 77."
    assert rows(shop, "SELECT count(*) FROM orders") == [(7,)]


def test_notify_records_a_notification(shop: Shop) -> None:
    assert shop.notify_customer(2, "email") == "Notified Tomasz by email at tomasz.w@example.net."
    assert shop.notify_customer(2, "phone") == "Notified Tomasz by phone at +1 555 0102."
    assert "use 'email' or 'phone'" in shop.notify_customer(2, "fax")  # type: ignore[arg-type]
    assert rows(shop, "SELECT user_id, method, destination FROM notifications ORDER BY id") == [
        (2, "email", "tomasz.w@example.net"),
        (2, "phone", "+1 555 0102"),
    ]


def test_look_up_ranks_by_matching_words(shop: Shop) -> None:
    lines = shop.look_up_item("Coffee KETTLE?").splitlines()
    assert lines[0].startswith("product_id 5: Pour-over coffee kettle")
    assert (
        lines[1].startswith("product_id 6: Ceramic coffee dripper") and "none in stock" in lines[1]
    )
    assert shop.look_up_item("submarine") == "No products match 'submarine'."
    assert shop.look_up_item("towels")[:14] == "product_id 7: "
    assert shop.look_up_item("or") == "No products match 'or'."  # not a substring of "for"
    injection = "'; DROP TABLE products; --"
    assert shop.look_up_item(injection) == f"No products match {injection!r}."
    assert rows(shop, "SELECT count(*) FROM products") == [(10,)]
    assert shop.look_up_item("  ") == "Please describe the product you are looking for."


def test_agents_are_wired(shop: Shop) -> None:
    agents = make_agents(shop)
    assert tool(agents.triage, "transfer_to_sales")() is agents.sales
    assert tool(agents.triage, "transfer_to_refunds")() is agents.refunds
    assert tool(agents.sales, "transfer_back_to_triage")() is agents.triage
    assert tool(agents.refunds, "transfer_back_to_triage")() is agents.triage
    assert {f.__name__ for f in agents.refunds.functions} >= {"refund_item", "notify_customer"}
    assert {f.__name__ for f in agents.sales.functions} >= {"look_up_item", "order_item"}


def test_conversation_refunds_and_notifies(tmp_path: Path) -> None:
    example = build(data_dir=tmp_path)
    model = ScriptedModel(
        [
            tool_call("transfer_to_refunds"),
            tool_call("refund_item", {"user_id": 1, "item_id": 1}),
            tool_call("notify_customer", {"user_id": 1, "method": "email"}),
            "Done: refunded and emailed.",
        ]
    )
    messages = [{"role": "user", "content": "I want to return my skillet"}]
    response = Swarm(client=model).run(example.agent, messages, example.context_variables)
    assert response.agent.name == "Refunds Agent"  # type: ignore[union-attr]
    assert "user_id is 1" in model.requests[1].messages[0]["content"]
    shop = Shop(tmp_path / DB_NAME)
    assert rows(shop, "SELECT status FROM orders WHERE id = 1") == [("refunded",)]
    assert rows(shop, "SELECT method FROM notifications") == [("email",)]
    model.assert_all_consumed()


def test_conversation_orders_through_sales(tmp_path: Path) -> None:
    example = build(data_dir=tmp_path)
    model = ScriptedModel(
        [
            tool_call("transfer_to_sales"),
            tool_call("look_up_item", {"search_query": "wool blanket"}),
            tool_call("order_item", {"user_id": 1, "product_id": 9}),
            "Ordered!",
        ]
    )
    response = Swarm(client=model).run(example.agent, [{"role": "user", "content": "blanket"}])
    assert response.agent.name == "Sales Agent"  # type: ignore[union-attr]
    assert response.messages[3]["content"].startswith("product_id 9: Wool throw blanket")
    shop = Shop(tmp_path / DB_NAME)
    assert rows(shop, "SELECT user_id, product_id FROM orders WHERE id = 7") == [(1, 9)]
    assert rows(shop, "SELECT stock FROM products WHERE id = 9") == [(3,)]
