"""Writes of the ops app: the integrity repairs and the record of each run.

A repair fixes one finding in its own transaction (@service), called by the runner under
`request_context(source="repair")`, so every history row and change it causes carries
source "repair". It returns what it did, or raises (an error of crewcall.core.errors, a
database refusal) with the reason it could not; the runner then leaves the finding for a
human. No repair deletes history.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.core.errors import NotFound, RuleViolation
from crewcall.core.transactions import service
from crewcall.ops.models import IntegrityRun

if TYPE_CHECKING:
    from crewcall.ops.integrity.registry import Finding


def _int_id(finding: Finding) -> int:
    return int(finding.object_id)


@service
def repair_event_staffing_status(*, actor: Any = None, event_id: int) -> str:
    from crewcall.core.versioning import get_or_not_found
    from crewcall.events.models import Event
    from crewcall.staffing.event_lifecycle import event_sync_staffing_status

    event = get_or_not_found(Event, pk=event_id, lock=True)
    before = event.status
    event_sync_staffing_status(event)
    return f"status {before} -> {event.status}"


def event_staffing_status(finding: Finding) -> str:
    return repair_event_staffing_status(event_id=_int_id(finding))


def assignment_remove(finding: Finding) -> str:
    """The invitation says the person is not coming: the placement goes (its history stays)."""
    from crewcall.events.models import Assignment
    from crewcall.staffing.placement import assignment_delete

    version = Assignment.objects.filter(pk=_int_id(finding)).values_list("version", flat=True).first()
    if version is None:
        raise NotFound(_("assignment %(id)s is gone already") % {"id": finding.object_id})
    assignment_delete(actor=None, assignment_id=_int_id(finding), expected_version=version)
    return "removed the placement"


@service
def repair_invitation_message(*, actor: Any = None, invitation_id: int) -> str:
    from crewcall.core.versioning import get_or_not_found
    from crewcall.events.models import Event
    from crewcall.staffing.asking import queue_invitation_message
    from crewcall.staffing.models import Invitation

    invitation = get_or_not_found(Invitation, pk=invitation_id)
    event = get_or_not_found(Event, pk=invitation.event_id, lock=True)
    invitation = get_or_not_found(Invitation, pk=invitation_id, lock=True)
    if invitation.status != "asked" or event.status not in ("recruiting", "staffed"):
        return "nothing to do: no longer asked"
    if event.event_date is None or event.event_date < timezone.localdate():
        raise RuleViolation(
            field="event",
            message=_("The event is over: expire the invitation rather than send it now."),
            constraint="repair",
        )
    queue_invitation_message(invitation, event)
    return "queued the invitation message"


def invitation_message(finding: Finding) -> str:
    return repair_invitation_message(invitation_id=_int_id(finding))


@service
def repair_message_requeue(*, actor: Any = None, message_id: int) -> str:
    from crewcall.messaging.outbox import defer_send

    defer_send(message_id)
    return "deferred a send job (it reconciles a claimed message before resending)"


def message_requeue(finding: Finding) -> str:
    return repair_message_requeue(message_id=_int_id(finding))


@service
def repair_inbound_apply_job(*, actor: Any = None) -> str:
    from crewcall.messaging.inbound import defer_apply

    return "deferred an apply job" if defer_apply() else "an apply job is already waiting"


def inbound_apply_job(finding: Finding) -> str:
    return repair_inbound_apply_job()


@service
def repair_job_cancel(*, actor: Any = None, job_id: int) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT procrastinate_cancel_job_v1(%s, false, false)", [job_id])
    return "cancelled the job"


def job_cancel(finding: Finding) -> str:
    return repair_job_cancel(job_id=_int_id(finding))


@service
def repair_idempotency_key_forget(*, actor: Any = None, key_id: int) -> str:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_idempotencykey WHERE id = %s", [key_id])
    return "forgot the key (its caller is gone, nobody can retry with it)"


def idempotency_key_forget(finding: Finding) -> str:
    return repair_idempotency_key_forget(key_id=_int_id(finding))


@service
def repair_row_resnapshot(*, actor: Any = None, table: str, row_id: int) -> str:
    """Touch the row: its triggers give it a new version and record its whole current
    state in the history and on the change feed (both with source "repair")."""
    from crewcall.ops.integrity.audit import tracked_tables

    versioned = {t for t, _h, v in tracked_tables() if v}
    if table not in versioned:
        raise RuleViolation(
            field="table",
            message=_("%(table)s has no version to resnapshot.") % {"table": table},
            constraint="repair",
        )
    with connection.cursor() as cur:
        # The table name is one of the tracked tables, checked above.
        cur.execute(f"UPDATE {table} SET updated_at = updated_at WHERE id = %s", [row_id])  # noqa: S608
        if cur.rowcount != 1:
            raise NotFound(_("%(table)s %(id)s does not exist") % {"table": table, "id": row_id})
    return "recorded the row's current state (new version)"


def row_resnapshot(finding: Finding) -> str:
    return repair_row_resnapshot(table=finding.kind, row_id=_int_id(finding))


def repair_feed_state(*, actor: Any = None) -> str:
    from crewcall.changes.services import changes_feed_recreate

    changes_feed_recreate(actor=actor)
    return "recreated the feed state with a new epoch (every client gets a reset)"


def feed_state_restore(finding: Finding) -> str:
    return repair_feed_state()


@service
def integrity_run_record(
    *,
    actor: Any = None,
    started_at: datetime,
    finished_at: datetime,
    repair: bool,
    summary: dict[str, Any],
) -> IntegrityRun:
    totals = summary["totals"]
    return IntegrityRun.objects.create(
        started_at=started_at,
        finished_at=finished_at,
        repair=repair,
        checks_run=totals["checks_run"],
        checks_failed=totals["checks_failed"],
        errors=totals["errors"],
        warnings=totals["warnings"],
        repaired=totals["repaired"],
        left=totals["left"],
        summary=summary,
    )
