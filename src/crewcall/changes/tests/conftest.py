"""Helpers for the change feed tests: writers on connections of their own."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import connections

from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import HORIZON, Change, changes_after
from crewcall.testing.sql import run


def settle(timeout: float = 180.0) -> int:
    """Wait until every transaction that took an id before now and may write to this
    database has ended, so a read from here on sees everything committed so far; returns
    the xid the horizon passed (see `read_settled`).

    The feed's horizon ignores transactions of other databases (under `pytest -n`, the other
    worker's), but not the other connections to this one. Never call it with a transaction
    of the test's own held open."""
    target = run("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")[0][0]
    deadline = time.monotonic() + timeout
    while not run(f"SELECT {HORIZON} >= %s::xid8", [target])[0][0]:
        if time.monotonic() > deadline:
            holders = run(
                "SELECT datname, backend_xid::text, now() - xact_start, left(query, 80) FROM pg_stat_activity"
                " WHERE backend_xid IS NOT NULL ORDER BY age(backend_xid) DESC LIMIT 3"
            )
            raise AssertionError(
                f"the horizon did not pass {target} in {timeout} s; oldest writers: {holders}"
            )
        time.sleep(0.02)
    return int(target)


def read_settled(cursor: Cursor, *, limit: int = 100, **filters: Any) -> tuple[list[Change], Cursor]:
    """Everything committed so far after `cursor`, and the cursor after it.

    One read after `settle()` is not enough: a read's horizon can dip below a change an
    earlier read returned, for as long as a transaction of another database (the other
    pytest worker's) that ended meanwhile is still in the read's snapshot, since it cannot
    then be told from one of this database's. A client reads it on its next poll; so does
    this, until its cursor has passed what `settle()` waited for."""
    target = settle()
    changes: list[Change] = []
    while True:
        batch = changes_after(cursor=cursor, limit=limit, **filters)
        assert not batch.reset
        changes += batch.changes
        cursor = batch.cursor
        if not batch.more and cursor.xid >= target:
            return changes, cursor
        if not batch.more:
            time.sleep(0.02)


class Writer:
    """A second database connection with an explicit transaction, so a test can hold a
    transaction open (with its xid) while others commit around it."""

    def __init__(self) -> None:
        self.conn = connections.create_connection("default")
        self.conn.ensure_connection()
        self.conn.set_autocommit(False)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def xid(self) -> int:
        return int(self.execute("SELECT pg_current_xact_id()::text")[0][0])

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def writers() -> Iterator[Any]:
    opened: list[Writer] = []

    def make() -> Writer:
        opened.append(Writer())
        return opened[-1]

    yield make
    for writer in opened:
        try:
            writer.rollback()
        finally:
            writer.close()
