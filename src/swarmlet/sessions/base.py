"""The session contract: what a backend stores, and the protocol it implements.

A *session* is one conversation: its messages in order, the name of the active agent, the
context variables, a status and, while a run waits for approval, that run's state as JSON text.
A backend implements :class:`SessionStore` (eleven async methods keyed by session id); everything
else -- waiting for a busy session, keeping a lease alive, the ``session=`` integration -- is
written once, in :mod:`swarmlet.sessions.session`, on top of it.

Writes are *fenced*: only the holder of a session's lease may write, and every write names the
lease's token. Taking a lease increments the token (a version column), so a writer whose lease
expired and was taken over finds its token stale and gets :class:`LeaseLost` instead of
interleaving its messages with the new holder's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from swarmlet.exceptions import SwarmletError, UsageError

__all__ = [
    "LeaseLost",
    "SessionBusy",
    "SessionInfo",
    "SessionState",
    "SessionStore",
    "Status",
    "check_messages",
    "first_user_text",
    "to_json",
]

Status = Literal["idle", "running", "paused", "error", "interrupted"]
"""A session's status.

- ``idle``: no run in progress; the last one (if any) finished.
- ``running``: a run holds the session's lease.
- ``paused``: a run stopped to wait for approval; ``run_state`` holds what resuming needs.
- ``error``: the last run stopped on an error (its completed messages are stored).
- ``interrupted``: the last run's process died or let its lease expire mid-run (reported by
  ``load``/``list`` for a ``running`` session whose lease has run out).
"""


class SessionBusy(SwarmletError):
    """Another run holds this session (raised at once with ``on_busy="raise"``, or on timeout).

    Attributes:
        session_id: the session asked for.
        owner: who holds it (``host:pid:nonce``), when known.
    """

    def __init__(self, message: str, *, session_id: str, owner: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.owner = owner


class LeaseLost(SessionBusy):
    """A write was refused: this run's lease expired and another run has taken the session."""


@dataclass(slots=True)
class SessionInfo:
    """A session's summary, as listed (no messages).

    ``title`` is the text of the first user message whose content is a string (``None`` if
    there is none), for a list of conversations; shorten it as the display needs.
    """

    session_id: str
    status: Status
    agent_name: str | None
    message_count: int
    created_at: float
    updated_at: float
    title: str | None = None


@dataclass(slots=True)
class SessionState:
    """Everything stored for one session.

    ``created_at``/``updated_at`` are Unix timestamps; ``run_state`` is the paused run's state
    as JSON text (opaque to the store), or ``None``.
    """

    session_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    agent_name: str | None = None
    context_variables: dict[str, Any] = field(default_factory=dict)
    status: Status = "idle"
    run_state: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def info(self) -> SessionInfo:
        """This session's summary."""
        return SessionInfo(
            self.session_id,
            self.status,
            self.agent_name,
            len(self.messages),
            self.created_at,
            self.updated_at,
            first_user_text(self.messages),
        )


class SessionStore(Protocol):
    """A database of sessions: the protocol every backend implements.

    All methods are coroutines and safe to call concurrently from one event loop; backends
    that share a database across processes keep them safe across processes too. A session
    exists once created (``create``) or once a lease on it has been taken (``acquire`` creates
    it too). Messages and context variables are stored as JSON text; a value that cannot be
    encoded raises :class:`~swarmlet.exceptions.UsageError` before anything is written.
    """

    async def acquire(
        self, session_id: str, owner: str, ttl: float, *, steal_from: str | None = None
    ) -> int:
        """Take the session's lease for ``ttl`` seconds and return its new token.

        Succeeds when no one holds it, the holder's lease has expired, or the holder is
        ``steal_from`` (a dead process, found by the caller). The status becomes ``running``.

        Raises:
            SessionBusy: someone else holds a live lease (``.owner`` names them).
        """
        ...

    async def renew(self, session_id: str, token: int, ttl: float) -> None:
        """Extend the lease to ``ttl`` seconds from now. Raises LeaseLost if it is not held."""
        ...

    async def release(
        self, session_id: str, token: int, status: Status, run_state: str | None = None
    ) -> None:
        """Give the lease up, setting the final status (and the paused run's state, or clear
        it). Raises LeaseLost if the lease is no longer ours."""
        ...

    async def append(self, session_id: str, token: int, messages: Sequence[dict[str, Any]]) -> None:
        """Append messages in order, atomically. Raises LeaseLost if not held."""
        ...

    async def truncate(self, session_id: str, token: int, count: int) -> None:
        """Delete the messages after the first ``count``. Raises LeaseLost if not held."""
        ...

    async def save(
        self,
        session_id: str,
        token: int,
        *,
        agent_name: str | None,
        context_variables: dict[str, Any],
    ) -> None:
        """Store the active agent's name and the context variables, and clear a paused run's
        state (a run is in progress: a resume consumes it). Raises LeaseLost."""
        ...

    async def load(self, session_id: str) -> SessionState | None:
        """Everything stored for the session, or ``None`` if it does not exist."""
        ...

    async def create(self, session_id: str) -> bool:
        """Create an empty, idle session; ``False`` if it already existed (left unchanged)."""
        ...

    async def list_sessions(self, *, limit: int = 100, offset: int = 0) -> list[SessionInfo]:
        """Sessions, most recently updated first."""
        ...

    async def delete(self, session_id: str) -> bool:
        """Delete the session and its messages (even if held); ``False`` if it did not exist."""
        ...

    async def close(self) -> None:
        """Release connections and threads; the store cannot be used afterwards."""
        ...


def first_user_text(messages: Iterable[dict[str, Any]]) -> str | None:
    """The content of the first user message whose content is a string (a listing's title)."""
    for message in messages:
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return None


def to_json(value: Any, what: str) -> str:
    """Encode ``value`` for storage, or raise UsageError saying what could not be stored.

    Checked before any write, so a value that cannot be stored never leaves half a write.
    """
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"cannot store {what} in a session: it is not JSON ({exc})") from None


def check_messages(messages: Sequence[dict[str, Any]]) -> list[str]:
    """Encode each message, naming the first one that cannot be stored."""
    return [to_json(message, f"message {i}") for i, message in enumerate(messages)]
