"""The ``support_bot`` example: a real SQLite FTS5 index with BM25 ranking, tickets and emails."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from swarmlet import Swarm
from swarmlet.examples import support_bot
from swarmlet.examples.support_bot import DB_NAME, HelpCenter, build, make_agents
from swarmlet.examples.support_bot import helpcenter as hc
from swarmlet.testing import ScriptedModel, tool_call


@pytest.fixture
def center(tmp_path: Path) -> HelpCenter:
    return HelpCenter(tmp_path / "data" / DB_NAME)


def rows(center: HelpCenter, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(center.path)) as conn:
        return conn.execute(sql).fetchall()


def test_fts5_is_available_here() -> None:
    hc.require_fts5()  # the example's own check passes on this Python


def test_missing_fts5_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoFts5:
        def execute(self, sql: str) -> None:
            raise sqlite3.OperationalError("no such module: fts5")

        def close(self) -> None:
            pass

    monkeypatch.setattr(hc.sqlite3, "connect", lambda *a, **k: NoFts5())
    with pytest.raises(RuntimeError, match="needs SQLite's FTS5"):
        build()


def test_articles_are_real_and_titled() -> None:
    articles = hc.load_articles()
    assert len(articles) >= 10
    assert all(a.title and not a.title.startswith("#") and len(a.body) > 200 for a in articles)
    assert len({a.title for a in articles}) == len(articles)


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("I forgot my password", "reset-password"),
        ("can I get my money back after cancelling?", "cancel-subscription-and-refunds"),
        ("export everything to markdown", "exporting-notes"),
        ("my note has a conflicted copy", "offline-and-sync"),
        ("invite a coworker to my notebook", "sharing-and-teammates"),
        ("lost my phone with the authenticator app", "two-factor-authentication"),
        ("what is the upload limit for a PDF", "attachments-and-storage"),
    ],
)
def test_the_relevant_article_comes_first(center: HelpCenter, query: str, slug: str) -> None:
    assert center.search(query)[0].slug == slug


def test_results_are_ordered_by_bm25(center: HelpCenter) -> None:
    hits = center.search("refunds billing invoices cancel", limit=5)
    assert len(hits) >= 3
    scores = [h.score for h in hits]
    assert scores == sorted(scores) and scores[0] < 0  # FTS5's bm25: lower is better
    with closing(sqlite3.connect(center.path)) as conn:
        plain = conn.execute(
            "SELECT slug FROM articles WHERE articles MATCH ? ORDER BY bm25(articles, 0, 4, 1)",
            (hc.match_expression("refunds billing invoices cancel"),),
        ).fetchall()
    assert [h.slug for h in hits] == [slug for (slug,) in plain][: len(hits)]


@pytest.mark.parametrize(
    ("query", "title_hit"), [("plans", "plans-and-billing"), ("notebooks", "sharing-and-teammates")]
)
def test_title_matches_outweigh_body_matches(
    center: HelpCenter, query: str, title_hit: str
) -> None:
    assert center.search(query)[0].slug == title_hit
    # With equal column weights another article (mentioning the word more in its body) wins,
    # so the title weight is what puts the titled article first.
    with closing(sqlite3.connect(center.path)) as conn:
        (unweighted,) = conn.execute(
            "SELECT slug FROM articles WHERE articles MATCH ? ORDER BY bm25(articles, 0, 1, 1)",
            (hc.match_expression(query),),
        ).fetchone()
    assert unweighted != title_hit


def test_stemming_and_hostile_queries(center: HelpCenter) -> None:
    assert center.search("refunded")[0].slug == "cancel-subscription-and-refunds"
    assert center.search('" AND ( NEAR * -') == []
    assert center.search("how do I") == []  # only stop words
    assert center.search("zeppelin") == []


def test_query_docs_formats_titles_and_snippets(center: HelpCenter) -> None:
    text = center.query_docs("reset password")
    first = text.split("\n\n")[0]
    assert first.startswith("1. Resetting a forgotten password [reset-password]")
    assert "**password**" in first and "\n   " in first
    assert center.query_docs("zeppelin") == "No help-center articles match 'zeppelin'."


def test_index_is_built_once_and_rebuilt_when_articles_change(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "one.md").write_text("# Alpha\nabout apples and more apples here")
    HelpCenter(tmp_path / "x.db", articles).search("apples")
    (articles / "two.md").write_text("# Beta\nabout bananas")
    center = HelpCenter(tmp_path / "x.db", articles)
    assert [h.slug for h in center.search("bananas")] == ["two"]
    assert rows(center, "SELECT count(*) FROM articles") == [(2,)]


def test_tickets_and_emails_are_stored(center: HelpCenter) -> None:
    assert center.submit_ticket("App crashes when pasting a table").startswith("Ticket #1 ")
    assert center.submit_ticket("Second").startswith("Ticket #2 ")
    assert center.submit_ticket("  ") == "Not submitted: the ticket needs a description."
    assert center.send_email("river@example.com", "Here is the article") == (
        "Email sent to river@example.com."
    )
    assert "not a valid email" in center.send_email("river at example", "x")
    assert rows(center, "SELECT description FROM tickets ORDER BY id") == [
        ("App crashes when pasting a table",),
        ("Second",),
    ]
    assert rows(center, "SELECT email_address, message FROM outbox") == [
        ("river@example.com", "Here is the article")
    ]


def test_agents_are_wired(center: HelpCenter) -> None:
    agents = make_agents(center)
    (transfer,) = agents.user_interface.functions
    assert transfer.__name__ == "transfer_to_help_center" and transfer() is agents.help_center
    assert [f.__name__ for f in agents.help_center.functions] == [
        "query_docs",
        "submit_ticket",
        "send_email",
    ]


def test_conversation_hands_off_and_searches(tmp_path: Path) -> None:
    example = build(data_dir=tmp_path)
    model = ScriptedModel(
        [
            tool_call("transfer_to_help_center"),
            tool_call("query_docs", {"query": "forgot password"}),
            tool_call("send_email", {"email_address": "river.hale@example.com", "message": "x"}),
            "See 'Resetting a forgotten password'; I emailed you the steps.",
        ]
    )
    messages = [{"role": "user", "content": "I forgot my password"}]
    response = Swarm(client=model).run(example.agent, messages, example.context_variables)
    assert response.agent is not None and response.agent.name == "Help Center Agent"
    assert response.messages[3]["content"].startswith("1. Resetting a forgotten password")
    assert "river.hale@example.com" in model.requests[1].messages[0]["content"]
    assert rows(HelpCenter(tmp_path / DB_NAME), "SELECT email_address FROM outbox") == [
        ("river.hale@example.com",)
    ]
    assert support_bot.DB_NAME == "support_bot.db"
    model.assert_all_consumed()
