"""Readiness: can this web process do its work right now? (`/readyz`, docs/operations.md)

Four parts, each named in the answer with `ok` and a `detail`:

- `database`: a fresh connection answers `SELECT 1` within READY_DB_TIMEOUT_S (a new
  connection, not the pool's: a pool waits its own, longer timeout for a server that is
  gone, and a pooled connection says nothing about whether a new one can be made);
- `migrations`: every migration on disk is recorded as applied;
- `worker`: some job worker's heartbeat (procrastinate writes one every 10 s) is younger
  than READY_WORKER_STALE_S;
- `changes`: this process's change hub (the one reader of the change feed per web
  process, changes/hub.py) is alive. The hub starts with the first change-stream
  subscriber of the process; until then there is nothing to be alive and the part is ok
  ("idle"). Once started, it is alive when its reader task runs and has read the feed
  within READY_CHANGES_STALE_S (it reads at least every CHANGES_POLL_S); a LISTEN
  connection that is down is reported, but only slows the stream (the hub polls). The
  part also reports the feed's horizon age (how long the oldest transaction holding the
  feed back has been open) and says "degraded" past READY_HORIZON_AGE_S, without failing:
  the horizon is the database's, the same for every web process, so an unready answer would
  take them all out of rotation over a stream that is only late.

The database, migrations and worker parts share one connection; when it cannot be made,
the other two are reported as not checked (not ok).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

from crewcall.changes.hub import hub_status
from crewcall.changes.selectors import HORIZON_AGE_SQL

logger = logging.getLogger(__name__)

# Defaults of the settings READY_DB_TIMEOUT_S, READY_WORKER_STALE_S, READY_CHANGES_STALE_S,
# READY_HORIZON_AGE_S.
DB_TIMEOUT_S = 2.0
# Three of procrastinate's heartbeat intervals (10 s), as procrastinate's own stall check.
WORKER_STALE_S = 30.0
CHANGES_STALE_S = 10.0
HORIZON_AGE_S = 30.0


@dataclass(frozen=True)
class Part:
    name: str
    ok: bool
    detail: str
    # Working, but worse than it should be (named in the answer's `degraded`; still ready).
    degraded: bool = False


@dataclass(frozen=True)
class Readiness:
    parts: list[Part]

    @property
    def ready(self) -> bool:
        return all(part.ok for part in self.parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "unready",
            "checks": {part.name: {"ok": part.ok, "detail": part.detail} for part in self.parts},
            "unready": [part.name for part in self.parts if not part.ok],
            "degraded": [part.name for part in self.parts if part.degraded],
        }


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _connection_params() -> dict[str, Any]:
    """The application's connection settings, for one plain psycopg connection."""
    params = dict(connection.get_connection_params())
    for sync_only in ("cursor_factory", "context", "prepare_threshold", "pool"):
        params.pop(sync_only, None)
    return params


@contextmanager
def direct_connection(timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
    """A short-lived autocommit connection that gives up after `timeout` seconds, both to
    connect and per statement."""
    timeout = timeout if timeout is not None else _setting("READY_DB_TIMEOUT_S", DB_TIMEOUT_S)
    params = _connection_params()
    millis = max(1, int(timeout * 1000))
    params["options"] = f"{params.get('options', '')} -c statement_timeout={millis}".strip()
    params["connect_timeout"] = max(1, round(timeout))  # libpq counts whole seconds
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


@cache
def _migrations_on_disk() -> tuple[tuple[tuple[str, str], tuple[tuple[str, str], ...]], ...]:
    """(app, name) of every migration the code has, with what a squashed one replaces.
    Read once per process: the code does not change under a running process."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return tuple(
        (key, tuple(tuple(r) for r in loader.graph.nodes[key].replaces)) for key in sorted(loader.graph.nodes)
    )


def _unapplied(conn: psycopg.Connection[Any]) -> list[str]:
    try:
        rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
    except psycopg.errors.UndefinedTable:
        rows = []  # an empty database: nothing applied
    applied = {(app, name) for app, name in rows}
    missing = []
    for key, replaces in _migrations_on_disk():
        if key in applied or (replaces and all(r in applied for r in replaces)):
            continue
        missing.append(f"{key[0]}.{key[1]}")
    return missing


def check_migrations(conn: psycopg.Connection[Any]) -> Part:
    missing = _unapplied(conn)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        return Part("migrations", False, f"{len(missing)} not applied: {shown}")
    return Part("migrations", True, "all applied")


def check_worker(conn: psycopg.Connection[Any]) -> Part:
    stale_s = _setting("READY_WORKER_STALE_S", WORKER_STALE_S)
    try:
        row = conn.execute(
            "SELECT count(*), extract(epoch FROM now() - max(last_heartbeat)) FROM procrastinate_workers"
        ).fetchone()
    except psycopg.errors.UndefinedTable:
        return Part("worker", False, "the job tables do not exist yet (migrations not applied)")
    workers, age = (row[0], row[1]) if row else (0, None)
    if not workers or age is None:
        return Part("worker", False, "no worker has registered (is `crewcall worker` running?)")
    age = float(age)
    if age > stale_s:
        return Part("worker", False, f"last heartbeat {age:.0f} s ago (more than {stale_s:g} s)")
    return Part("worker", True, f"{workers} worker(s), last heartbeat {max(0.0, age):.1f} s ago")


def horizon_age_s(conn: psycopg.Connection[Any]) -> float | None:
    """How long the oldest transaction holding the change feed back has been open (0: none;
    None: unknown, e.g. before migrations)."""
    try:
        row = conn.execute(HORIZON_AGE_SQL).fetchone()
    except psycopg.Error as exc:
        logger.warning("readiness: reading the change feed's horizon failed: %s", exc)
        return None
    return float(row[0]) if row else None


def check_changes(horizon_age: float | None = None) -> Part:
    hub_part = _check_hub()
    if horizon_age is None:
        return hub_part
    limit = _setting("READY_HORIZON_AGE_S", HORIZON_AGE_S)
    if horizon_age > limit:
        detail = (
            f"{hub_part.detail}; degraded: a transaction open for {horizon_age:.0f} s holds the feed back"
            f" (more than {limit:g} s)"
        )
        return Part("changes", hub_part.ok, detail, degraded=True)
    return Part("changes", hub_part.ok, f"{hub_part.detail}; horizon age {horizon_age:.1f} s")


def _check_hub() -> Part:
    hub = hub_status()
    if hub is None:
        return Part("changes", True, "idle: starts with this process's first change-stream subscriber")
    if hub.stopped:
        return Part("changes", False, "the change hub's reader stopped")
    stale_s = max(_setting("READY_CHANGES_STALE_S", CHANGES_STALE_S), 2 * hub.poll_s)
    last = hub.last_read_at
    listening = "listening" if hub.listening else "LISTEN connection down, polling"
    if last is None:
        return Part("changes", False, f"started, has not read the feed yet ({listening})")
    age = time.monotonic() - last
    if age > stale_s:
        return Part("changes", False, f"last read of the feed {age:.0f} s ago ({listening})")
    return Part(
        "changes", True, f"read the feed {age:.1f} s ago, {hub.subscribers} subscriber(s), {listening}"
    )


def readiness() -> Readiness:
    parts: list[Part] = []
    horizon_age: float | None = None
    started = time.monotonic()
    try:
        with direct_connection() as conn:
            conn.execute("SELECT 1")
            parts.append(Part("database", True, f"answered in {1000 * (time.monotonic() - started):.0f} ms"))
            parts.append(check_migrations(conn))
            parts.append(check_worker(conn))
            horizon_age = horizon_age_s(conn)
    except Exception as exc:
        # The full error (which names hosts) goes to the log, not to the unauthenticated answer.
        logger.warning("readiness: the database check failed: %s", exc)
        kind = "timed out" if "timeout" in str(exc).lower() else "unreachable"
        names = {part.name for part in parts}
        if "database" not in names:
            parts.append(Part("database", False, f"{kind} ({type(exc).__name__})"))
        for name in ("migrations", "worker"):
            if name not in names:
                parts.append(Part(name, False, "not checked: the database cannot be read"))
    parts.append(check_changes(horizon_age))
    return Readiness(parts)
