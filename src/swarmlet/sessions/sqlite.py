"""Sessions in a SQLite file: the default backend, safe across threads and processes.

The standard library's ``sqlite3`` runs on one worker thread per store (SQLite calls block;
the event loop must not), with one connection opened there. The connection is set up once:
``busy_timeout`` first (so even switching to WAL waits for a lock instead of failing when
several processes open a new file at once), then WAL (readers never block the writer), and
``synchronous=NORMAL`` (a committed write survives the process being killed; a power cut may
roll back the last commits, never corrupt the file). Every write is one ``BEGIN IMMEDIATE``
transaction: SQLite's own write lock serialises writers across processes, and the lease row
(see :mod:`swarmlet.sessions.session`) keeps two runs off one session.

The schema is created on first use by numbered migrations (``MIGRATIONS[i]`` makes version
``i + 1``), recorded in ``swarmlet_schema_version``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from swarmlet.exceptions import ConfigurationError
from swarmlet.sessions.base import (
    LeaseLost,
    SessionBusy,
    SessionInfo,
    SessionState,
    Status,
    check_messages,
    to_json,
)

__all__ = ["MIGRATIONS", "SQLiteStore"]

T = TypeVar("T")

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE swarmlet_sessions (
            session_id TEXT PRIMARY KEY,
            agent_name TEXT,
            context_variables TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'idle',
            run_state TEXT,
            message_count INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_token INTEGER NOT NULL DEFAULT 0,
            lease_expires REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
        "CREATE INDEX swarmlet_sessions_updated ON swarmlet_sessions (updated_at)",
        """CREATE TABLE swarmlet_messages (
            session_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            message TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)) WITHOUT ROWID""",
    ],
]
"""The schema, one list of statements per version."""

_COLUMNS = (
    "session_id, agent_name, context_variables, status, run_state, message_count, "
    "lease_expires, created_at, updated_at"
)

# The first user message with string content: found by the primary key's order, so a listing
# reads a message or two per session, not whole histories.
_TITLE = (
    "(SELECT json_extract(m.message, '$.content') FROM swarmlet_messages m "
    "WHERE m.session_id = s.session_id AND json_extract(m.message, '$.role') = 'user' "
    "AND json_type(m.message, '$.content') = 'text' ORDER BY m.seq LIMIT 1) AS title"
)


class SQLiteStore:
    """Sessions in the SQLite database at ``path`` (created on first use).

    Implements :class:`~swarmlet.sessions.SessionStore`. One store per file per process is
    enough (``SQLiteSession`` shares one per path); several processes may open the same file.

    Args:
        path: the database file.
        busy_timeout: seconds a write waits for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="swarmlet-sqlite")
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(connection, *args)`` on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._run, fn, *args))

    def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None:
            self._conn = self._connect()
        return fn(self._conn, *args)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; each write says BEGIN IMMEDIATE.
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise ConfigurationError(f"cannot open session database {self.path}: {exc}") from None
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        _enable_wal(conn, self.busy_timeout)
        conn.execute("PRAGMA synchronous = NORMAL")
        _write(conn, _migrate)
        return conn

    async def create(self, session_id: str) -> bool:
        return await self._call(_write, functools.partial(_create, session_id=session_id))

    async def acquire(
        self, session_id: str, owner: str, ttl: float, *, steal_from: str | None = None
    ) -> int:
        fn = functools.partial(
            _acquire, session_id=session_id, owner=owner, ttl=ttl, steal_from=steal_from
        )
        return await self._call(_write, fn)

    async def renew(self, session_id: str, token: int, ttl: float) -> None:
        def renew(conn: sqlite3.Connection) -> None:
            _fenced(conn, session_id, token, "lease_expires = ?", time.time() + ttl)

        await self._call(_write, renew)

    async def release(
        self, session_id: str, token: int, status: Status, run_state: str | None = None
    ) -> None:
        def release(conn: sqlite3.Connection) -> None:
            sets = "lease_owner = NULL, lease_expires = NULL, status = ?, run_state = ?"
            _fenced(conn, session_id, token, sets, status, run_state)

        await self._call(_write, release)

    async def append(self, session_id: str, token: int, messages: Sequence[dict[str, Any]]) -> None:
        encoded = check_messages(messages)

        def append(conn: sqlite3.Connection) -> None:
            count = _fenced(
                conn, session_id, token, "message_count = message_count + ?", len(encoded)
            )
            base = count - len(encoded)  # RETURNING shows the updated count
            conn.executemany(
                "INSERT INTO swarmlet_messages (session_id, seq, message) VALUES (?, ?, ?)",
                [(session_id, base + i, text) for i, text in enumerate(encoded)],
            )

        await self._call(_write, append)

    async def truncate(self, session_id: str, token: int, count: int) -> None:
        def truncate(conn: sqlite3.Connection) -> None:
            sets = "message_count = min(message_count, max(?, 0))"
            _fenced(conn, session_id, token, sets, count)
            conn.execute(
                "DELETE FROM swarmlet_messages WHERE session_id = ? AND seq >= ?",
                (session_id, count),
            )

        await self._call(_write, truncate)

    async def save(
        self,
        session_id: str,
        token: int,
        *,
        agent_name: str | None,
        context_variables: dict[str, Any],
    ) -> None:
        context = to_json(context_variables, "context_variables")

        def save(conn: sqlite3.Connection) -> None:
            sets = "agent_name = ?, context_variables = ?, run_state = NULL"
            _fenced(conn, session_id, token, sets, agent_name, context)

        await self._call(_write, save)

    async def load(self, session_id: str) -> SessionState | None:
        return await self._call(_load, session_id)

    async def list_sessions(self, *, limit: int = 100, offset: int = 0) -> list[SessionInfo]:
        def list_(conn: sqlite3.Connection) -> list[SessionInfo]:
            rows = conn.execute(
                f"SELECT {_COLUMNS}, {_TITLE} FROM swarmlet_sessions s "
                "ORDER BY updated_at DESC, session_id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            return [_info(row) for row in rows]

        return await self._call(list_)

    async def delete(self, session_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM swarmlet_messages WHERE session_id = ?", (session_id,))
            cur = conn.execute("DELETE FROM swarmlet_sessions WHERE session_id = ?", (session_id,))
            return cur.rowcount > 0

        return await self._call(_write, delete)

    async def close(self) -> None:
        def close(conn: sqlite3.Connection) -> None:
            conn.close()

        if self._conn is not None:
            await self._call(close)
            self._conn = None
        self._executor.shutdown(wait=False)


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the database to WAL, waiting up to ``timeout`` seconds for a racing connection.

    When several connections switch a new database at the same moment, SQLite can answer one
    with "database is locked" at once, without calling the busy handler (seen here with 8
    threads opening one new file); so the wait is ours.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _write(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` in one write transaction (SQLite's write lock held from its start)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS swarmlet_schema_version "
        "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    current = conn.execute("SELECT max(version) FROM swarmlet_schema_version").fetchone()[0] or 0
    if current > len(MIGRATIONS):
        raise ConfigurationError(
            f"session database schema version {current} is newer than this swarmlet "
            f"understands ({len(MIGRATIONS)}): upgrade swarmlet"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        for statement in MIGRATIONS[version - 1]:
            conn.execute(statement)
        conn.execute("INSERT INTO swarmlet_schema_version VALUES (?, ?)", (version, time.time()))


def _create(conn: sqlite3.Connection, *, session_id: str) -> bool:
    now = time.time()
    cur = conn.execute(
        "INSERT INTO swarmlet_sessions (session_id, created_at, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (session_id) DO NOTHING",
        (session_id, now, now),
    )
    return cur.rowcount > 0


def _acquire(
    conn: sqlite3.Connection, *, session_id: str, owner: str, ttl: float, steal_from: str | None
) -> int:
    _create(conn, session_id=session_id)
    now = time.time()
    row = conn.execute(
        "UPDATE swarmlet_sessions SET lease_owner = ?, lease_token = lease_token + 1, "
        "lease_expires = ?, status = 'running', updated_at = ? WHERE session_id = ? AND "
        "(lease_owner IS NULL OR lease_expires < ? OR lease_owner = ?) RETURNING lease_token",
        (owner, now + ttl, now, session_id, now, steal_from),
    ).fetchone()
    if row is not None:
        return int(row[0])
    holder = conn.execute(
        "SELECT lease_owner FROM swarmlet_sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    raise SessionBusy(
        f"session {session_id!r} is in use by another run", session_id=session_id, owner=holder[0]
    )


def _fenced(conn: sqlite3.Connection, session_id: str, token: int, sets: str, *args: Any) -> int:
    """Update the session row if ``token`` still holds its lease; return its message count.

    Raises:
        LeaseLost: the lease was released, taken over, or the session deleted.
    """
    row = conn.execute(
        f"UPDATE swarmlet_sessions SET {sets}, updated_at = ? "
        "WHERE session_id = ? AND lease_token = ? AND lease_owner IS NOT NULL "
        "RETURNING message_count",
        (*args, time.time(), session_id, token),
    ).fetchone()
    if row is None:
        raise LeaseLost(
            f"session {session_id!r}: this run no longer holds the session", session_id=session_id
        )
    return int(row[0])


def _load(conn: sqlite3.Connection, session_id: str) -> SessionState | None:
    conn.execute("BEGIN")  # one snapshot for the row and its messages
    try:
        return _read(conn, session_id)
    finally:
        conn.execute("COMMIT")


def _read(conn: sqlite3.Connection, session_id: str) -> SessionState | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM swarmlet_sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    if row is None:
        return None
    messages = conn.execute(
        "SELECT message FROM swarmlet_messages WHERE session_id = ? ORDER BY seq", (session_id,)
    ).fetchall()
    return _state(row, [json.loads(m[0]) for m in messages])


def _status(status: str, expires: float | None) -> Status:
    if status == "running" and expires is not None and expires < time.time():
        return "interrupted"  # its run died (or stalled) without releasing the lease
    return status  # type: ignore[return-value]  # only Status values are ever written


def _state(row: tuple[Any, ...], messages: list[dict[str, Any]]) -> SessionState:
    sid, agent, context, status, run_state, _count, expires, created, updated = row
    return SessionState(
        sid,
        messages,
        agent,
        json.loads(context),
        _status(status, expires),
        run_state,
        created,
        updated,
    )


def _info(row: tuple[Any, ...]) -> SessionInfo:
    sid, agent, _context, status, _run_state, count, expires, created, updated, title = row
    return SessionInfo(sid, _status(status, expires), agent, count, created, updated, title)
