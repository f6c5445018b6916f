"""Periodic housekeeping of the core app (procrastinate)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from crewcall.core import retention, services
from crewcall.core.context import request_context
from crewcall.core.stalled_jobs import RETRY, on_stall


@on_stall(RETRY)
@app.periodic(cron="23 * * * *", periodic_id="prune-idempotency-keys")
@app.task(
    queue="housekeeping", name="core.prune_idempotency_keys", queueing_lock="core.prune_idempotency_keys"
)
def prune_idempotency_keys(timestamp: int) -> int:
    """Forget Idempotency-Keys (and the answers kept for them) after IDEMPOTENCY_KEEP_HOURS."""
    with request_context(source="worker"):
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
        return services.idempotency_keys_prune(older_than=cutoff)


@on_stall(RETRY)
@app.periodic(cron="41 * * * *", periodic_id="prune-finished-jobs")
@app.task(queue="housekeeping", name="core.prune_finished_jobs", queueing_lock="core.prune_finished_jobs")
def prune_finished_jobs(timestamp: int) -> int:
    """Delete jobs that finished more than JOBS_KEEP_DAYS ago, with their events."""
    return retention.housekeeping(
        "finished_jobs",
        lambda: retention.finished_jobs_prune(older_than=retention.days_ago(settings.JOBS_KEEP_DAYS)),
    )
