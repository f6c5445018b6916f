"""Keeping events staffed without a dispatcher watching: follow-up waves, expiry at the
reply deadline, reminders the day before. Each is a service the periodic jobs in
staffing.tasks call (and tests call directly); each is idempotent, so a job that runs
twice, or two workers running it at once, change nothing twice."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.core.transactions import service
from crewcall.core.versioning import apply_changes
from crewcall.events.models import Event, EventStatus
from crewcall.staffing.answers import lock_event_for_answers
from crewcall.staffing.asking import AskResult, ask_wave
from crewcall.staffing.event_lifecycle import event_sync_staffing_status
from crewcall.staffing.invitation_messages import message_queue_about
from crewcall.staffing.models import Invitation, InvitationStatus


def events_lagging(*, now: object = None) -> list[int]:
    """Recruiting events short of acceptances whose last wave went out longer ago than
    the wave delay, and whose reply deadline has not passed."""
    now = now or timezone.now()
    delay = timedelta(minutes=settings.WAVE_DELAY_MINUTES)
    rows = (
        Event.objects.filter(
            status=EventStatus.RECRUITING, is_template=False, event_date__gte=timezone.localdate()
        )
        .filter(Q(reply_deadline__isnull=True) | Q(reply_deadline__gt=now))
        .annotate(
            accepted=Count("invitations", filter=Q(invitations__status=InvitationStatus.ACCEPTED)),
            last_asked=Max("invitations__asked_at"),
        )
        .filter(Q(last_asked__isnull=False) & Q(last_asked__lt=now - delay))  # type: ignore[operator]
    )
    return [e.pk for e in rows if e.accepted < e.employees_needed]


@service
def event_follow_up(*, actor: User | None = None, event_id: int) -> AskResult | None:
    """Ask the next wave if the event still lags (checked again under the event lock)."""
    event = lock_event_for_answers(event_id)
    if event_id not in events_lagging():
        return None
    result = ask_wave(event=event)
    return result if result.invitations else None


@service
def invitations_expire(*, actor: User | None = None) -> int:
    """Unanswered invitations expire at the reply deadline; at the event's start, the
    waiting list expires too. Returns how many expired."""
    now = timezone.now()
    today = timezone.localdate()
    due = Invitation.objects.filter(
        Q(status=InvitationStatus.ASKED, event__reply_deadline__lte=now)
        | Q(status__in=[InvitationStatus.ASKED, InvitationStatus.WAITLISTED], event__event_date__lt=today)
    )
    expired = 0
    for event_id in sorted(set(due.values_list("event_id", flat=True))):  # fixed lock order
        event = lock_event_for_answers(event_id)
        for invitation in due.filter(event_id=event_id).select_for_update().order_by("pk"):
            apply_changes(invitation, {"status": InvitationStatus.EXPIRED}, allowed={"status"})
            expired += 1
        event_sync_staffing_status(event)
    return expired


@service
def reminders_send(*, actor: User | None = None) -> int:
    """Remind everyone accepted for tomorrow's events (one reminder per invitation)."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    accepted = Invitation.objects.filter(
        status=InvitationStatus.ACCEPTED,
        event__event_date=tomorrow,
        event__status__in=[EventStatus.RECRUITING, EventStatus.STAFFED],
    ).select_related("employee", "event")
    queued = 0
    for invitation in accepted:
        _, created = message_queue_about(
            invitation, invitation.event, text="reminder", kind="reminder",
            intent_key=f"reminder:{invitation.pk}", template_key="reminder",
        )  # fmt: skip
        queued += created
    return queued
