"""Reads for invitations and the work log, each with a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from crewcall.staffing.models import Invitation, InvitationStatus, WorkLog


def invitations_for_event(*, event_id: int, status: str | None = None) -> QuerySet[Invitation]:
    qs = Invitation.objects.filter(event_id=event_id).select_related("employee", "employee__primary_role")
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by("asked_at", "id")


def invitation_counts(*, event_id: int) -> dict[str, int]:
    """How many invitations of the event are in each status (every status present)."""
    counts = dict.fromkeys(InvitationStatus.values, 0)
    rows = Invitation.objects.filter(event_id=event_id).values("status").annotate(n=Count("id"))
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def work_logs_for_event(*, event_id: int) -> QuerySet[WorkLog]:
    return WorkLog.objects.filter(event_id=event_id).select_related("employee", "approved_by")
