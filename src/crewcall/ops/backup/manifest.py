"""The manifest: what a backup holds, measured in the same snapshot as the dump.

For every table the dump holds (every ordinary table outside PostgreSQL's own schemas:
the domain tables, their history tables, the change feed, the job queue, Django's own):
its row count and a checksum, the md5 of the concatenated md5 of each row's text form in
primary-key order (`md5(string_agg(md5(t::text), '' ORDER BY <pk>))`; tables without a
primary key are ordered by the row text). The text form of a value depends on a few
settings, which are fixed for the session that measures (`FORMAT_SETTINGS`), so the same
rows give the same checksum on any server of version 15 or later.

A few tables are backed up without their rows (LEFT_OUT): the manifest lists them, and a
restore finds them present and empty.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

FORMAT = "crewcall-backup"
FORMAT_VERSION = 2
CHECKSUM_ALGORITHM = "md5(string_agg(md5(row::text), '' ORDER BY primary key))"

# Tables whose rows stay out of backups (their definitions are in): secrets or short-lived
# state that nothing needs to resume work (docs/backup.md, "What a backup holds").
LEFT_OUT = (
    # A session key is a bearer credential: whoever reads it is signed in.
    "public.django_session",
    # Lockout counters of failed sign-ins (addresses, typed usernames, sometimes a password
    # typed into the wrong field): minutes-long state; the sign-in logs stay.
    "public.axes_accessattempt",
    "public.axes_accessattemptexpiration",
)

# Output formats that decide a row's text form.
FORMAT_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}

_TABLES = """
SELECT n.nspname, c.relname,
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
        FROM pg_index i
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""


@dataclass(frozen=True)
class TableSum:
    rows: int
    md5: str

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "md5": self.md5}


def set_format(conn: psycopg.Connection[Any]) -> None:
    """Fix the text form of values for this transaction (SET LOCAL)."""
    for name, value in FORMAT_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, true)", [name, value])


def list_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str, list[str] | None]]:
    return [(r[0], r[1], r[2]) for r in conn.execute(_TABLES).fetchall()]


def table_sum(conn: psycopg.Connection[Any], schema: str, table: str, pk: list[str] | None) -> TableSum:
    ref = sql.Identifier(schema, table)
    order: sql.Composable
    if pk:
        order = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in pk)
    else:
        order = sql.SQL("t::text")
    query = sql.SQL(
        "SELECT count(*), md5(COALESCE(string_agg(md5(t::text), '' ORDER BY {order}), '')) FROM {ref} t"
    ).format(order=order, ref=ref)
    row = conn.execute(query).fetchone()
    assert row is not None  # noqa: S101 - an aggregate always answers one row
    return TableSum(rows=int(row[0]), md5=str(row[1]))


def measure(
    conn: psycopg.Connection[Any],
    *,
    on_table: Callable[[int, int, str], None] | None = None,
    skip: Collection[str] = (),
) -> dict[str, TableSum]:
    """Every table's count and checksum (but those in `skip`), in the connection's current
    transaction (open it REPEATABLE READ so that all tables come from one snapshot)."""
    set_format(conn)
    tables = [
        (schema, table, pk) for schema, table, pk in list_tables(conn) if f"{schema}.{table}" not in skip
    ]
    sums: dict[str, TableSum] = {}
    for done, (schema, table, pk) in enumerate(tables):
        name = f"{schema}.{table}"
        if on_table is not None:
            on_table(done, len(tables), name)
        sums[name] = table_sum(conn, schema, table, pk)
    if on_table is not None:
        on_table(len(tables), len(tables), "")
    return sums


def applied_migrations(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """Django's applied migrations per app, in the order they were applied (empty when
    the database was never migrated)."""
    exists = conn.execute("SELECT to_regclass('public.django_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    applied: dict[str, list[str]] = {}
    for app, name in conn.execute("SELECT app, name FROM public.django_migrations ORDER BY id").fetchall():
        applied.setdefault(app, []).append(name)
    return applied


def last_names(applied: dict[str, list[str]]) -> dict[str, str]:
    """The schema version: per app, the last migration applied (by name, which sorts by number)."""
    return {app: max(names) for app, names in sorted(applied.items())}


def compare(
    expected: dict[str, Any],
    actual: dict[str, TableSum],
    *,
    skip: Collection[str] = (),
    empty: Collection[str] = (),
) -> list[str]:
    """What differs between the manifest's tables and the measured ones, one line each.
    Tables in `empty` (left out of the backup) must be there without rows."""
    problems: list[str] = []
    for name in sorted(set(expected) | set(actual) | set(empty)):
        if name in skip:
            continue
        if name in empty and name not in expected:
            got = actual.get(name)
            if got is None:
                problems.append(
                    f"{name}: in the backup (without its rows), missing from the restored database"
                )
            elif got.rows:
                problems.append(
                    f"{name}: its rows are left out of backups, yet {got.rows} rows were restored"
                )
            continue
        want = expected.get(name)
        got = actual.get(name)
        if want is None:
            problems.append(f"{name}: not in the backup, but in the restored database")
        elif got is None:
            problems.append(f"{name}: in the backup, missing from the restored database")
        elif int(want["rows"]) != got.rows:
            problems.append(f"{name}: {want['rows']} rows in the backup, {got.rows} restored")
        elif want["md5"] != got.md5:
            problems.append(f"{name}: same row count ({got.rows}) but the checksum differs")
    return problems
