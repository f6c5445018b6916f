"""Retention of operations records: integrity and canary runs.

A run record older than RUN_RECORDS_KEEP_DAYS goes, except the newest of its kind, which
the KPI page and `/metrics` read (the data consistency score, the last canary), however
old it is. (The metrics files of dead processes are folded by ops/metrics_files.py.)
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from crewcall.core.retention import MAX_BATCHES, PRUNE_BATCH, in_batches_per_table
from crewcall.core.transactions import service

RUN_TABLES = ("ops_integrityrun", "ops_canaryrun")

# The oldest first (the tables are indexed on started_at); the newest row never goes.
_DELETE_OLD_RUNS = """
DELETE FROM {table} WHERE id IN (
    SELECT id FROM {table}
    WHERE started_at < %(cutoff)s
      AND id <> (SELECT id FROM {table} ORDER BY started_at DESC, id DESC LIMIT 1)
    ORDER BY started_at, id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
"""


@service
def run_records_prune_batch(
    *, actor: object = None, table: str, older_than: datetime, batch_size: int = PRUNE_BATCH
) -> int:
    """Delete up to `batch_size` runs of one kind started before `older_than`, never the
    newest. One transaction."""
    if table not in RUN_TABLES:
        raise ValueError(f"{table} is not a run record table")
    with connection.cursor() as cur:
        cur.execute(_DELETE_OLD_RUNS.format(table=table), {"cutoff": older_than, "batch": batch_size})
        return cur.rowcount


def run_records_prune(
    *, older_than: datetime, batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES
) -> int:
    """Integrity and canary runs, batch after batch; returns the rows deleted."""
    return in_batches_per_table(
        run_records_prune_batch,
        RUN_TABLES,
        older_than=older_than,
        batch_size=batch_size,
        max_batches=max_batches,
    )
