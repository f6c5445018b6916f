"""Reading the whole audit history, to show that housekeeping leaves it alone."""

from __future__ import annotations

from crewcall.testing.sql import run


def history_tables() -> list[str]:
    """Every history table in the schema (pghistory's `…history` tables and its context)."""
    rows = run(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND (tablename LIKE '%%history' OR tablename = 'pghistory_context') ORDER BY 1"
    )
    return [name for (name,) in rows]


def history_state() -> dict[str, tuple[int, str]]:
    """Per history table: its row count and a digest of all its rows (so a row changed in
    place shows as well as one added or removed)."""
    state: dict[str, tuple[int, str]] = {}
    for table in history_tables():
        count, digest = run(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        )[0]
        state[table] = (count, digest)
    return state
