"""Retention: old changes go in batches, the watermark follows, and a cursor that needs
pruned history gets `reset` instead of a silent gap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from crewcall.changes import tasks
from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import changes_after, current_cursor
from crewcall.changes.services import changes_prune, changes_prune_batch
from crewcall.changes.tests.conftest import settle
from crewcall.testing.owner import as_owner
from crewcall.testing.sql import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.feed]


@pytest.fixture(autouse=True)
def _clear_watermark() -> Iterator[None]:
    """changes_feed is unmanaged (the flush between tests keeps it): leave no watermark."""
    yield
    as_owner("UPDATE changes_feed SET pruned_xid = NULL, pruned_seq = NULL")


def add_changes(count: int, *, days_old: int, wait: bool = True) -> None:
    """Committed change rows dated in the past (one transaction, as a bulk write makes),
    below the horizon once this returns (unless `wait` is off)."""
    run(
        "INSERT INTO changes_change (table_name, op, row_id, at)"
        " SELECT 'people_role', 'U', g, now() - make_interval(days => %s) FROM generate_series(1, %s) g",
        [days_old, count],
    )
    if wait:
        settle()


def watermark() -> tuple[int, int] | None:
    xid, seq = run("SELECT pruned_xid::text, pruned_seq FROM changes_feed")[0]
    return None if xid is None else (int(xid), seq)


def test_pruning_goes_in_batches_and_keeps_young_changes(db) -> None:
    add_changes(12, days_old=9)
    add_changes(3, days_old=0)
    order = [
        (int(x), seq)
        for x, seq in run("SELECT xid::text AS xid_text, seq FROM changes_change ORDER BY xid, seq")
    ]
    cutoff = timezone.now() - timedelta(days=7)
    assert changes_prune_batch(older_than=cutoff, batch_size=5) == 5
    assert watermark() == order[4]
    assert run("SELECT count(*) FROM changes_change") == [(10,)]
    assert changes_prune(older_than=cutoff, batch_size=5) == 7  # 5 + 2: the short batch ends it
    assert watermark() == order[11]
    kept = [
        (int(x), seq)
        for x, seq in run("SELECT xid::text AS xid_text, seq FROM changes_change ORDER BY xid, seq")
    ]
    assert kept == order[12:]
    assert changes_prune(older_than=cutoff, batch_size=5) == 0
    assert watermark() == order[11]


def test_a_cursor_older_than_the_watermark_gets_reset_one_at_it_does_not(db) -> None:
    early = current_cursor()
    add_changes(4, days_old=10)
    add_changes(2, days_old=1)
    changes_prune(older_than=timezone.now() - timedelta(days=7))
    batch = changes_after(cursor=early, limit=10)
    assert batch.reset and batch.changes == []
    mark = watermark()
    assert mark is not None
    at_mark = Cursor(epoch=early.epoch, xid=mark[0], seq=mark[1])  # had everything pruned
    kept = changes_after(cursor=at_mark, limit=10)
    assert not kept.reset and len(kept.changes) == 2


def test_a_young_change_stops_the_prune_even_with_older_ones_behind_it(db) -> None:
    add_changes(2, days_old=9)
    add_changes(1, days_old=0)
    add_changes(2, days_old=9)  # later in (xid, seq) order, yet old
    assert changes_prune(older_than=timezone.now() - timedelta(days=7)) == 2
    # The watermark stays a clean prefix: nothing above it is gone.
    mark = watermark()
    assert mark is not None
    assert run(
        "SELECT count(*) FROM changes_change WHERE (xid, seq) <= (%s::xid8, %s)", [str(mark[0]), mark[1]]
    ) == [(0,)]


def test_nothing_still_in_flight_is_pruned(db, writers) -> None:
    add_changes(2, days_old=9)
    held = writers()
    held.execute(
        "INSERT INTO changes_change (table_name, op, row_id, at) VALUES ('people_role', 'U', 1, now() - interval '9 days')"
    )
    add_changes(2, days_old=9, wait=False)  # committed, but above the open transaction's xid
    assert changes_prune(older_than=timezone.now() - timedelta(days=7)) == 2
    held.commit()
    settle()
    assert changes_prune(older_than=timezone.now() - timedelta(days=7)) == 3


def test_the_periodic_job_prunes_by_the_configured_age(db, settings) -> None:
    settings.CHANGES_RETENTION_DAYS = 3
    add_changes(2, days_old=4)
    add_changes(2, days_old=2)
    assert tasks.prune_changes(timestamp=0) == 2
    assert run("SELECT count(*) FROM changes_change") == [(2,)]
