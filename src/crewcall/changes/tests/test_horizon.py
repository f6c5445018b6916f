"""The feed's horizon is per database: a transaction of another database on the same server
(idle with an xid, or holding row locks) does not hold the feed back; one in Crewcall's own
database does, and its age shows in /metrics, on /readyz and on the KPI page. Also for a
role that is not a superuser."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import (
    HORIZON,
    HORIZON_AGE_SQL,
    changes_after,
    current_cursor,
    feed_horizon_age_s,
)
from crewcall.changes.tests.conftest import settle
from crewcall.core.roles import owner_connection_params
from crewcall.ops import health
from crewcall.ops.kpis import kpi_figures
from crewcall.ops.metrics import DatabaseCollector
from crewcall.testing.sql import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]

RENAME = "UPDATE people_role SET name = %s WHERE id = %s"
# How long the other database's transaction stays open while the feed is read: the feed
# must deliver every change at its first read throughout (the old, server-wide horizon
# delivered none of them until the transaction ended).
HOLD_S = 3.0

Connect = Callable[..., psycopg.Connection[Any]]


def _server_params() -> dict[str, Any]:
    params = dict(connection.get_connection_params())
    for sync_only in ("cursor_factory", "context", "prepare_threshold", "pool"):
        params.pop(sync_only, None)
    return params


@pytest.fixture(scope="module")
def other_database_name() -> Iterator[str]:
    """Another database on the same server (made by the owner, who may create databases),
    with a table the application's role may lock rows of."""
    name = f"crewcall_feed_other_{os.getpid()}"
    owner = owner_connection_params()
    with psycopg.connect(**owner, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(**{**owner, "dbname": name}, autocommit=True) as setup:
            setup.execute("CREATE TABLE probe (id int PRIMARY KEY)")
            setup.execute("INSERT INTO probe VALUES (1), (2)")
            setup.execute("GRANT SELECT, UPDATE ON probe TO PUBLIC")
        yield name
    finally:
        with psycopg.connect(**owner, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def other_database(other_database_name: str) -> Iterator[Connect]:
    """Connects to the other database; every connection is closed after the test."""
    opened: list[psycopg.Connection[Any]] = []

    def connect() -> psycopg.Connection[Any]:
        opened.append(psycopg.connect(**{**_server_params(), "dbname": other_database_name}))
        return opened[-1]

    yield connect
    for conn in opened:
        conn.close()


def scalar(conn: psycopg.Connection[Any], query: str, params: list[str] | None = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def server_wide_xmin_holds(xid: int) -> bool:
    """The control: the snapshot's xmin (the old horizon) is at or below `xid`."""
    return bool(run("SELECT pg_snapshot_xmin(pg_current_snapshot()) <= %s::xid8", [str(xid)])[0][0])


def commits_are_delivered_at_once(start: Cursor, role_id: int, *, while_open: psycopg.Connection[Any],
                                  held_xid: int) -> list[float]:  # fmt: skip
    """Commit a change every 0.5 s for HOLD_S seconds while `while_open` keeps its
    transaction; each must come at once after its commit. Returns the delays."""
    delays: list[float] = []
    cursor = start
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < HOLD_S:
        n += 1
        run(RENAME, [f"held {n}", role_id])
        committed = time.monotonic()
        assert server_wide_xmin_holds(held_xid)  # the old horizon would stop here
        # Read until it comes (a read can dip for a moment, see settled_horizon); the old
        # horizon would hold it for all of HOLD_S, far past the 1 s the callers allow.
        while not (batch := changes_after(cursor=cursor, limit=100)).changes:
            if time.monotonic() - committed > 2.0:
                break
            time.sleep(0.02)
        delays.append(time.monotonic() - committed)
        assert [(c.table, c.row_id, c.version) for c in batch.changes][-1:] == [
            ("people_role", role_id, n + 1)
        ]
        cursor = batch.cursor
        assert while_open.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        time.sleep(0.5)
    return delays


def test_an_idle_transaction_in_another_database_does_not_hold_the_feed_back(agency, other_database) -> None:
    settle()
    start = current_cursor()
    other = other_database()
    held_xid = int(scalar(other, "SELECT pg_current_xact_id()::text"))  # idle in transaction
    delays = commits_are_delivered_at_once(start, agency.cook.pk, while_open=other, held_xid=held_xid)
    assert len(delays) >= 4 and max(delays) < 1.0, delays
    other.rollback()


def test_row_locks_in_another_database_do_not_hold_the_feed_back(agency, other_database) -> None:
    settle()
    start = current_cursor()
    other = other_database()
    assert other.execute("SELECT id FROM probe ORDER BY id FOR UPDATE").fetchall() == [(1,), (2,)]
    # The control: locking rows wrote the locks into them, which took a transaction id.
    held = scalar(other, "SELECT pg_current_xact_id_if_assigned()::text")
    assert held is not None
    delays = commits_are_delivered_at_once(start, agency.cook.pk, while_open=other, held_xid=int(held))
    assert max(delays) < 1.0, delays
    other.rollback()


def gauge() -> float:
    families = {f.name: f for f in DatabaseCollector().collect()}
    assert families["crewcall_database_scrape_ok"].samples[0].value == 1
    return float(families["crewcall_change_feed_horizon_age_seconds"].samples[0].value)


def test_a_transaction_in_crewcalls_database_holds_the_feed_and_its_age_shows(
    agency, writers, settings
) -> None:
    settings.READY_HORIZON_AGE_S = 1.0
    settle()
    start = current_cursor()
    assert gauge() == 0.0 and feed_horizon_age_s() == 0.0
    assert not health.check_changes(0.0).degraded
    held = writers()
    held.execute(RENAME, ["held", agency.bartender.pk])
    run(RENAME, ["after", agency.waiter.pk])  # committed, behind the open transaction
    time.sleep(1.5)
    assert changes_after(cursor=start, limit=10).changes == []  # still held back
    age = gauge()
    assert age >= 1.5
    assert feed_horizon_age_s() >= age
    readiness = health.readiness().as_dict()
    changes = readiness["checks"]["changes"]
    assert changes["ok"] and "degraded" in changes["detail"] and readiness["degraded"] == ["changes"]
    kpis = kpi_figures()
    assert kpis.feed_horizon_age_s >= 1.5 and kpis.feed_held_back
    held.commit()
    batch = changes_after(cursor=start, limit=10)
    assert [(c.row_id, c.version) for c in batch.changes] == [(agency.bartender.pk, 2), (agency.waiter.pk, 2)]
    assert gauge() == 0.0
    assert health.readiness().as_dict()["degraded"] == []


def settled_horizon(reader: psycopg.Connection[Any], *, above: int, timeout: float = 10.0) -> int:
    """The horizon as `reader` sees it, once it is above `above` (or after `timeout`).

    A single read can dip lower for a moment: a transaction of another database (the other
    pytest worker's) that ended between the read's snapshot and its look at the activity
    table cannot be told from one of this database's, so it holds that one read back."""
    deadline = time.monotonic() + timeout
    while True:
        horizon = int(scalar(reader, f"SELECT {HORIZON}::text"))
        if horizon > above or time.monotonic() > deadline:
            return horizon
        time.sleep(0.05)


def test_the_applications_role_gets_the_same_horizon(agency, other_database) -> None:
    """The application's role is no superuser: it sees every backend's database and
    transaction id (what the rule needs), but not when another role's transactions
    started: the age then comes from the oldest change held back."""
    reader = psycopg.connect(**_server_params(), autocommit=True)
    with reader, psycopg.connect(**owner_connection_params()) as held:
        assert reader.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
            False,
        )
        other = other_database()
        other_xid = int(scalar(other, "SELECT pg_current_xact_id()::text"))
        run(RENAME, ["past the other", agency.cook.pk])
        target = int(run("SELECT max(xid)::text FROM changes_change")[0][0])
        horizon = settled_horizon(reader, above=target)
        assert horizon > target > other_xid  # the other database's transaction is passed
        # The owner's open transaction in Crewcall's database (another role's).
        held_xid = int(scalar(held, "SELECT pg_current_xact_id()::text"))
        run(RENAME, ["behind it", agency.cook.pk])
        time.sleep(1.1)
        horizon = settled_horizon(reader, above=held_xid - 1)
        assert horizon == held_xid  # held back by it
        # Another role's start time may be hidden from this one: the age is the waiting change's.
        assert float(scalar(reader, HORIZON_AGE_SQL)) >= 1.0
        held.rollback()
        other.rollback()
