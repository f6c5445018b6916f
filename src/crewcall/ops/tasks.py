"""Jobs of the ops app (procrastinate discovers this module)."""

from __future__ import annotations

from django.conf import settings
from procrastinate.contrib.django import app

from crewcall.core import retention as core_retention
from crewcall.core.context import request_context
from crewcall.core.stalled_jobs import RETRY, on_stall
from crewcall.ops import retention
from crewcall.ops.metrics_files import fold_dead_processes

CANARY_QUEUE = "canary"


@on_stall(RETRY)
@app.task(queue=CANARY_QUEUE, name="ops.canary_echo")
def canary_echo(nonce: str) -> str:
    """Does nothing but succeed: the canary audit defers it through the API and waits for
    a worker to run it, which proves the queue, a worker and its database connection work."""
    return nonce


@on_stall(RETRY)
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


@on_stall(RETRY)
@app.periodic(cron="37 * * * *", periodic_id="prune-run-records")
@app.task(queue="housekeeping", name="ops.prune_run_records", queueing_lock="ops.prune_run_records")
def prune_run_records(timestamp: int) -> int:
    """Delete integrity and canary runs older than RUN_RECORDS_KEEP_DAYS (the newest stays)."""
    return core_retention.housekeeping(
        "run_records",
        lambda: retention.run_records_prune(
            older_than=core_retention.days_ago(settings.RUN_RECORDS_KEEP_DAYS)
        ),
    )


@on_stall(RETRY)
@app.periodic(cron="*/5 * * * *", periodic_id="fold-metrics-files")
@app.task(queue="housekeeping", name="ops.fold_metrics_files", queueing_lock="ops.fold_metrics_files")
def fold_metrics_files(timestamp: int) -> int:
    """Fold the metrics files of processes that ended into the archive, on the machine of
    the worker that runs it (each web process also does at every scrape)."""
    return fold_dead_processes().files


@on_stall(RETRY)
@app.periodic(cron="* * * * *", periodic_id="audit-seal")
@app.task(queue="housekeeping", name="ops.audit_seal", queueing_lock="ops.audit_seal")
def audit_seal(timestamp: int) -> int:
    """Seal the audit trail's new rows into their hash chains (ops/audit_seal.py)."""
    from crewcall.ops.audit_seal import audit_seal as seal

    with request_context(source="worker"):
        return seal()


@on_stall(RETRY)
@app.periodic(cron="17 * * * *", periodic_id="audit-chain-heads")
@app.task(queue="housekeeping", name="ops.audit_chain_heads", queueing_lock="ops.audit_chain_heads")
def audit_chain_heads(timestamp: int) -> int:
    """Log the chains' heads once an hour: a copy outside the database for --expect-heads."""
    from crewcall.ops.audit_seal import log_chain_heads

    heads = log_chain_heads()
    return sum(1 for head in heads["tables"].values() if head)
