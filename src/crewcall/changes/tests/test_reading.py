"""Reading the feed: every change once, in (xid, seq) order, never skipping a late commit;
`reset` for cursors of another epoch; and the control showing a bare sequence cursor does
lose a late commit."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from django.db import transaction

from crewcall.changes.cursor import Cursor, InvalidCursor
from crewcall.changes.selectors import Change, changes_after, current_cursor
from crewcall.changes.services import changes_after_restore
from crewcall.changes.tests.conftest import read_settled, settle
from crewcall.testing.sql import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]

RENAME = "UPDATE people_role SET name = %s WHERE id = %s"


def read_all(cursor: Cursor, *, limit: int = 100, **filters: Any) -> tuple[list[Change], Cursor]:
    """Everything committed so far after `cursor` (waits for the horizon to pass it)."""
    return read_settled(cursor, limit=limit, **filters)


def fresh_start() -> Cursor:
    """A cursor after everything the test's setup committed (whatever else runs on the server)."""
    settle()
    return current_cursor()


def names(changes: list[Change]) -> list[tuple[str, int]]:
    return [(c.table, c.row_id) for c in changes]


@pytest.mark.parametrize(
    "a_writes_first", [True, False], ids=["A-writes-first", "A-only-takes-its-xid-first"]
)
def test_a_late_commit_is_delivered_after_a_reader_moved_on(agency, writers, a_writes_first) -> None:
    bartender, waiter = agency.bartender.pk, agency.waiter.pk
    start = fresh_start()
    a, b = writers(), writers()
    if a_writes_first:
        a.execute(RENAME, ["A", bartender])  # A's change row: lower xid, lower seq
    xid_a = a.xid()
    b.execute(RENAME, ["B", waiter])
    xid_b = b.xid()
    b.commit()
    assert xid_a < xid_b

    # B is committed, but A (older xid) is still running: the reader stops before A.
    moved_on = changes_after(cursor=start, limit=100)
    assert moved_on.changes == []
    assert moved_on.cursor.position <= (xid_a, 0)

    if not a_writes_first:
        a.execute(RENAME, ["A", bartender])  # now A's row even has the higher seq
    a.commit()
    delivered, end = read_all(moved_on.cursor)
    assert names(delivered) == [("people_role", bartender), ("people_role", waiter)]
    assert [c.xid for c in delivered] == [xid_a, xid_b]
    again, _ = read_all(end)
    assert again == []  # nothing twice


def test_control_a_bare_sequence_cursor_loses_the_late_commit(agency, writers) -> None:
    """The naive reader (seq > last seen) in the same interleaving misses A: the test
    above could fail, and the horizon is what makes it pass."""
    last_seq = run("SELECT coalesce(max(seq), 0) FROM changes_change")[0][0]
    a, b = writers(), writers()
    a.execute(RENAME, ["A", agency.bartender.pk])
    b.execute(RENAME, ["B", agency.waiter.pk])
    b.commit()
    seen = run("SELECT seq, row_id FROM changes_change WHERE seq > %s ORDER BY seq", [last_seq])
    assert [row_id for _, row_id in seen] == [agency.waiter.pk]
    last_seq = seen[-1][0]
    a.commit()
    later = run("SELECT seq, row_id FROM changes_change WHERE seq > %s ORDER BY seq", [last_seq])
    assert later == []  # A committed with a lower seq than the reader's: lost
    assert (
        run(
            "SELECT count(*) FROM changes_change WHERE row_id = %s AND seq <= %s",
            [agency.bartender.pk, last_seq],
        )[0][0]
        == 2
    )  # fmt: skip  (insert + A's update)


def test_an_aborted_transaction_holds_the_horizon_only_while_it_runs(agency, writers) -> None:
    start = fresh_start()
    a = writers()
    a.execute(RENAME, ["A", agency.bartender.pk])
    run(RENAME, ["B", agency.waiter.pk])
    assert changes_after(cursor=start, limit=10).changes == []
    a.rollback()
    delivered, _ = read_all(start)
    assert names(delivered) == [("people_role", agency.waiter.pk)]


def test_batches_resume_where_they_stopped_without_gaps_or_repeats(agency) -> None:
    start = fresh_start()
    for i in range(7):
        run(RENAME, [f"Name {i}", agency.cook.pk])
    settle()
    seen: list[Change] = []
    cursor = start
    for _ in range(3):
        batch = changes_after(cursor=Cursor.decode(cursor.encode()), limit=3)  # as a client would
        seen += batch.changes
        cursor = batch.cursor
    assert [c.version for c in seen] == [2, 3, 4, 5, 6, 7, 8]
    assert batch.more is False
    assert all(x.cursor.position < y.cursor.position for x, y in pairwise(seen))


def test_a_filtered_reader_gets_its_scope_and_moves_past_the_rest(agency) -> None:
    event = agency.event(title="Gala")
    other = agency.event(title="Other")
    start = fresh_start()
    emil = agency.employee(name="Emil")
    agency.accepted(event, emil)
    agency.accepted(other, agency.employee(name="Olga"))
    for _ in range(20):
        run(RENAME, ["noise", agency.cook.pk])
    mine, cursor = read_all(start, limit=2, event_id=event.pk)
    assert {c.event_id for c in mine} == {event.pk}
    assert [c.table for c in mine] == ["staffing_invitation", "staffing_invitation"]  # insert, accept
    assert cursor.seq == 0 and cursor.position > mine[-1].cursor.position  # at the horizon
    for_emil, _ = read_all(start, employee_id=emil.pk)
    assert {c.employee_id for c in for_emil} == {emil.pk}
    assert [c.table for c in for_emil][:1] == ["people_employee"]
    both, _ = read_all(start, event_id=other.pk, employee_id=emil.pk)
    assert both == []


def test_reading_is_one_query(agency, django_assert_num_queries) -> None:
    start = fresh_start()
    run(RENAME, ["x", agency.cook.pk])
    settle()
    with django_assert_num_queries(1):
        batch = changes_after(cursor=start, limit=50, event_id=None)
    assert len(batch.changes) == 1


def test_without_a_cursor_reading_starts_at_the_oldest_change_kept(agency) -> None:
    everything, _ = read_all(None)  # type: ignore[arg-type]
    assert names(everything)[:3] == [("accounts_user", agency.actor.pk), ("people_role", agency.bartender.pk),
                                     ("people_role", agency.waiter.pk)]  # fmt: skip


def test_a_reader_inside_a_writing_transaction_never_sees_its_own_uncommitted_changes(agency) -> None:
    start = fresh_start()
    with transaction.atomic():
        run(RENAME, ["mine", agency.cook.pk])
        assert changes_after(cursor=start, limit=10).changes == []
        own_xid = int(run("SELECT pg_current_xact_id()::text")[0][0])
        assert current_cursor().xid <= own_xid
    delivered, _ = read_all(start)
    assert names(delivered) == [("people_role", agency.cook.pk)]


def test_a_cursor_of_another_epoch_gets_reset_with_a_cursor_to_continue_from(agency) -> None:
    old = current_cursor()
    new_epoch, dropped = changes_after_restore()
    assert dropped == 0  # nothing restored here lies ahead of this cluster
    run(RENAME, ["restored", agency.waiter.pk])
    batch = changes_after(cursor=old, limit=10)
    assert batch.reset and batch.changes == [] and batch.cursor.epoch == new_epoch
    # The client reloads its data (which has the waiter's rename), then continues.
    run(RENAME, ["after the reload", agency.cook.pk])
    delivered, _ = read_all(batch.cursor)
    assert names(delivered) == [("people_role", agency.cook.pk)]


def test_a_cursor_from_the_future_gets_reset(db) -> None:
    now = current_cursor()
    batch = changes_after(cursor=Cursor(epoch=now.epoch, xid=now.xid + 1_000_000, seq=0), limit=10)
    assert batch.reset


@pytest.mark.parametrize(
    "text",
    ["", "abc", "abc.1", "ABC.1.2", "abc.-1.2", "abc.1.2.3", "abc.1.2\n", "abc.99999999999999999999.1"],
)
def test_malformed_cursors_are_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(text)


def test_a_cursor_round_trips_through_its_text() -> None:
    cursor = Cursor(epoch="a1b2c3", xid=981234, seq=77)
    assert Cursor.decode(cursor.encode()) == cursor
    assert cursor.encode() == "a1b2c3.981234.77"
