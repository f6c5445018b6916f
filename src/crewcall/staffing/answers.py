"""Applying an employee's yes or no to an invitation, with what follows from it.

Called inside a service's transaction (the web "answer as employee", the WhatsApp
webhook). The event row is locked first, always in the order event → invitation, so
simultaneous answers for one event queue up and each counts the acceptances committed
before it: a "yes" after the last place is taken becomes the waiting list, never an
overbooking. (The database refuses overbooking too: trigger staffing_invitation_accept_guard.)
"""

from __future__ import annotations

from typing import Literal

from django.utils import timezone

from crewcall.core.versioning import apply_changes, get_or_not_found
from crewcall.events.models import Event, EventStatus
from crewcall.messaging.models import MessageKind
from crewcall.staffing.event_lifecycle import event_sync_staffing_status
from crewcall.staffing.invitation_messages import message_queue_about
from crewcall.staffing.models import Assignment, Invitation, InvitationStatus

Outcome = Literal[
    "accepted", "waitlisted", "still_waitlisted", "declined", "withdrawn", "already", "closed"
]  # fmt: skip
OPEN_EVENT = (EventStatus.RECRUITING, EventStatus.STAFFED)
# The reply each outcome gets (the text key in messaging.texts).
REPLY_FOR: dict[str, str] = {
    "accepted": "confirmation",
    "waitlisted": "waitlist",
    "still_waitlisted": "waitlist",
    "declined": "acknowledgement",
    "withdrawn": "withdrawn",
    "already": "already",
    "closed": "closed",
}
REPLY_KIND: dict[str, str] = {
    "confirmation": MessageKind.CONFIRMATION,
    "waitlist": MessageKind.WAITLIST,
    "acknowledgement": MessageKind.ACKNOWLEDGEMENT,
    "withdrawn": MessageKind.ACKNOWLEDGEMENT,
    "already": MessageKind.HELP,
    "closed": MessageKind.HELP,
    "promoted": MessageKind.CONFIRMATION,
}


# Invitations an answer can still change (anything else is already answered or closed).
ANSWERABLE = (InvitationStatus.ASKED, InvitationStatus.WAITLISTED)


def lock_event_for_answers(event_id: int) -> Event:
    """The event row, locked until the transaction ends (the answer lock)."""
    return get_or_not_found(Event, pk=event_id, lock=True)


def answer_invitation(
    *, invitation_id: int, answer: Literal["yes", "no"], method: str, event_id: int | None = None
) -> tuple[Invitation, Outcome]:
    """Apply one answer. Runs inside the caller's transaction. A caller that has just read
    the invitation passes its `event_id` (checked again under the lock)."""
    if event_id is None:
        event_id = Invitation.objects.values_list("event_id", flat=True).get(pk=invitation_id)
    event = lock_event_for_answers(event_id)
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("employee")
        .get(pk=invitation_id, event_id=event_id)
    )
    invitation.event = event  # the locked row: the reply reads it, nothing fetches it again
    outcome = _decide(event, invitation, answer)
    now = timezone.now()
    answered = {"responded_at": now, "response_method": method}
    allowed = {"status", "responded_at", "response_method"}
    if outcome == "accepted":
        apply_changes(invitation, {"status": InvitationStatus.ACCEPTED, **answered}, allowed=allowed)
    elif outcome == "waitlisted":
        apply_changes(invitation, {"status": InvitationStatus.WAITLISTED, **answered}, allowed=allowed)
    elif outcome == "declined":
        apply_changes(invitation, {"status": InvitationStatus.DECLINED, **answered}, allowed=allowed)
    elif outcome == "withdrawn":
        withdraw_acceptance(invitation, event, answered)
    event_sync_staffing_status(event)
    return invitation, outcome


def withdraw_acceptance(invitation: Invitation, event: Event, extra: dict[str, object]) -> None:
    """An accepted employee drops out: the placement goes, the invitation is cancelled and
    the place goes to the waiting list first (docs/asking-and-replies.md). The caller holds the event lock."""
    Assignment.objects.filter(invitation=invitation).delete()
    apply_changes(invitation, {"status": InvitationStatus.CANCELLED, **extra}, allowed={"status", *extra})
    waitlist_move_up(event)


def _decide(event: Event, invitation: Invitation, answer: str) -> Outcome:
    if event.status not in OPEN_EVENT:
        return "closed"
    status = invitation.status
    if status == InvitationStatus.ACCEPTED:
        return "already" if answer == "yes" else "withdrawn"
    if status not in ANSWERABLE:
        return "closed"
    if answer == "no":
        return "declined"
    accepted = Invitation.objects.filter(event=event, status=InvitationStatus.ACCEPTED).count()
    if accepted < event.employees_needed:
        return "accepted"
    return "still_waitlisted" if status == InvitationStatus.WAITLISTED else "waitlisted"


def waitlist_move_up(event: Event) -> list[Invitation]:
    """Fill free places from the waiting list, first come first served, and tell each
    promoted employee. The caller holds the event lock."""
    accepted = Invitation.objects.filter(event=event, status=InvitationStatus.ACCEPTED).count()
    free = event.employees_needed - accepted
    promoted: list[Invitation] = []
    if free <= 0:
        return promoted
    waiting = (
        Invitation.objects.select_for_update()
        .filter(event=event, status=InvitationStatus.WAITLISTED)
        .select_related("employee")
        .order_by("responded_at", "id")[:free]
    )
    for invitation in waiting:
        apply_changes(invitation, {"status": InvitationStatus.ACCEPTED}, allowed={"status"})
        message_queue_about(
            invitation, event, text="promoted", kind=MessageKind.CONFIRMATION,
            intent_key=f"promoted:{invitation.pk}", template_key="confirmation",
        )  # fmt: skip
        promoted.append(invitation)
    event_sync_staffing_status(event)
    return promoted


def queue_answer_reply(*, invitation: Invitation, outcome: Outcome, intent_key: str) -> None:
    """Tell the employee what their answer did (one message per intent)."""
    key = REPLY_FOR[outcome]
    message_queue_about(
        invitation, invitation.event, text=key, kind=REPLY_KIND[key], intent_key=intent_key,
        template_key="confirmation" if key == "confirmation" else "",
    )  # fmt: skip
