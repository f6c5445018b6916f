"""Periodic housekeeping of the core app (procrastinate)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from procrastinate.contrib.django import app

from crewcall.core import services
from crewcall.core.context import request_context


@app.periodic(cron="23 * * * *", periodic_id="prune-idempotency-keys")
@app.task(
    queue="housekeeping", name="core.prune_idempotency_keys", queueing_lock="core.prune_idempotency_keys"
)
def prune_idempotency_keys(timestamp: int) -> int:
    """Forget Idempotency-Keys (and the answers kept for them) after IDEMPOTENCY_KEEP_HOURS."""
    with request_context(source="worker"):
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
        return services.idempotency_keys_prune(older_than=cutoff)
