"""The owner's powers in tests: what the runtime role may not do (alter or delete history,
truncate, disable triggers) is done, where a test needs it, on a connection of its own as
the owner. That connection does not see a test's uncommitted rows: tests that use it run
with `django_db(transaction=True)`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg

from crewcall.core.roles import owner_connection_params


@contextlib.contextmanager
def owner_connection() -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection as the owner, closed afterwards."""
    with psycopg.connect(**owner_connection_params(), autocommit=True) as conn:
        yield conn


def as_owner(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run one statement as the owner (committed at once); its rows, if any."""
    with owner_connection() as conn, conn.cursor() as cur:
        # No parameters: the text is sent as it is (a function body may hold `%`).
        cur.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


@contextlib.contextmanager
def row_security_off(*tables: str) -> Iterator[None]:
    """The control: the tables' policies switched off (as the owner), restored after."""
    for table in tables:
        as_owner(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    try:
        yield
    finally:
        for table in tables:
            as_owner(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


@contextlib.contextmanager
def superuser_connection(dbname: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the test database as a superuser, for tests that play a
    careless administrator (triggers off, `session_replication_role = replica`). Embedded:
    the server's own superuser; with DATABASE_URL: CREWCALL_TEST_SUPERUSER_URL (a superuser
    of the same server; its database name is replaced by the test database's)."""
    import os
    from pathlib import Path

    from django.db import connection
    from psycopg.conninfo import conninfo_to_dict

    settings_dict = connection.settings_dict
    dbname = dbname or str(settings_dict["NAME"])
    if settings_dict["ENGINE"] == "crewcall.core.db":
        from crewcall.core.embedded import embedded_for

        server = embedded_for(Path(settings_dict["OPTIONS"]["embedded_data_dir"]))
        server.attach()
        with server.admin_connection(dbname) as conn:
            yield conn
        return
    url = os.environ.get("CREWCALL_TEST_SUPERUSER_URL", "")
    if not url:
        raise RuntimeError(
            "This test plays a superuser: set CREWCALL_TEST_SUPERUSER_URL to a superuser of "
            "DATABASE_URL's server (e.g. postgresql://postgres@127.0.0.1:5432/postgres)."
        )
    params: dict[str, Any] = {**conninfo_to_dict(url), "dbname": dbname}
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


def empty_job_tables() -> None:
    """procrastinate's tables are unmanaged, so Django's flush after a transactional test
    leaves their rows: tests that run jobs empty them before and after (as the owner: the
    application may delete rows but not truncate)."""
    with owner_connection() as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename LIKE 'procrastinate\\_%' ORDER BY 1"
            ).fetchall()
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def migrate_to(targets: list[tuple[str, str]] | None = None) -> None:
    """Migrate the test database (as the owner, then the runtime role's grants), to
    `targets`, or to the newest migration of every app."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from crewcall.core.roles import as_owner, grant_after_migrate

    with as_owner():
        executor = MigrationExecutor(connection)
        executor.migrate(targets or executor.loader.graph.leaf_nodes())
        grant_after_migrate()


def migration_url_for(dbname: str) -> str | None:
    """CREWCALL_MIGRATION_DATABASE_URL for a child process that uses `dbname` (the owner of
    that database, as the environment names it for the app's own), or None with one role."""
    import os

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    url = os.environ.get("CREWCALL_MIGRATION_DATABASE_URL")
    if not url:
        return None
    parts = {**conninfo_to_dict(url), "dbname": dbname}
    return make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None})
