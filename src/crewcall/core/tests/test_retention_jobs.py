"""Retention of finished jobs: a job that ended (succeeded, failed, cancelled, aborted) more
than JOBS_KEEP_DAYS ago goes with its events; a younger one stays; a job that waits or runs
is never touched, however old; a batch never removes more than its size."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from crewcall.core import retention, tasks, telemetry
from crewcall.testing.history_counts import history_state
from crewcall.testing.owner import empty_job_tables
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db(transaction=True)

PROCRASTINATE = "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs"


@pytest.fixture(autouse=True)
def _empty_queue() -> Iterator[None]:
    """procrastinate's tables are unmanaged: the flush between tests leaves their rows."""
    empty_job_tables()
    yield
    empty_job_tables()


def add_job(status: str, *, events_days_ago: tuple[int, ...], task: str = "test.job") -> int:
    """A job in `status` with one event per age (deferred first, then later ones), as
    procrastinate's own triggers would have written them over its life."""
    (job_id,) = run(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args)"
        " VALUES ('test', %s, %s::procrastinate_job_status, '{}') RETURNING id",
        [task, status],
    )[0]
    # The insert trigger wrote a 'deferred' event for a todo job: replace it by our dated ones.
    run("DELETE FROM procrastinate_events WHERE job_id = %s", [job_id])
    kinds = ["deferred", "started", "succeeded"]
    for n, days in enumerate(events_days_ago):
        run(
            "INSERT INTO procrastinate_events (job_id, type, at)"
            " VALUES (%s, %s::procrastinate_job_event_type, now() - make_interval(days => %s))",
            [job_id, kinds[min(n, 2)], days],
        )
    return job_id


def job_ids() -> set[int]:
    return {job_id for (job_id,) in run("SELECT id FROM procrastinate_jobs")}


def cutoff(days: int = 14) -> datetime:
    return timezone.now() - timedelta(days=days)


def test_finished_jobs_older_than_the_window_go_with_their_events_younger_ones_stay() -> None:
    old = {status: add_job(status, events_days_ago=(30, 30, 20)) for status in retention.FINAL_JOB_STATES}
    young = add_job("succeeded", events_days_ago=(30, 30, 2))  # deferred long ago, finished lately
    recent_failure = add_job("failed", events_days_ago=(3, 3, 1))
    history_before = history_state()

    removed = retention.finished_jobs_prune(older_than=cutoff())

    assert removed == len(old)
    assert job_ids() == {young, recent_failure}
    assert run("SELECT DISTINCT job_id FROM procrastinate_events ORDER BY 1") == [(young,), (recent_failure,)]
    assert history_state() == history_before


def test_jobs_that_wait_or_run_are_never_removed_however_old() -> None:
    unfinished = {
        status: add_job(status, events_days_ago=(60, 60)) for status in ("todo", "doing", "aborting")
    }
    add_job("succeeded", events_days_ago=(60, 60, 60))

    assert retention.finished_jobs_prune(older_than=cutoff(1)) == 1

    assert job_ids() == set(unfinished.values())
    statuses = dict(run("SELECT id, status::text FROM procrastinate_jobs"))
    assert statuses == {job_id: status for status, job_id in unfinished.items()}


def test_a_periodic_defer_of_a_removed_job_stays_unlinked() -> None:
    """procrastinate keeps the last defer of each periodic task (it decides whether the next
    one is due): its row outlives the job, pointing at nothing."""
    job_id = add_job("succeeded", events_days_ago=(30, 30, 30), task="core.prune_finished_jobs")
    run(
        "INSERT INTO procrastinate_periodic_defers (task_name, periodic_id, defer_timestamp, job_id)"
        " VALUES ('core.prune_finished_jobs', 'prune-finished-jobs', 1, %s)",
        [job_id],
    )
    assert retention.finished_jobs_prune(older_than=cutoff()) == 1
    assert run("SELECT task_name, job_id FROM procrastinate_periodic_defers") == [
        ("core.prune_finished_jobs", None)
    ]


def test_a_batch_removes_at_most_its_size_and_a_run_at_most_its_batches() -> None:
    for _ in range(7):
        add_job("succeeded", events_days_ago=(30,))
    assert retention.finished_jobs_prune_batch(older_than=cutoff(), batch_size=2) == 2
    assert len(job_ids()) == 5
    assert retention.finished_jobs_prune(older_than=cutoff(), batch_size=2, max_batches=2) == 4
    assert len(job_ids()) == 1
    assert retention.finished_jobs_prune(older_than=cutoff(), batch_size=2) == 1  # a short batch ends it
    assert job_ids() == set()


def test_a_job_someone_holds_is_skipped_not_waited_for() -> None:
    """A failed job being retried by someone else at this moment (its row locked) is left to
    them: the prune neither waits for the lock nor removes it. Without the lock it goes."""
    held = add_job("failed", events_days_ago=(30, 30, 30))
    other = add_job("failed", events_days_ago=(30, 30, 30))
    retrier = connections.create_connection("default")
    try:
        retrier.ensure_connection()
        retrier.set_autocommit(False)
        with retrier.cursor() as cur:
            cur.execute("SELECT 1 FROM procrastinate_jobs WHERE id = %s FOR UPDATE", [held])
            assert retention.finished_jobs_prune(older_than=cutoff()) == 1
            assert job_ids() == {held}
            cur.execute("UPDATE procrastinate_jobs SET status = 'todo' WHERE id = %s", [held])
        retrier.commit()
    finally:
        retrier.close()
    assert other not in job_ids()
    assert retention.finished_jobs_prune(older_than=cutoff()) == 0  # retried: waiting again
    control = add_job("failed", events_days_ago=(30, 30, 30))  # nobody holds this one
    assert retention.finished_jobs_prune(older_than=cutoff()) == 1
    assert job_ids() == {held}
    assert control not in job_ids()


def test_the_periodic_job_uses_the_configured_window_and_counts_what_it_removed(settings) -> None:
    settings.JOBS_KEEP_DAYS = 5
    add_job("succeeded", events_days_ago=(7, 7, 6))
    kept = add_job("succeeded", events_days_ago=(7, 7, 4))
    counter = telemetry.PRUNED_ROWS.labels(kind="finished_jobs")
    before = counter._value.get()

    assert tasks.prune_finished_jobs(timestamp=0) == 1

    assert job_ids() == {kept}
    assert counter._value.get() == before + 1
