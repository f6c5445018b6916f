"""Writes to the change feed's own state: retention and the epoch.

The change rows themselves are written only by the trigger `changes_record`; everything
else here goes through the owner's definer functions (the application may only read and
append to the change log, and only read the feed's state).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import psycopg.errors
from django.db import Error, connection

from crewcall.changes.selectors import FeedMissing
from crewcall.core.transactions import service

PRUNE_BATCH = 5000


def _call(sql: str, params: list[Any]) -> Any:
    """One definer function's answer (changes/migrations/0005_privileged_feed_writes.py);
    FeedMissing when the feed's state row is gone."""
    with connection.cursor() as cur:
        try:
            cur.execute(sql, params)
        except Error as exc:
            if isinstance(exc.__cause__, psycopg.errors.NoDataFound):
                raise FeedMissing("changes_feed has no row") from exc
            raise
        row = cur.fetchone()
    return row[0] if row else None


@service
def changes_prune_batch(*, actor: Any = None, older_than: datetime, batch_size: int = PRUNE_BATCH) -> int:
    """Delete up to `batch_size` of the oldest changes recorded before `older_than` and
    move the watermark past them; returns how many were deleted. One transaction."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    # The change log is append-only for the application: the owner's function deletes.
    return int(_call("SELECT crewcall_changes_prune(%s, %s)", [batch_size, older_than]) or 0)


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


@service
def changes_after_restore(*, actor: Any = None) -> tuple[str, int]:
    """After `crewcall restore`: a new epoch (every earlier cursor gets `reset`) and no
    restored change left ahead of this cluster's transaction ids. Returns (epoch, dropped)."""
    epoch = secrets.token_hex(6)
    return epoch, int(_call("SELECT crewcall_changes_new_epoch(%s)", [epoch]) or 0)


@service
def changes_feed_recreate(*, actor: Any = None) -> bool:
    """The integrity repair for a lost feed state row: a new one, with a new epoch (every
    client gets a reset). False when the row was there after all."""
    return bool(_call("SELECT crewcall_changes_feed_recreate(%s)", [secrets.token_hex(6)]))
