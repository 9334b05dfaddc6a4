"""Shared test fixtures. No test may reach a real network: see ``_no_network``."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmlet.sessions import MemoryStore, PostgresStore, SessionStore, SQLiteStore
from swarmlet.testing.postgres import TemporaryPostgres, reset_postgres_schema
from swarmlet.testing.server import ScriptedServer

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail loudly on any connection that is not to loopback, and hide real credentials."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A scripted Chat Completions server on 127.0.0.1 for one test (modules may override)."""
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """One real PostgreSQL server (Debian's binaries, run unprivileged) for the whole test run.

    scripts/install-postgres.sh installs the binaries; a missing server fails, never skips.
    """
    with TemporaryPostgres() as pg:
        yield pg


@pytest.fixture
def postgres_dsn(postgres_server: TemporaryPostgres) -> str:
    """The server's DSN, with an empty ``public`` schema for this test."""
    reset_postgres_schema(postgres_server.dsn)
    return postgres_server.dsn


@pytest.fixture
async def session_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[SessionStore]:
    """A fresh, empty session store of the backend a test module is parametrized with
    (``pytestmark = pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres"])``)."""
    made: SessionStore
    if backend == "memory":
        made = MemoryStore()
    elif backend == "sqlite":
        made = SQLiteStore(tmp_path / "sessions.db")
    else:
        made = PostgresStore(request.getfixturevalue("postgres_dsn"))
    yield made
    await made.close()
