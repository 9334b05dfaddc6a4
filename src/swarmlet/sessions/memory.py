"""An in-memory session store for tests and throwaway scripts (lost when the process ends).

It keeps the same contract as the database stores -- leases with fencing tokens, JSON-only
values (so a test catches what a real store would refuse) -- and is safe across threads. It
cannot be shared between processes: use :class:`~swarmlet.sessions.sqlite.SQLiteStore` for that.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from swarmlet.sessions.base import (
    LeaseLost,
    SessionBusy,
    SessionInfo,
    SessionState,
    Status,
    check_messages,
    first_user_text,
    to_json,
)

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Row:
    messages: list[str] = field(default_factory=list)
    agent_name: str | None = None
    context: str = "{}"
    status: Status = "idle"
    run_state: str | None = None
    owner: str | None = None
    token: int = 0
    expires: float = 0.0
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)


class MemoryStore:
    """Sessions in a dict, behind a lock. Implements :class:`~swarmlet.sessions.SessionStore`."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()

    def _held(self, session_id: str, token: int) -> _Row:
        row = self._rows.get(session_id)
        if row is None or row.owner is None or row.token != token:
            raise LeaseLost(
                f"session {session_id!r}: this run no longer holds the session",
                session_id=session_id,
                owner=row.owner if row else None,
            )
        row.updated_at = time.time()
        return row

    async def create(self, session_id: str) -> bool:
        with self._lock:
            if session_id in self._rows:
                return False
            self._rows[session_id] = _Row()
            return True

    async def acquire(
        self, session_id: str, owner: str, ttl: float, *, steal_from: str | None = None
    ) -> int:
        now = time.time()
        with self._lock:
            row = self._rows.setdefault(session_id, _Row())
            free = row.owner is None or row.expires < now or row.owner == steal_from
            if not free:
                raise SessionBusy(
                    f"session {session_id!r} is in use by another run",
                    session_id=session_id,
                    owner=row.owner,
                )
            row.owner, row.token, row.expires = owner, row.token + 1, now + ttl
            row.status, row.updated_at = "running", now
            return row.token

    async def renew(self, session_id: str, token: int, ttl: float) -> None:
        with self._lock:
            self._held(session_id, token).expires = time.time() + ttl

    async def release(
        self, session_id: str, token: int, status: Status, run_state: str | None = None
    ) -> None:
        with self._lock:
            row = self._held(session_id, token)
            row.owner, row.expires, row.status, row.run_state = None, 0.0, status, run_state

    async def append(self, session_id: str, token: int, messages: Sequence[dict[str, Any]]) -> None:
        encoded = check_messages(messages)
        with self._lock:
            self._held(session_id, token).messages.extend(encoded)

    async def truncate(self, session_id: str, token: int, count: int) -> None:
        with self._lock:
            del self._held(session_id, token).messages[max(count, 0) :]

    async def save(
        self,
        session_id: str,
        token: int,
        *,
        agent_name: str | None,
        context_variables: dict[str, Any],
    ) -> None:
        context = to_json(context_variables, "context_variables")
        with self._lock:
            row = self._held(session_id, token)
            row.agent_name, row.context, row.run_state = agent_name, context, None

    async def load(self, session_id: str) -> SessionState | None:
        with self._lock:
            row = self._rows.get(session_id)
            if row is None:
                return None
            return SessionState(
                session_id=session_id,
                messages=[json.loads(m) for m in row.messages],
                agent_name=row.agent_name,
                context_variables=json.loads(row.context),
                status=_reported(row),
                run_state=row.run_state,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )

    async def list_sessions(self, *, limit: int = 100, offset: int = 0) -> list[SessionInfo]:
        with self._lock:
            ordered = sorted(self._rows.items(), key=lambda kv: kv[1].updated_at, reverse=True)
            return [_info(sid, row) for sid, row in ordered[offset : offset + limit]]

    async def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._rows.pop(session_id, None) is not None

    async def close(self) -> None:
        with self._lock:
            self._rows.clear()


def _info(session_id: str, row: _Row) -> SessionInfo:
    title = first_user_text(json.loads(m) for m in row.messages)  # parsed lazily
    return SessionInfo(
        session_id,
        _reported(row),
        row.agent_name,
        len(row.messages),
        row.created_at,
        row.updated_at,
        title,
    )


def _reported(row: _Row) -> Status:
    """``running`` with an expired lease means the run died: report it as interrupted."""
    if row.status == "running" and row.expires < time.time():
        return "interrupted"
    return row.status
