"""Persistent sessions: conversations that survive restarts and are shared between processes.

::

    from swarmlet.sessions import SQLiteSession

    session = SQLiteSession("user-42", "chats.db")
    client.run(agent, "Hi!", session=session)        # loads history, runs, stores each message
    client.run(agent, "And then?", session=session)  # continues the same conversation

A backend is a :class:`SessionStore` (SQLite, PostgreSQL, in memory, or your own); a
:class:`Session` is one conversation in a store, and is what ``session=`` accepts.
``SQLiteSession``/``PostgresSession``/``MemorySession`` build one on a store shared per
file/DSN in the process. A server lists, reads and deletes conversations through the store
(``store = open_store("sqlite:///chats.db")``, ``store.list_sessions()``,
``Session(store, id)``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from swarmlet.exceptions import UsageError
from swarmlet.sessions.base import (
    LeaseLost,
    SessionBusy,
    SessionInfo,
    SessionState,
    SessionStore,
    Status,
)
from swarmlet.sessions.memory import MemoryStore
from swarmlet.sessions.postgres import PostgresStore  # asyncpg itself is imported on first use
from swarmlet.sessions.session import Lease, OnBusy, Session
from swarmlet.sessions.sqlite import SQLiteStore

__all__ = [
    "Lease",
    "LeaseLost",
    "MemorySession",
    "MemoryStore",
    "OnBusy",
    "PostgresSession",
    "PostgresStore",
    "SQLiteSession",
    "SQLiteStore",
    "Session",
    "SessionBusy",
    "SessionInfo",
    "SessionState",
    "SessionStore",
    "Status",
    "open_store",
    "shared_store",
]

_stores: dict[str, SessionStore] = {}
_stores_lock = threading.Lock()


def open_store(url: str) -> SessionStore:
    """A new store for a URL: ``sqlite:///path/to.db``, ``postgresql://...``, or ``memory:``.

    Raises:
        UsageError: the URL's scheme is none of these.
    """
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url == "memory:":
        return MemoryStore()
    raise UsageError("session database URL must start with sqlite:///, postgresql:// or be memory:")


def shared_store(url: str) -> SessionStore:
    """The process-wide store for ``url`` (opened on first use), shared by every session on it."""
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = open_store(url)
        return store


class SQLiteSession(Session):
    """A conversation in the SQLite file at ``path``; the file's store is shared in-process.

    Keyword arguments (``on_busy``, ``wait_timeout``, ``lease_ttl``) are :class:`Session`'s.
    """

    def __init__(self, session_id: str, path: str | Path, **options: Any) -> None:
        super().__init__(shared_store(f"sqlite:///{Path(path).resolve()}"), session_id, **options)


class PostgresSession(Session):
    """A conversation in the PostgreSQL database at ``dsn`` (needs ``swarmlet[postgres]``).

    The DSN's store (and its connection pool) is shared in-process. Keyword arguments are
    :class:`Session`'s.
    """

    def __init__(self, session_id: str, dsn: str, **options: Any) -> None:
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise UsageError("dsn must be a postgresql:// URL")
        super().__init__(shared_store(dsn), session_id, **options)


class MemorySession(Session):
    """A conversation kept in this process's memory (tests, throwaway scripts).

    Sessions created with the same id share their history while the process lives.
    """

    def __init__(self, session_id: str, **options: Any) -> None:
        super().__init__(shared_store("memory:"), session_id, **options)
