"""Periodic job of the change feed (procrastinate): retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from crewcall.changes import services
from crewcall.core.context import request_context
from crewcall.core.stalled_jobs import RETRY, on_stall


@on_stall(RETRY)
@app.periodic(cron="17 * * * *", periodic_id="prune-changes")
@app.task(queue="changes", name="changes.prune", queueing_lock="changes.prune")
def prune_changes(timestamp: int) -> int:
    """Drop changes older than CREWCALL_CHANGES_RETENTION_DAYS, in batches."""
    with request_context(source="worker"):
        cutoff = timezone.now() - timedelta(days=settings.CHANGES_RETENTION_DAYS)
        return services.changes_prune(older_than=cutoff)
