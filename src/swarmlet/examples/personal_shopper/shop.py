"""The shop's SQLite database and the four tools that read and change it.

The database file is created and seeded (``schema.sql`` then ``seed.sql``) the first time a
tool needs it. Each tool opens its own short-lived connection: a sync tool may run on a pool
thread (`sync_tools="threads"`, or in the async API until it has proved quick), and sqlite3
connections must not cross threads. Tools answer misuse (unknown user, nothing to
refund, out of stock) with a sentence the model can relay, never with an exception.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Literal

__all__ = ["Shop"]

_HERE = Path(__file__).parent


def _money(cents: int) -> str:
    return f"${cents / 100:.2f}"


class Shop:
    """Harbor & Pine's order database, with the agents' tools as methods.

    Args:
        path: the SQLite file; it and its directory are created on first use.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection to the (initialised) database, committed on success."""
        self._ensure_ready()
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            with conn:  # one transaction per tool call
                yield conn

    def _ensure_ready(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn:
                conn.executescript((_HERE / "schema.sql").read_text(encoding="utf-8"))
                if conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0:
                    # executescript runs outside the implicit transaction, so wrap it ourselves
                    # to seed all-or-nothing.
                    seed = (_HERE / "seed.sql").read_text(encoding="utf-8")
                    conn.executescript(f"BEGIN;\n{seed}\nCOMMIT;")
            self._ready = True

    def refund_item(self, user_id: int, item_id: int) -> str:
        """Refund the customer's most recent order of an item.

        Args:
            user_id: the customer's user ID.
            item_id: the product ID of the item to refund.
        """
        with self.connect() as conn:
            if _user(conn, user_id) is None:
                return f"No customer with user ID {user_id}."
            order = conn.execute(
                "SELECT o.id, o.status, o.price_cents, p.name FROM orders o "
                "JOIN products p ON p.id = o.product_id WHERE o.user_id = ? AND o.product_id = ? "
                "ORDER BY o.status = 'placed' DESC, o.created_at DESC, o.id DESC LIMIT 1",
                (user_id, item_id),
            ).fetchone()
            if order is None:
                return f"User {user_id} has no order of item {item_id}; nothing to refund."
            if order["status"] == "refunded":
                return f"Order #{order['id']} ({order['name']}) was already refunded."
            conn.execute(
                "UPDATE orders SET status = 'refunded', refunded_at = datetime('now') WHERE id = ?",
                (order["id"],),
            )
        return (
            f"Refunded order #{order['id']}: {order['name']}, "
            f"{_money(order['price_cents'])} back to the original payment method."
        )

    def notify_customer(self, user_id: int, method: Literal["email", "phone"]) -> str:
        """Notify the customer about their order, by email or by phone (text message).

        Args:
            user_id: the customer's user ID.
            method: "email" or "phone".
        """
        if method not in ("email", "phone"):
            return f"Unknown notification method {method!r}; use 'email' or 'phone'."
        with self.connect() as conn:
            user = _user(conn, user_id)
            if user is None:
                return f"No customer with user ID {user_id}."
            destination = user[method]
            conn.execute(
                "INSERT INTO notifications (user_id, method, destination) VALUES (?, ?, ?)",
                (user_id, method, destination),
            )
        return f"Notified {user['first_name']} by {method} at {destination}."

    def order_item(self, user_id: int, product_id: int) -> str:
        """Place an order of one unit of a product for the customer.

        Args:
            user_id: the customer's user ID.
            product_id: the ID of the product to order (see look_up_item).
        """
        with self.connect() as conn:
            if _user(conn, user_id) is None:
                return f"No customer with user ID {user_id}."
            product = conn.execute(
                "SELECT name, price_cents, stock FROM products WHERE id = ?", (product_id,)
            ).fetchone()
            if product is None:
                return f"No product with ID {product_id}; use look_up_item to find one."
            if product["stock"] < 1:
                return f"Sorry, {product['name']} is out of stock."
            conn.execute("UPDATE products SET stock = stock - 1 WHERE id = ?", (product_id,))
            cursor = conn.execute(
                "INSERT INTO orders (user_id, product_id, price_cents) VALUES (?, ?, ?)",
                (user_id, product_id, product["price_cents"]),
            )
        price = _money(product["price_cents"])
        return f"Order #{cursor.lastrowid} placed: {product['name']}, {price}."

    def look_up_item(self, search_query: str) -> str:
        """Search the catalogue; returns matching products with their IDs, prices and stock.

        Args:
            search_query: words describing the product, e.g. "coffee kettle".
        """
        words = _search_words(search_query)
        if not words:
            return "Please describe the product you are looking for."
        # Rank by how many query words start a word of the product's text (so "or" does not
        # match "for"); ties go to the cheaper product.
        text = "(' ' || lower(name || ' ' || description))"
        score = " + ".join([f"(instr({text}, ' ' || ?) > 0)"] * len(words))
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT id, name, price_cents, stock, {score} AS hits FROM products "
                "WHERE hits > 0 ORDER BY hits DESC, price_cents LIMIT 5",
                words,
            ).fetchall()
        if not rows:
            return f"No products match {search_query!r}."
        return "\n".join(
            f"product_id {r['id']}: {r['name']} — {_money(r['price_cents'])}, "
            f"{r['stock'] or 'none'} in stock"
            for r in rows
        )


def _search_words(query: str) -> list[str]:
    """Distinct words of ``query``, plurals cut to a prefix ("towels" finds "towel")."""
    words = [w.removesuffix("s") if len(w) > 3 else w for w in re.findall(r"\w+", query.lower())]
    return list(dict.fromkeys(words))[:8]


def _user(conn: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    return row
