"""The event lifecycle where it touches staffing (@service: one transaction each):
moving an event along its statuses, cancelling it, and recruiting ↔ staffed following
the acceptances. Completing (not before the event has ended) expires the open
invitations, reopening (within CREWCALL_EVENT_REOPEN_DAYS) makes the completed ones
accepted again, cancelling removes the placements and tells everyone asked or booked;
the lifecycle itself (which status may follow which) is events.models.EVENT_TRANSITIONS."""

from __future__ import annotations

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.versioning import apply_changes, lock_current
from crewcall.events.models import EVENT_TRANSITIONS, Event, EventStatus
from crewcall.events.selectors import event_ends_at, reopen_until
from crewcall.staffing.invitation_messages import message_queue_about
from crewcall.staffing.models import OPEN_INVITATION_STATUSES, Assignment, Invitation, InvitationStatus


@service
def event_transition(
    *, actor: User | None, event_id: int, expected_version: int | None, to_status: str
) -> Event:
    """Move an event along its lifecycle (use event_cancel to cancel)."""
    event = lock_current(Event, pk=event_id, expected_version=expected_version)
    if to_status == EventStatus.CANCELLED:
        raise ValidationFailed.single("status", _("Use cancel to cancel an event."))
    if to_status not in EVENT_TRANSITIONS.get(event.status, frozenset()):
        raise ValidationFailed.single(
            "status",
            _("An event cannot go from %(from)s to %(to)s.") % {"from": event.status, "to": to_status},
        )
    if event.is_template:
        raise ValidationFailed.single("status", _("A template has no lifecycle."))
    if to_status == EventStatus.COMPLETED:
        return _complete(event)
    if event.status == EventStatus.COMPLETED:
        return _reopen(event)
    apply_changes(event, {"status": to_status}, allowed={"status"})
    return event


def _complete(event: Event) -> Event:
    """Completed once it has ended (the database refuses earlier too): accepted
    invitations become completed, the ones still open expire."""
    ends = event_ends_at(event)
    if timezone.now() < ends:
        raise ValidationFailed.single(
            "status",
            _("An event is completed once it has ended (%(end)s).")
            % {"end": formats.date_format(timezone.localtime(ends), "DATETIME_FORMAT")},
        )
    invitations = Invitation.objects.filter(event=event)
    invitations.filter(status=InvitationStatus.ACCEPTED).update(status=InvitationStatus.COMPLETED)
    invitations.filter(status__in=[InvitationStatus.ASKED, InvitationStatus.WAITLISTED]).update(
        status=InvitationStatus.EXPIRED
    )
    apply_changes(
        event,
        {"status": EventStatus.COMPLETED, "completed_at": timezone.now()},
        allowed={"status", "completed_at"},
    )
    return event


def _reopen(event: Event) -> Event:
    """A completed event back to recruiting or staffed (as its acceptances say), within
    the window: the completed invitations are accepted again; expired ones stay expired."""
    until = reopen_until(event)
    if until is not None and timezone.now() > until:
        raise ValidationFailed.single(
            "status",
            _("A completed event can be reopened for %(days)s days after completing it.")
            % {"days": settings.EVENT_REOPEN_DAYS},
        )
    worked = Invitation.objects.filter(event=event, status=InvitationStatus.COMPLETED)
    status = EventStatus.STAFFED if worked.count() >= event.employees_needed else EventStatus.RECRUITING
    # The event first: an invitation is accepted only while its event is open.
    apply_changes(event, {"status": status, "completed_at": None}, allowed={"status", "completed_at"})
    worked.update(status=InvitationStatus.ACCEPTED)
    return event


@service
def event_cancel(*, actor: User | None, event_id: int, expected_version: int | None) -> Event:
    """Cancel: placements removed, every open invitation cancelled; other events untouched."""
    event = lock_current(Event, pk=event_id, expected_version=expected_version)
    if EventStatus.CANCELLED not in EVENT_TRANSITIONS[event.status]:
        raise ValidationFailed.single(
            "status", _("A %(status)s event cannot be cancelled.") % {"status": event.status}
        )
    Assignment.objects.filter(event=event).delete()
    notified = list(
        Invitation.objects.filter(event=event, status__in=OPEN_INVITATION_STATUSES)
        .select_related("employee")
        .order_by("pk")
    )
    Invitation.objects.filter(pk__in=[i.pk for i in notified]).update(status=InvitationStatus.CANCELLED)
    apply_changes(event, {"status": EventStatus.CANCELLED}, allowed={"status"})
    for invitation in notified:
        _queue_cancellation_notice(invitation, event)
    return event


def _queue_cancellation_notice(invitation: Invitation, event: Event) -> None:
    """Everyone who was asked, waiting or booked hears that the event is off."""
    if invitation.employee.phone_number is None:
        return  # anonymised since: nobody to tell
    message_queue_about(
        invitation, event, text="cancellation", kind="cancellation",
        intent_key=f"cancellation:{invitation.pk}",
    )  # fmt: skip


def event_sync_staffing_status(event: Event) -> None:
    """recruiting ↔ staffed as acceptances come and go. Runs inside the caller's
    transaction, with the event row already locked by it."""
    if event.status not in (EventStatus.RECRUITING, EventStatus.STAFFED):
        return
    accepted = Invitation.objects.filter(event=event, status=InvitationStatus.ACCEPTED).count()
    wanted = EventStatus.STAFFED if accepted >= event.employees_needed else EventStatus.RECRUITING
    if event.status != wanted:
        apply_changes(event, {"status": wanted}, allowed={"status"})
