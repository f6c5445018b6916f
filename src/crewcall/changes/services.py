"""Writes to the change feed's own state: retention and the epoch.

The change rows themselves are written only by the trigger `changes_record`.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import connection

from crewcall.changes.selectors import HORIZON, FeedMissing
from crewcall.core.transactions import service

PRUNE_BATCH = 5000

# One batch: the oldest changes in (xid, seq) order, below the horizon (committed or
# aborted, never one still in flight), cut at the first one not old enough. Pruning a
# prefix of the order keeps the watermark exact: everything at or below it is gone,
# everything above it is kept.
_PRUNE = f"""
WITH batch AS (
    SELECT c.seq, c.xid, c.at FROM changes_change c
    WHERE c.xid < {HORIZON}
    ORDER BY c.xid, c.seq
    LIMIT %(batch)s
),
stop AS (
    SELECT b.xid, b.seq FROM batch b WHERE b.at >= %(cutoff)s ORDER BY b.xid, b.seq LIMIT 1
),
doomed AS (
    SELECT b.seq FROM batch b
    WHERE NOT EXISTS (SELECT 1 FROM stop s WHERE (b.xid, b.seq) >= (s.xid, s.seq))
),
deleted AS (
    DELETE FROM changes_change c USING doomed d WHERE c.seq = d.seq RETURNING c.xid, c.seq
),
last AS (
    SELECT xid, seq FROM deleted ORDER BY xid DESC, seq DESC LIMIT 1
),
moved AS (
    UPDATE changes_feed f SET pruned_xid = last.xid, pruned_seq = last.seq
    FROM last
    WHERE f.pruned_xid IS NULL OR (last.xid, last.seq) > (f.pruned_xid, f.pruned_seq)
    RETURNING f.id
)
SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM moved)
"""  # noqa: S608 - only the constant horizon is formatted in


@service
def changes_prune_batch(*, actor: Any = None, older_than: datetime, batch_size: int = PRUNE_BATCH) -> int:
    """Delete up to `batch_size` of the oldest changes recorded before `older_than` and
    move the watermark past them; returns how many were deleted. One transaction."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with connection.cursor() as cur:
        # One pruner at a time: the watermark only ever moves forward.
        cur.execute("SELECT epoch FROM changes_feed FOR UPDATE")
        if cur.fetchone() is None:
            raise FeedMissing("changes_feed has no row")
        cur.execute(_PRUNE, {"batch": batch_size, "cutoff": older_than})
        row = cur.fetchone()
    return int(row[0]) if row else 0


def changes_prune(
    *, older_than: datetime, batch_size: int = PRUNE_BATCH, max_batches: int | None = None
) -> int:
    """Prune in batches, one transaction each (short locks, bounded WAL per commit),
    until a batch comes back short. Returns the total deleted."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        deleted = changes_prune_batch(older_than=older_than, batch_size=batch_size)
        total += deleted
        batches += 1
        if deleted < batch_size:
            break
    return total


# A restored change log can hold rows whose transaction ids this cluster has not reached
# yet: they would pass for new once its counter got there, and a retention watermark up
# there would make every new cursor look pruned.
_DROP_FUTURE_CHANGES = """
WITH cut AS (SELECT pg_current_xact_id() AS xid),
gone AS (DELETE FROM changes_change c USING cut WHERE c.xid >= cut.xid RETURNING 1),
watermark AS (
    UPDATE changes_feed f SET pruned_xid = NULL, pruned_seq = NULL
    FROM cut WHERE f.pruned_xid >= cut.xid RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM watermark)
"""


@service
def changes_after_restore(*, actor: Any = None) -> tuple[str, int]:
    """After `crewcall restore`: a new epoch (every earlier cursor gets `reset`) and no
    restored change left ahead of this cluster's transaction ids. Returns (epoch, dropped)."""
    epoch = secrets.token_hex(6)
    with connection.cursor() as cur:
        cur.execute("UPDATE changes_feed SET epoch = %s RETURNING epoch", [epoch])
        if cur.fetchone() is None:
            raise FeedMissing("changes_feed has no row")
        cur.execute(_DROP_FUTURE_CHANGES)
        row = cur.fetchone()
    return epoch, int(row[0]) if row else 0
