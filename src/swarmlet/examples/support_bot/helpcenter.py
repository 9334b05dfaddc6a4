"""Ferncloud's help center: a SQLite FTS5 full-text index of the markdown articles, BM25-ranked.

The index is built the first time it is needed, from ``articles/*.md`` (title = the first
``# `` line). A fingerprint of the articles is stored with it, so editing an article rebuilds
the index instead of serving stale text. Tickets and sent emails go to tables in the same file,
so the tools' effects can be inspected after a run.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ARTICLES_DIR", "Article", "HelpCenter", "Hit", "load_articles", "require_fts5"]

ARTICLES_DIR = Path(__file__).parent / "articles"

# Title matches count four times as much as body matches: a user asking about "refunds" wants
# the refunds article, not every article that mentions a refund in passing.
TITLE_WEIGHT, BODY_WEIGHT = 4.0, 1.0

# Words that would match nearly every article; dropping them keeps BM25 focused on content.
_STOPWORDS = frozenset(
    "a an and are can do does for from how i in is it me my of on or the to what when where "  # noqa: SIM905
    "why with you your".split()
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email_address TEXT NOT NULL,
    message TEXT NOT NULL,
    sent_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""


@dataclass(frozen=True)
class Article:
    """One help-center article."""

    slug: str
    title: str
    body: str


@dataclass(frozen=True)
class Hit:
    """A search result; ``score`` is FTS5's bm25() value (lower is more relevant)."""

    slug: str
    title: str
    snippet: str
    score: float


def require_fts5() -> None:
    """Raise ``RuntimeError`` with a clear message if this sqlite3 lacks FTS5."""
    with closing(sqlite3.connect(":memory:")) as conn:
        try:
            conn.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
        except sqlite3.OperationalError as exc:
            raise RuntimeError(
                "the support_bot example needs SQLite's FTS5 extension, which this Python's "
                f"sqlite3 (SQLite {sqlite3.sqlite_version}) lacks; use a standard CPython "
                "build or one linked against a SQLite compiled with FTS5"
            ) from exc


def load_articles(directory: Path = ARTICLES_DIR) -> list[Article]:
    """Read every ``*.md`` article in ``directory``, sorted by file name."""
    articles = []
    for path in sorted(directory.glob("*.md")):
        text = path.read_text(encoding="utf-8").strip()
        first, _, rest = text.partition("\n")
        title = first.removeprefix("# ").strip() if first.startswith("# ") else path.stem
        articles.append(Article(path.stem, title, rest.strip() if first.startswith("# ") else text))
    return articles


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH expression for free text: any of its words, each quoted.

    Quoting makes user text (``C++``, ``"``, ``AND``, ``-``) safe: FTS5 would otherwise read it
    as query syntax and fail. ``None`` when no searchable word is left.
    """
    words = [w for w in re.findall(r"\w+", query.lower()) if w not in _STOPWORDS]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words)) or None


def _fingerprint(articles: list[Article]) -> str:
    digest = hashlib.sha256()
    for article in articles:
        digest.update(f"{article.slug}\0{article.title}\0{article.body}\0".encode())
    return digest.hexdigest()


class HelpCenter:
    """The article index plus the ticket and email tools, in one SQLite file.

    Args:
        path: the SQLite file; it and its directory are created on first use.
        articles_dir: where the markdown articles live.
    """

    def __init__(self, path: Path, articles_dir: Path = ARTICLES_DIR) -> None:
        self.path = Path(path)
        self.articles_dir = articles_dir
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection to the built index, committed on success."""
        self._ensure_index()
        # A connection per call: a sync tool may run on a pool thread, a connection on one only.
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            yield conn

    def _ensure_index(self) -> None:
        with self._lock:
            if self._ready:
                return
            require_fts5()
            articles = load_articles(self.articles_dir)
            fingerprint = _fingerprint(articles)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
                conn.executescript(_SCHEMA)
                row = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
                if row is None or row[0] != fingerprint:
                    _rebuild(conn, articles, fingerprint)
            self._ready = True

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        """The ``limit`` most relevant articles for ``query``, best (lowest bm25) first."""
        expression = match_expression(query)
        if expression is None:
            return []
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT slug, title, snippet(articles, 2, '**', '**', '…', 16), "
                "bm25(articles, 0.0, ?, ?) AS score FROM articles WHERE articles MATCH ? "
                "ORDER BY score LIMIT ?",
                (TITLE_WEIGHT, BODY_WEIGHT, expression, limit),
            ).fetchall()
        # Articles are hard-wrapped; one-line snippets read better in a tool result.
        return [
            Hit(slug, title, " ".join(snip.split()), score) for slug, title, snip, score in rows
        ]

    def query_docs(self, query: str) -> str:
        """Search the help center; returns the best matching articles with a snippet of each.

        Args:
            query: what the user wants to know, in their words.
        """
        hits = self.search(query)
        if not hits:
            return f"No help-center articles match {query!r}."
        return "\n\n".join(
            f"{rank}. {hit.title} [{hit.slug}]\n   {hit.snippet}"
            for rank, hit in enumerate(hits, start=1)
        )

    def submit_ticket(self, description: str) -> str:
        """Open a support ticket for a human to follow up on.

        Args:
            description: the problem, with everything the user already tried.
        """
        if not description.strip():
            return "Not submitted: the ticket needs a description."
        with self.connect() as conn:
            cursor = conn.execute("INSERT INTO tickets (description) VALUES (?)", (description,))
        return f"Ticket #{cursor.lastrowid} submitted; support replies within one business day."

    def send_email(self, email_address: str, message: str) -> str:
        """Email the user, e.g. a link to an article or a summary of the answer.

        Args:
            email_address: where to send it.
            message: the email's text.
        """
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email_address):
            return f"Not sent: {email_address!r} is not a valid email address."
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO outbox (email_address, message) VALUES (?, ?)",
                (email_address, message),
            )
        return f"Email sent to {email_address}."


def _rebuild(conn: sqlite3.Connection, articles: list[Article], fingerprint: str) -> None:
    conn.execute("DROP TABLE IF EXISTS articles")
    # Porter stemming lets "refunded", "refunds" and "refund" find each other.
    conn.execute(
        "CREATE VIRTUAL TABLE articles USING fts5("
        "slug UNINDEXED, title, body, tokenize = 'porter unicode61')"
    )
    conn.executemany(
        "INSERT INTO articles (slug, title, body) VALUES (?, ?, ?)",
        [(a.slug, a.title, a.body) for a in articles],
    )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('fingerprint', ?)", (fingerprint,)
    )
