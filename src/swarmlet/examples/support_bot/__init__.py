"""A support bot for Ferncloud Notes (a fictional app) that answers from its help center.

A user-interface agent talks to the user and hands product questions to a help-center agent,
which searches the articles in ``articles/`` with SQLite FTS5 (BM25 ranking, see
:mod:`.helpcenter`), and can open a ticket or email the user. The index is built on first use in
``support_bot.db`` in the data directory (``build(data_dir=...)``, else ``$SWARMLET_DATA_DIR``,
else the per-user data dir).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmlet.agent import Agent
from swarmlet.examples import Example
from swarmlet.examples import data_dir as resolve_data_dir
from swarmlet.examples.support_bot.helpcenter import HelpCenter, require_fts5

__all__ = ["DB_NAME", "HelpCenter", "SupportAgents", "build", "make_agents"]

MODEL = "gpt-4o-mini"
DB_NAME = "support_bot.db"


@dataclass(frozen=True)
class SupportAgents:
    """The two agents of one help center, wired together."""

    user_interface: Agent
    help_center: Agent


def _help_center_instructions(context_variables: dict[str, Any]) -> str:
    email = context_variables.get("user_email") or "unknown (ask before emailing)"
    return (
        "You are Ferncloud Notes' help-center agent. Answer only from the articles query_docs "
        "returns, and name the article you used. If no article answers the question, say so and "
        "offer to submit_ticket with a clear description. Send an email only when the user asks "
        f"for one. The user's email address is {email}."
    )


def make_agents(help_center: HelpCenter) -> SupportAgents:
    """Build the user-interface and help-center agents working on ``help_center``."""
    helper = Agent(
        name="Help Center Agent",
        model=MODEL,
        instructions=_help_center_instructions,
        functions=[help_center.query_docs, help_center.submit_ticket, help_center.send_email],
    )

    def transfer_to_help_center() -> Agent:
        """Hand the user to the help-center agent for any question about Ferncloud Notes."""
        return helper

    front = Agent(
        name="User Interface Agent",
        model=MODEL,
        instructions=(
            "You are the friendly first contact for Ferncloud Notes users. Chat briefly, and as "
            "soon as the user asks anything about the app, their account or billing, call "
            "transfer_to_help_center."
        ),
        functions=[transfer_to_help_center],
    )
    return SupportAgents(user_interface=front, help_center=helper)


def build(data_dir: Path | None = None) -> Example:
    """The support-bot example; its FTS5 index is built in ``data_dir`` on first use.

    Raises:
        RuntimeError: this Python's sqlite3 has no FTS5 (checked now rather than mid-chat).
    """
    require_fts5()
    help_center = HelpCenter(resolve_data_dir(data_dir) / DB_NAME)
    return Example(
        name="support_bot",
        description="A help-center bot searching its articles with SQLite FTS5 and BM25.",
        agent=make_agents(help_center).user_interface,
        context_variables={"user_email": "river.hale@example.com"},
        eval_cases={},
    )
