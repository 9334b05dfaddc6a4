"""A throwaway PostgreSQL server for tests, started from the machine's own binaries.

``TemporaryPostgres`` runs ``initdb`` into a temporary directory and ``pg_ctl start`` on
127.0.0.1 at a free port, and removes everything on ``stop()``. It needs the PostgreSQL server
binaries (Debian: ``apt-get install postgresql``; ``scripts/install-postgres.sh`` does it for CI);
nothing is downloaded.

PostgreSQL refuses to run as root. When the current user is root, the server runs as the
``postgres`` system user (which Debian's package creates), and its data directory is handed to
that user::

    with TemporaryPostgres() as pg:
        store = PostgresStore(pg.dsn)
        ...

It is a test double only: trust authentication on loopback, fsync off.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresUnavailable", "TemporaryPostgres", "find_pg_bin", "reset_postgres_schema"]


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (``initdb``, ``pg_ctl``) are not installed."""


def find_pg_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest Debian version, else ``PATH``)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryPostgres:
    """A PostgreSQL server in a temporary directory, on 127.0.0.1; a context manager.

    Args:
        max_connections: the server's connection limit (benchmarks raise it).
        user: system user the server runs as when the caller is root (default ``postgres``).
    """

    def __init__(self, *, max_connections: int = 200, user: str = "postgres") -> None:
        self.bin = find_pg_bin()
        self.port = _free_port()
        self.max_connections = max_connections
        self._run_as = pwd.getpwnam(user) if os.geteuid() == 0 else None
        self._dir: Path | None = None

    @property
    def dsn(self) -> str:
        """A libpq connection string for the ``postgres`` database as the superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> TemporaryPostgres:
        """Create the cluster and start the server; returns when it accepts connections."""
        self._dir = Path(tempfile.mkdtemp(prefix="swarmlet-pg-"))
        data = self._dir / "data"
        if self._run_as is not None:
            os.chown(self._dir, self._run_as.pw_uid, self._run_as.pw_gid)
        # --locale=C: the server does not depend on the machine's locales being installed.
        initdb = ["-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"]
        self._pg("initdb", *initdb, "--no-sync")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
            f"-c fsync=off -c full_page_writes=off -c max_connections={self.max_connections}"
        )
        log = self._dir / "server.log"
        self._pg(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(log), "-o", options
        )
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        if self._dir is None:
            return
        data = self._dir / "data"
        if (data / "postmaster.pid").exists():
            self._pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(data))
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def _pg(self, program: str, *args: str) -> None:
        """Run a server program, as the unprivileged user when we are root."""
        command = [str(self.bin / program), *args]
        run_as = self._run_as
        # subprocess's user/group (not preexec_fn, which is unsafe with threads) drop root.
        user = run_as.pw_uid if run_as else None
        group = run_as.pw_gid if run_as else None
        extra_groups: list[int] | None = [] if run_as else None
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd="/",
            user=user,
            group=group,
            extra_groups=extra_groups,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{program} failed: {result.stderr.strip()[-2000:]}")

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def reset_postgres_schema(dsn: str) -> None:
    """Drop and recreate the ``public`` schema (every table in it) with ``psql``."""
    psql = find_pg_bin() / "psql"
    subprocess.run(
        [
            str(psql),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            dsn,
            "-c",
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
