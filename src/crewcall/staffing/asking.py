"""Asking people: the picker's choice becomes invitations and WhatsApp messages.

Every invitation and its message (with the send job deferred beside it) are written in
one transaction: a rollback leaves neither, a commit leaves both. Asking is idempotent
per wave: asking again for a wave that already exists returns that wave unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.versioning import apply_changes
from crewcall.events.models import Event, EventStatus
from crewcall.staffing.answers import lock_event_for_answers
from crewcall.staffing.invitation_messages import message_queue_about
from crewcall.staffing.models import Invitation, InvitationStatus
from crewcall.staffing.picker import pick_candidates


@dataclass(frozen=True)
class AskResult:
    event_id: int
    wave: int
    invitations: list[Invitation]
    created: bool  # False when this wave had already been asked


def queue_invitation_message(invitation: Invitation, event: Event) -> None:
    message_queue_about(
        invitation,
        event,
        text="invitation",
        kind="invitation",
        intent_key=f"invitation:{invitation.pk}",
        template_key="invitation",
        yes_payload=f"YES_{invitation.pk}",
        no_payload=f"NO_{invitation.pk}",
    )


def ask_wave(*, event: Event, wave: int | None = None, count: int | None = None) -> AskResult:
    """Ask the next wave for a locked event; inside the caller's transaction."""
    if event.is_template:
        raise ValidationFailed.single("event", _("A template is not staffed; make an event from it."))
    if event.status == EventStatus.DRAFT:
        apply_changes(event, {"status": EventStatus.RECRUITING}, allowed={"status"})
    if event.status not in (EventStatus.RECRUITING, EventStatus.STAFFED):
        raise ValidationFailed.single(
            "status", _("A %(status)s event does not ask anyone.") % {"status": event.status}
        )
    last = (
        Invitation.objects.filter(event=event).order_by("-wave").values_list("wave", flat=True).first() or 0
    )
    if wave is None:
        wave = last + 1
    if wave <= last:
        existing = list(Invitation.objects.filter(event=event, wave=wave).select_related("employee"))
        return AskResult(event_id=event.pk, wave=wave, invitations=existing, created=False)
    if wave != last + 1:
        raise ValidationFailed.single("wave", _("The next wave is %(wave)s.") % {"wave": last + 1})
    if count is not None and count < 1:
        raise ValidationFailed.single("count", _("Ask at least one person."))
    picks = pick_candidates(event_id=event.pk, count=count, today=timezone.localdate())
    invitations = Invitation.objects.bulk_create(
        [Invitation(event=event, employee_id=p.employee_id, wave=wave, pick_reason=p.reason) for p in picks]
    )
    created = list(Invitation.objects.filter(pk__in=[i.pk for i in invitations]).select_related("employee"))
    for invitation in created:
        queue_invitation_message(invitation, event)
    return AskResult(event_id=event.pk, wave=wave, invitations=created, created=True)


@service
def event_ask(
    *, actor: User | None, event_id: int, wave: int | None = None, count: int | None = None
) -> AskResult:
    """Ask the next people for an event (the picker chooses, the outbox sends).

    `wave` makes a retried request safe: asking for a wave that exists changes nothing.
    """
    event = lock_event_for_answers(event_id)
    return ask_wave(event=event, wave=wave, count=count)


@service
def event_nudge(*, actor: User | None, event_id: int) -> int:
    """Remind everyone who has not answered yet; at most one nudge per person per day."""
    event = lock_event_for_answers(event_id)
    today = timezone.localdate().isoformat()
    quiet = Invitation.objects.filter(event=event, status=InvitationStatus.ASKED).select_related("employee")
    sent = 0
    for invitation in quiet:
        _queued, created = message_queue_about(
            invitation, event, text="nudge", kind="nudge", intent_key=f"nudge:{invitation.pk}:{today}"
        )
        sent += created
    return sent
