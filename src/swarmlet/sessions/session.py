"""``Session``: one conversation in a store, and the lease a run holds while it writes.

A run takes the session's lease (:meth:`Session.hold`), writes through the :class:`Lease`, and
gives it up with a final status. The lease lives in the database (a row with an owner, an
expiry and a token), so runs in different processes or machines exclude each other; a task
renews it while the run goes on. When the session is busy, ``on_busy`` decides: ``"wait"``
polls (with backoff) until it is free or ``wait_timeout`` passes, ``"raise"`` raises
:class:`SessionBusy` at once.

A process that dies holding a lease cannot release it. Its lease expires after ``lease_ttl``
seconds; sooner, when the holder ran on this host: the owner is recorded as ``host:pid:nonce``
and a lease whose process is gone is taken over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from swarmlet.exceptions import UsageError
from swarmlet.sessions.base import LeaseLost, SessionBusy, SessionState, SessionStore, Status

__all__ = ["Lease", "OnBusy", "Session"]

OnBusy = Literal["wait", "raise"]
"""What a run does when another run holds its session: wait its turn, or raise SessionBusy."""

_HOST = socket.gethostname()
_logger = logging.getLogger("swarmlet.sessions")


class Lease:
    """The right to write one session, held by one run; obtained from :meth:`Session.hold`.

    Every write is fenced by the lease's token: once the lease is lost (expired and taken
    over, or the session deleted), writes raise :class:`LeaseLost`.
    """

    def __init__(self, store: SessionStore, session_id: str, token: int) -> None:
        self.store = store
        self.session_id = session_id
        self.token = token
        self.released = False

    async def append(self, messages: Sequence[dict[str, Any]]) -> None:
        """Append completed messages to the session's history, in order."""
        if messages:
            await self.store.append(self.session_id, self.token, messages)

    async def truncate(self, count: int) -> None:
        """Keep only the first ``count`` messages (withdraw what a guardrail rejected)."""
        await self.store.truncate(self.session_id, self.token, count)

    async def save(self, *, agent_name: str | None, context_variables: dict[str, Any]) -> None:
        """Store the active agent's name and the context variables."""
        await self.store.save(
            self.session_id, self.token, agent_name=agent_name, context_variables=context_variables
        )

    async def release(self, status: Status = "idle", run_state: str | None = None) -> None:
        """Give the session up with a final status (``paused`` with the run's state as JSON)."""
        if status == "paused" and run_state is None:
            raise UsageError("a paused session needs the run's state (run_state)")
        await self.store.release(self.session_id, self.token, status, run_state)
        self.released = True


class Session:
    """One conversation stored in a :class:`SessionStore`; what ``session=`` accepts.

    Args:
        store: the database (``SQLiteStore``, ``PostgresStore``, ``MemoryStore``, or your own).
        session_id: the conversation's id (any non-empty string up to 256 characters).
        on_busy: ``"wait"`` (default) or ``"raise"`` when another run holds the session.
        wait_timeout: seconds to wait before raising SessionBusy (``None``: no limit).
        lease_ttl: seconds a lease lasts without renewal; it is renewed every third of it.
    """

    def __init__(
        self,
        store: SessionStore,
        session_id: str,
        *,
        on_busy: OnBusy = "wait",
        wait_timeout: float | None = None,
        lease_ttl: float = 30.0,
    ) -> None:
        if not isinstance(session_id, str) or not 0 < len(session_id) <= 256:
            raise UsageError("session_id must be a non-empty string of at most 256 characters")
        if on_busy not in ("wait", "raise"):
            raise UsageError(f"on_busy must be 'wait' or 'raise', got {on_busy!r}")
        if lease_ttl <= 0:
            raise UsageError("lease_ttl must be positive")
        self.store = store
        self.session_id = session_id
        self.on_busy: OnBusy = on_busy
        self.wait_timeout = wait_timeout
        self.lease_ttl = lease_ttl

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.session_id!r}, store={type(self.store).__name__})"

    async def load(self) -> SessionState:
        """Everything stored (an empty, idle state for a session never written)."""
        state = await self.store.load(self.session_id)
        return state if state is not None else SessionState(self.session_id)

    async def delete(self) -> bool:
        """Delete the session and its messages; ``False`` if it did not exist."""
        return await self.store.delete(self.session_id)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[Lease]:
        """Hold the session's lease for the block; released as ``idle`` on a normal exit,
        ``error`` on an exception, ``interrupted`` on cancellation or a closed generator,
        unless the block released it itself (e.g. as ``paused``).

        Raises:
            SessionBusy: the session is held and ``on_busy="raise"``, or waiting timed out.
        """
        lease = Lease(self.store, self.session_id, await self._acquire())
        renewer = asyncio.create_task(self._renew(lease))
        status: Status = "error"
        try:
            yield lease
            status = "idle"
        except (asyncio.CancelledError, GeneratorExit):
            status = "interrupted"
            raise
        finally:
            renewer.cancel()
            if not lease.released:
                with contextlib.suppress(LeaseLost):
                    await lease.release(status)

    async def _acquire(self) -> int:
        owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        deadline = None if self.wait_timeout is None else time.monotonic() + self.wait_timeout
        delay = 0.01
        while True:
            try:
                return await self.store.acquire(self.session_id, owner, self.lease_ttl)
            except SessionBusy as busy:
                if busy.owner is not None and _is_dead(busy.owner):
                    with contextlib.suppress(SessionBusy):
                        return await self.store.acquire(
                            self.session_id, owner, self.lease_ttl, steal_from=busy.owner
                        )
                    continue
                if self.on_busy == "raise":
                    raise
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise SessionBusy(
                        f"session {self.session_id!r} still in use after {self.wait_timeout}s",
                        session_id=self.session_id,
                        owner=busy.owner,
                    ) from None
            # Jittered backoff: many waiters on one session do not retry in lockstep.
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)

    async def _renew(self, lease: Lease) -> None:
        """Keep the lease alive while the run goes on; stop quietly once it is lost."""
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await self.store.renew(lease.session_id, lease.token, self.lease_ttl)
            except LeaseLost:
                return  # the run's next write will raise LeaseLost
            except Exception as exc:  # a database hiccup: the next renewal may succeed
                _logger.warning("session %r: renewing the lease failed: %s", self.session_id, exc)


def _is_dead(owner: str) -> bool:
    """True when ``owner`` (``host:pid:nonce``) ran on this host in a process that is gone."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False
