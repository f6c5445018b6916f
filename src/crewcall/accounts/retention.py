"""Retention of sign-in data: expired sessions and old sign-in logs.

Sessions go once they expire, by Django's own rule (`clearsessions`: `expire_date` in the
past), here in batches. django-axes keeps a log row per sign-in (`axes_accesslog`) and, when
enabled, per failed sign-in (`axes_accessfailurelog`); both go after SIGNIN_LOG_KEEP_DAYS.
The failed attempts that count towards a lockout (`axes_accessattempt`) are django-axes' own
business: it deletes those past the lockout time at every sign-in.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from crewcall.core.retention import MAX_BATCHES, PRUNE_BATCH, in_batches, in_batches_per_table
from crewcall.core.transactions import service

_DELETE_EXPIRED_SESSIONS = """
DELETE FROM django_session WHERE session_key IN (
    SELECT session_key FROM django_session WHERE expire_date < %(now)s
    ORDER BY expire_date LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
"""
# The oldest first; the tables have no index on the time, but their ids grow with it.
_DELETE_OLD_LOGS = """
DELETE FROM {table} WHERE id IN (
    SELECT id FROM {table} WHERE attempt_time < %(cutoff)s
    ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
"""
SIGNIN_LOG_TABLES = ("axes_accesslog", "axes_accessfailurelog")


@service
def sessions_prune_batch(*, actor: object = None, batch_size: int = PRUNE_BATCH) -> int:
    """Delete up to `batch_size` expired sessions. One transaction."""
    with connection.cursor() as cur:
        cur.execute(_DELETE_EXPIRED_SESSIONS, {"now": timezone.now(), "batch": batch_size})
        return cur.rowcount


def sessions_prune(*, batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES) -> int:
    return in_batches(
        lambda size: sessions_prune_batch(batch_size=size), batch_size=batch_size, max_batches=max_batches
    )


@service
def signin_logs_prune_batch(
    *, actor: object = None, table: str, older_than: datetime, batch_size: int = PRUNE_BATCH
) -> int:
    """Delete up to `batch_size` rows of one sign-in log table from before `older_than`."""
    if table not in SIGNIN_LOG_TABLES:
        raise ValueError(f"{table} is not a sign-in log")
    with connection.cursor() as cur:
        cur.execute(_DELETE_OLD_LOGS.format(table=table), {"cutoff": older_than, "batch": batch_size})
        return cur.rowcount


def signin_logs_prune(
    *, older_than: datetime, batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES
) -> int:
    """Every sign-in log table, batch after batch; returns the rows deleted."""
    return in_batches_per_table(
        signin_logs_prune_batch,
        SIGNIN_LOG_TABLES,
        older_than=older_than,
        batch_size=batch_size,
        max_batches=max_batches,
    )
