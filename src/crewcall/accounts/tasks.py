"""Periodic housekeeping of the accounts app (procrastinate): sessions and sign-in logs."""

from __future__ import annotations

from django.conf import settings
from procrastinate.contrib.django import app

from crewcall.accounts import retention
from crewcall.core import retention as core_retention
from crewcall.core.stalled_jobs import RETRY, on_stall


@on_stall(RETRY)
@app.periodic(cron="47 * * * *", periodic_id="prune-sessions")
@app.task(queue="housekeeping", name="accounts.prune_sessions", queueing_lock="accounts.prune_sessions")
def prune_sessions(timestamp: int) -> int:
    """Delete expired sessions (what Django's `clearsessions` does, in batches)."""
    return core_retention.housekeeping("sessions", retention.sessions_prune)


@on_stall(RETRY)
@app.periodic(cron="53 * * * *", periodic_id="prune-signin-logs")
@app.task(queue="housekeeping", name="accounts.prune_signin_logs", queueing_lock="accounts.prune_signin_logs")
def prune_signin_logs(timestamp: int) -> int:
    """Delete sign-in log rows older than SIGNIN_LOG_KEEP_DAYS."""
    cutoff = core_retention.days_ago(settings.SIGNIN_LOG_KEEP_DAYS)
    return core_retention.housekeeping("signin_logs", lambda: retention.signin_logs_prune(older_than=cutoff))
