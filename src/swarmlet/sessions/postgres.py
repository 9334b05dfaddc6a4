"""Sessions in PostgreSQL, for several processes or machines sharing one database.

Built on ``asyncpg`` (the ``swarmlet[postgres]`` extra, imported on first use). asyncpg was
chosen over psycopg 3 + psycopg_pool by measurement: for the statement a session append runs,
it took about a third of psycopg's wall time and under half its client CPU per append
(``bench/session_drivers.py``; numbers in docs/sessions.md).

Each statement is one round trip: taking a lease is an ``INSERT ... ON CONFLICT DO UPDATE ...
WHERE`` (the row lock serialises concurrent takers, the ``WHERE`` admits only a free, expired or
dead-owner lease), and an append is one fenced ``UPDATE ... RETURNING`` feeding an ``INSERT``.
Times come from the database's clock, so machines with skewed clocks agree on lease expiry.
Migrations run under a transaction-scoped advisory lock, so processes starting together
apply each one once.

A store opens one connection pool per event loop it is used from (pools belong to their
loop); using one store from two loops *at the same time* is not supported.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import asyncpg
    import asyncpg.pool

__all__ = ["MIGRATIONS", "PostgresStore"]

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE swarmlet_sessions (
            session_id text PRIMARY KEY,
            agent_name text,
            context_variables text NOT NULL DEFAULT '{}',
            status text NOT NULL DEFAULT 'idle',
            run_state text,
            message_count bigint NOT NULL DEFAULT 0,
            lease_owner text,
            lease_token bigint NOT NULL DEFAULT 0,
            lease_expires double precision,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL)""",
        "CREATE INDEX swarmlet_sessions_updated ON swarmlet_sessions (updated_at)",
        """CREATE TABLE swarmlet_messages (
            session_id text NOT NULL,
            seq bigint NOT NULL,
            message text NOT NULL,
            PRIMARY KEY (session_id, seq))""",
    ],
]
"""The schema, one list of statements per version."""

_NOW = "extract(epoch from clock_timestamp())::float8"
_MIGRATION_LOCK = 0x5357_4D4C_5345_5353  # "SWMLSESS": the advisory lock key for migrations
_COLUMNS = (
    "session_id, agent_name, context_variables, "
    f"CASE WHEN status = 'running' AND lease_expires < {_NOW} THEN 'interrupted' "
    "ELSE status END AS status, run_state, message_count, created_at, updated_at"
)
# The first user message with string content, found in primary-key order (a listing reads a
# message or two per session, not whole histories).
_TITLE = """(SELECT m.message::json->>'content' FROM swarmlet_messages m
    WHERE m.session_id = s.session_id AND m.message::json->>'role' = 'user'
    AND json_typeof(m.message::json->'content') = 'string' ORDER BY m.seq LIMIT 1) AS title"""
_ACQUIRE = f"""
INSERT INTO swarmlet_sessions AS s
    (session_id, status, lease_owner, lease_token, lease_expires, created_at, updated_at)
VALUES ($1, 'running', $2, 1, {_NOW} + $3::float8, {_NOW}, {_NOW})
ON CONFLICT (session_id) DO UPDATE SET status = 'running', lease_owner = $2,
    lease_token = s.lease_token + 1, lease_expires = {_NOW} + $3::float8, updated_at = {_NOW}
WHERE s.lease_owner IS NULL OR s.lease_expires < {_NOW} OR s.lease_owner = $4
RETURNING lease_token"""
_FENCE = "WHERE session_id = $1 AND lease_token = $2 AND lease_owner IS NOT NULL"
_APPEND = f"""
WITH s AS (
    UPDATE swarmlet_sessions
    SET message_count = message_count + cardinality($3::text[]), updated_at = {_NOW}
    {_FENCE}
    RETURNING message_count - cardinality($3::text[]) AS base)
INSERT INTO swarmlet_messages (session_id, seq, message)
SELECT $1, s.base + m.ord - 1, m.message
FROM s, unnest($3::text[]) WITH ORDINALITY AS m(message, ord)
"""


class PostgresStore:
    """Sessions in the PostgreSQL database at ``dsn`` (tables created on first use).

    Implements :class:`~swarmlet.sessions.SessionStore`. Needs ``pip install
    'swarmlet[postgres]'``.

    Args:
        dsn: a libpq URL, ``postgresql://user:password@host:port/database``.
        min_size, max_size: the connection pool's bounds (per event loop).
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.min_size = min_size
        self.max_size = max_size
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[asyncpg.Pool]] = {}

    def __repr__(self) -> str:
        # Never show a password.
        return f"PostgresStore({_redacted(self.dsn)!r})"

    async def _connection_pool(self) -> asyncpg.Pool:
        """The pool for the running loop, opened (and the schema migrated) on first use."""
        loop = asyncio.get_running_loop()
        task = self._pools.get(loop)
        if task is None:
            self._forget_closed_loops()
            # One task per loop, awaited by every caller: the pool is opened once.
            task = self._pools[loop] = loop.create_task(self._open())
        try:
            return await asyncio.shield(task)
        except BaseException:
            if task.done() and not task.cancelled() and task.exception() is not None:
                del self._pools[loop]  # a failed open is retried by the next call
            raise

    def _forget_closed_loops(self) -> None:
        """Drop the pools of loops that have closed (e.g. after each ``asyncio.run``)."""
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            task = self._pools.pop(loop)
            if task.done() and not task.cancelled() and task.exception() is None:
                task.result().terminate()

    async def _open(self) -> asyncpg.Pool:
        try:
            import asyncpg
        except ImportError:
            raise ConfigurationError(
                "PostgresStore needs asyncpg: pip install 'swarmlet[postgres]'"
            ) from None
        try:
            pool = await asyncpg.create_pool(
                self.dsn, min_size=self.min_size, max_size=self.max_size
            )
        except (
            OSError,
            asyncio.TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            raise ConfigurationError(
                f"cannot connect to the session database {_redacted(self.dsn)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            async with pool.acquire() as conn, conn.transaction():
                await _migrate(conn)
        except BaseException:
            pool.terminate()
            raise
        return pool

    async def create(self, session_id: str) -> bool:
        pool = await self._connection_pool()
        status = await pool.execute(
            "INSERT INTO swarmlet_sessions (session_id, created_at, updated_at) "
            f"VALUES ($1, {_NOW}, {_NOW}) ON CONFLICT (session_id) DO NOTHING",
            session_id,
        )
        return bool(status.endswith(" 1"))

    async def acquire(
        self, session_id: str, owner: str, ttl: float, *, steal_from: str | None = None
    ) -> int:
        pool = await self._connection_pool()
        token = await pool.fetchval(_ACQUIRE, session_id, owner, ttl, steal_from)
        if token is not None:
            return int(token)
        holder = await pool.fetchval(
            "SELECT lease_owner FROM swarmlet_sessions WHERE session_id = $1", session_id
        )
        raise SessionBusy(
            f"session {session_id!r} is in use by another run", session_id=session_id, owner=holder
        )

    async def _fenced(self, session_id: str, token: int, sets: str, *args: Any) -> None:
        pool = await self._connection_pool()
        status = await pool.execute(
            f"UPDATE swarmlet_sessions SET {sets}, updated_at = {_NOW} {_FENCE}",
            session_id,
            token,
            *args,
        )
        if status.endswith(" 0"):
            raise _lost(session_id)

    async def renew(self, session_id: str, token: int, ttl: float) -> None:
        await self._fenced(session_id, token, f"lease_expires = {_NOW} + $3::float8", ttl)

    async def release(
        self, session_id: str, token: int, status: Status, run_state: str | None = None
    ) -> None:
        sets = "lease_owner = NULL, lease_expires = NULL, status = $3, run_state = $4"
        await self._fenced(session_id, token, sets, status, run_state)

    async def append(self, session_id: str, token: int, messages: Sequence[dict[str, Any]]) -> None:
        encoded = check_messages(messages)
        if not encoded:
            return
        pool = await self._connection_pool()
        status = await pool.execute(_APPEND, session_id, token, encoded)
        if status.endswith(" 0"):
            raise _lost(session_id)

    async def truncate(self, session_id: str, token: int, count: int) -> None:
        pool = await self._connection_pool()
        async with pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE swarmlet_sessions SET message_count = least(message_count, "
                f"greatest($3::bigint, 0)), updated_at = {_NOW} {_FENCE}",
                session_id,
                token,
                count,
            )
            if status.endswith(" 0"):
                raise _lost(session_id)
            await conn.execute(
                "DELETE FROM swarmlet_messages WHERE session_id = $1 AND seq >= $2",
                session_id,
                count,
            )

    async def save(
        self,
        session_id: str,
        token: int,
        *,
        agent_name: str | None,
        context_variables: dict[str, Any],
    ) -> None:
        context = to_json(context_variables, "context_variables")
        sets = "agent_name = $3, context_variables = $4, run_state = NULL"
        await self._fenced(session_id, token, sets, agent_name, context)

    async def load(self, session_id: str) -> SessionState | None:
        pool = await self._connection_pool()
        # One statement: one snapshot of the row and its messages, one round trip.
        row = await pool.fetchrow(
            f"SELECT {_COLUMNS}, array(SELECT message FROM swarmlet_messages m "
            "WHERE m.session_id = s.session_id ORDER BY seq) AS messages "
            "FROM swarmlet_sessions s WHERE session_id = $1",
            session_id,
        )
        if row is None:
            return None
        return SessionState(
            session_id=row["session_id"],
            messages=[json.loads(m) for m in row["messages"]],
            agent_name=row["agent_name"],
            context_variables=json.loads(row["context_variables"]),
            status=row["status"],
            run_state=row["run_state"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def list_sessions(self, *, limit: int = 100, offset: int = 0) -> list[SessionInfo]:
        pool = await self._connection_pool()
        rows = await pool.fetch(
            f"SELECT {_COLUMNS}, {_TITLE} FROM swarmlet_sessions s "
            "ORDER BY updated_at DESC, session_id LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        return [
            SessionInfo(
                r["session_id"],
                r["status"],
                r["agent_name"],
                r["message_count"],
                r["created_at"],
                r["updated_at"],
                r["title"],
            )
            for r in rows
        ]

    async def delete(self, session_id: str) -> bool:
        pool = await self._connection_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM swarmlet_messages WHERE session_id = $1", session_id)
            status = await conn.execute(
                "DELETE FROM swarmlet_sessions WHERE session_id = $1", session_id
            )
        return bool(status.endswith(" 1"))

    async def close(self) -> None:
        """Close the pool of this event loop; terminate those of other loops."""
        pools, self._pools = self._pools, {}
        current = asyncio.get_running_loop()
        for loop, task in pools.items():
            if not task.done() or task.cancelled() or task.exception() is not None:
                task.cancel()
                continue
            pool = task.result()
            if loop is current:
                await pool.close()
            elif loop.is_running():
                loop.call_soon_threadsafe(pool.terminate)
            else:
                pool.terminate()


async def _migrate(conn: asyncpg.pool.PoolConnectionProxy[Any]) -> None:
    """Apply the migrations this database lacks, once even when processes race."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS swarmlet_schema_version "
        "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM swarmlet_schema_version")
    if current > len(MIGRATIONS):
        raise ConfigurationError(
            f"session database schema version {current} is newer than this swarmlet "
            f"understands ({len(MIGRATIONS)}): upgrade swarmlet"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        for statement in MIGRATIONS[version - 1]:
            await conn.execute(statement)
        await conn.execute("INSERT INTO swarmlet_schema_version (version) VALUES ($1)", version)


def _redacted(dsn: str) -> str:
    """The DSN without its password (for messages and reprs)."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", dsn)


def _lost(session_id: str) -> LeaseLost:
    return LeaseLost(
        f"session {session_id!r}: this run no longer holds the session", session_id=session_id
    )
