"""Retention: pruning what would otherwise grow for ever, in bounded batches.

Each app prunes its own tables (accounts: sessions and sign-in logs; messaging: raw inbound
payloads; ops: run records and metrics files; changes: the change feed; core: idempotency
keys and, here, finished jobs). A prune runs batch after batch, each batch one short
transaction, so no run holds locks for long; a run stops after `MAX_BATCHES` and the next
run goes on. docs/operations.md lists every table, how it grows and what prunes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial

from django.db import connection
from django.utils import timezone

from crewcall.core import telemetry
from crewcall.core.context import request_context
from crewcall.core.transactions import service

logger = logging.getLogger(__name__)

PRUNE_BATCH = 1000
# A run removes at most MAX_BATCHES times its batch size rows; a backlog takes several runs.
MAX_BATCHES = 500

# procrastinate's final states; `todo`, `doing` and `aborting` jobs are never touched.
FINAL_JOB_STATES = ("succeeded", "failed", "cancelled", "aborted")


def days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def in_batches(prune_batch: Callable[[int], int], *, batch_size: int, max_batches: int) -> int:
    """Call `prune_batch(batch_size)` (one transaction each) until a batch comes back short
    or `max_batches` ran; returns the total it removed."""
    if batch_size < 1 or max_batches < 1:
        raise ValueError("batch_size and max_batches must be at least 1")
    total = 0
    for _ in range(max_batches):
        removed = prune_batch(batch_size)
        total += removed
        if removed < batch_size:
            break
    return total


def in_batches_per_table(
    prune_batch: Callable[..., int],
    tables: Iterable[str],
    *,
    older_than: datetime,
    batch_size: int,
    max_batches: int,
) -> int:
    """`in_batches` for each table in turn, `prune_batch(table=…, older_than=…,
    batch_size=…)` removing one batch of one table; returns the total removed."""
    total = 0
    for table in tables:
        total += in_batches(
            partial(_one_table_batch, prune_batch, table, older_than),
            batch_size=batch_size,
            max_batches=max_batches,
        )
    return total


def _one_table_batch(prune_batch: Callable[..., int], table: str, older_than: datetime, size: int) -> int:
    return prune_batch(table=table, older_than=older_than, batch_size=size)


def housekeeping(kind: str, prune: Callable[[], int]) -> int:
    """Run one periodic prune in a job: worker context, a log line, the rows counted in
    `crewcall_pruned_rows_total{kind}`, and the job thread's connection given back."""
    try:
        with request_context(source="worker"):
            removed = prune()
    finally:
        if not connection.in_atomic_block:
            connection.close()  # worker threads are pooled, not request-scoped
    logger.info("retention: %s: removed %d", kind, removed)
    telemetry.rows_pruned(kind, removed)
    return removed


# Finished jobs whose latest event (their finish) is older than the cutoff, lowest ids first.
# A job is locked before it goes and its state checked again on the locked row, so a failed
# job that someone retries at this moment (back to `todo`) stays. Deleting a job deletes its
# events (ON DELETE CASCADE) and unlinks its periodic-defer row (procrastinate's trigger).
_DELETE_FINISHED_JOBS = """
WITH doomed AS (
    SELECT j.id FROM procrastinate_jobs j
    WHERE j.status = ANY(%(states)s::procrastinate_job_status[])
      AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at >= %(cutoff)s)
    ORDER BY j.id
    LIMIT %(batch)s
    FOR UPDATE OF j SKIP LOCKED
)
DELETE FROM procrastinate_jobs j USING doomed d
WHERE j.id = d.id AND j.status = ANY(%(states)s::procrastinate_job_status[])
"""


@service
def finished_jobs_prune_batch(
    *, actor: object = None, older_than: datetime, batch_size: int = PRUNE_BATCH
) -> int:
    """Delete up to `batch_size` jobs that finished (succeeded, failed, cancelled, aborted)
    before `older_than`, with their events. One transaction."""
    with connection.cursor() as cur:
        cur.execute(
            _DELETE_FINISHED_JOBS,
            {"states": list(FINAL_JOB_STATES), "cutoff": older_than, "batch": batch_size},
        )
        return cur.rowcount


def finished_jobs_prune(
    *, older_than: datetime, batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES
) -> int:
    """procrastinate's own `delete_old_jobs` would do this in one unbounded statement (and
    reads every job's events to do it), so the queue's own table would be locked for as
    long as a large backlog takes: here it goes in batches."""
    return in_batches(
        lambda size: finished_jobs_prune_batch(older_than=older_than, batch_size=size),
        batch_size=batch_size,
        max_batches=max_batches,
    )
