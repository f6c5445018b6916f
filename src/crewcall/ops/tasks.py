"""Jobs of the ops app (procrastinate discovers this module)."""

from __future__ import annotations

from django.conf import settings
from procrastinate.contrib.django import app

from crewcall.core.context import request_context

CANARY_QUEUE = "canary"


@app.task(queue=CANARY_QUEUE, name="ops.canary_echo")
def canary_echo(nonce: str) -> str:
    """Does nothing but succeed: the canary audit defers it through the API and waits for
    a worker to run it, which proves the queue, a worker and its database connection work."""
    return nonce


@app.task(queue="housekeeping", name="ops.canary_audit", queueing_lock="ops.canary_audit")
def canary_audit(timestamp: int | None = None) -> bool:
    """The canary audit against this installation's public URL, recorded for the KPI page."""
    from crewcall.ops.canary.run import run_audit
    from crewcall.ops.canary.services import canary_run_record, canary_token_issue, canary_token_revoke

    with request_context(source="worker"):
        issued = canary_token_issue()
        try:
            report = run_audit(
                url=settings.PUBLIC_URL, token=issued.secret, wait_s=settings.CANARY_WAIT_S, in_worker=True
            )
        finally:
            canary_token_revoke(token_id=issued.token.pk)
        canary_run_record(report=report)
    return report.ok


if settings.CANARY_EVERY_MINUTES:
    # Optional (CREWCALL_CANARY_EVERY_MINUTES): off unless asked for, since each run writes
    # and deletes a sandbox event.
    app.periodic(cron=f"*/{settings.CANARY_EVERY_MINUTES} * * * *", periodic_id="canary-audit")(canary_audit)
