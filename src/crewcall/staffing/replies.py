"""Applying received WhatsApp replies (the job messaging defers, by name, for each message
it stores): who wrote, which invitation they answer, what the answer does, and the reply
it gets, in one transaction per message; a sender's messages are applied in the order
they arrived. messaging keeps and parses the message; the outcome is written back through
its `inbound_record_outcome`."""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.db import OperationalError, transaction
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.core.transactions import service
from crewcall.messaging.inbound import (
    InboundResult,
    inbound_lock,
    inbound_next_pending,
    inbound_record_outcome,
    inbound_set_aside,
)
from crewcall.messaging.models import InboundMessage, InboundOutcome, MessageKind, OutboundMessage
from crewcall.messaging.outbox import message_queue
from crewcall.messaging.replies import Answer, ParsedReply, fold, parse_reply
from crewcall.messaging.texts import preferred_language, render_for
from crewcall.people.models import Employee
from crewcall.staffing.answers import OPEN_EVENT, answer_invitation, queue_answer_reply
from crewcall.staffing.models import OPEN_INVITATION_STATUSES, Invitation, InvitationStatus, ResponseMethod

logger = logging.getLogger(__name__)
# How long a lone number still answers the "which one?" we asked.
CHOICE_WINDOW = dt.timedelta(days=2)


def _open_invitations(employee: Employee) -> list[Invitation]:
    """What a text answer can answer, soonest first: the requests still waiting for one
    (asked, waitlisted); only when there are none, the accepted shifts (a "no" withdraws)."""
    upcoming = (
        Invitation.objects.filter(
            employee=employee,
            status__in=OPEN_INVITATION_STATUSES,
            event__status__in=OPEN_EVENT,
            event__event_date__gte=timezone.localdate(),
        )
        .select_related("event")
        .order_by("event__event_date", "event__start_time", "id")
    )
    waiting = [i for i in upcoming if i.status != InvitationStatus.ACCEPTED]
    return waiting or [i for i in upcoming if i.status == InvitationStatus.ACCEPTED]


def _named(open_ones: list[Invitation], parsed: ParsedReply) -> list[Invitation]:
    """The open invitations a text names: by a date ("ja 30.12.") or by a word of the
    event's title ("Ja, Repro wedding"; words of four letters or more, accents ignored)."""
    if parsed.days:
        by_day = [
            i
            for i in open_ones
            if i.event.event_date and (i.event.event_date.day, i.event.event_date.month) in parsed.days
        ]
        if by_day:
            return by_day
    return [
        i for i in open_ones
        if {w for w in re.findall(r"\w+", fold(i.event.title)) if len(w) >= 4} & parsed.words
    ]  # fmt: skip


def _earlier_answer(employee: Employee, inbound: InboundMessage) -> Answer | None:
    """A lone number answers the list we sent: the yes or no of the employee's message
    we asked "which one?" about, if that was in the last two days."""
    asked = (
        InboundMessage.objects.filter(
            from_number=inbound.from_number,
            outcome=InboundOutcome.AMBIGUOUS,
            received_at__gte=timezone.now() - CHOICE_WINDOW,
            pk__lt=inbound.pk,
        )
        .order_by("-pk")
        .first()
    )
    if asked is None:
        return None
    return parse_reply(body=asked.body, button_payload=asked.button_payload).answer


def _which_invitation(
    employee: Employee, inbound: InboundMessage, parsed: ParsedReply
) -> tuple[Invitation | None, list[Invitation]]:
    """The invitation a reply answers: the button's, the quoted message's, the only open
    one, the one the text names, or the one picked by number from the list we sent.
    Returns (invitation, the open ones when it is ambiguous)."""
    if parsed.invitation_id is not None:
        found = Invitation.objects.filter(pk=parsed.invitation_id, employee=employee).first()
        if found is not None:
            return found, []
    if inbound.replied_to_sid:
        quoted = OutboundMessage.objects.filter(
            provider_sid=inbound.replied_to_sid, employee=employee
        ).first()
        if quoted is not None and quoted.invitation_id is not None:
            return Invitation.objects.get(pk=quoted.invitation_id), []
    open_ones = _open_invitations(employee)
    if len(open_ones) == 1:
        return open_ones[0], []
    named = _named(open_ones, parsed)
    if len(named) == 1:
        return named[0], []
    if parsed.number is not None and 1 <= parsed.number <= len(open_ones) and len(open_ones) > 1:
        return open_ones[parsed.number - 1], []
    return None, open_ones


def _choices(open_ones: list[Invitation], language: str) -> str:
    """ "1 = Gala am 30.12., 2 = …", the list a number answers (in `_open_invitations`' order)."""
    word = "am" if language == "de" else "on"
    return ", ".join(
        f"{n} = {i.event.title} {word} {i.event.event_date:%d.%m.}" for n, i in enumerate(open_ones, start=1)
    )


def _reply(employee: Employee, key: str, kind: str, inbound: InboundMessage, **extra: str) -> None:
    body, variables = render_for(key, employee=employee, **extra)
    message_queue(
        employee=employee,
        kind=kind,
        intent_key=f"reply:{inbound.pk}",
        body=body,
        template_variables=variables,
    )


@service
def inbound_apply_next(*, actor: User | None = None) -> InboundResult | None:
    """Apply the next pending inbound message; None when nothing is ready.

    A message that cannot be applied for a reason of its own (anything but the database
    being busy, which rolls back and leaves it pending for the next run) is set aside as
    `failed` with the error, for a dispatcher to read, so it never blocks its sender."""
    inbound = inbound_next_pending()
    if inbound is None:
        return None
    try:
        with transaction.atomic():  # a savepoint: a failed apply leaves nothing behind
            return _apply(inbound)
    except OperationalError:
        raise  # lock timeout, deadlock, serialization: transient, handled by @service
    except Exception as exc:
        logger.exception("inbound message %s could not be applied", inbound.pk)
        inbound_set_aside(message_id=inbound.pk, detail=f"{type(exc).__name__}: {exc}")
        return InboundResult(message_id=inbound.pk, duplicate=False, outcome=InboundOutcome.FAILED)


@service
def inbound_apply(*, actor: User | None = None, message_id: int) -> InboundResult:
    """Apply one inbound message (a no-op when it is applied already)."""
    return _apply(inbound_lock(message_id=message_id))


def _apply(inbound: InboundMessage) -> InboundResult:
    """Runs inside the caller's transaction, with the inbound row locked."""
    if inbound.outcome != InboundOutcome.PENDING:
        return InboundResult(message_id=inbound.pk, duplicate=True, outcome=inbound.outcome)
    employee = Employee.objects.filter(phone_number=inbound.from_number, is_active=True).first()
    invitation_id: int | None = None
    detail: str | None = None
    if employee is None:
        outcome, detail = InboundOutcome.UNKNOWN_SENDER, "No active employee has this number."
    else:
        parsed = parse_reply(body=inbound.body, button_payload=inbound.button_payload)
        invitation, open_ones = _which_invitation(employee, inbound, parsed)
        answer = parsed.answer
        if answer is None and parsed.number is not None and invitation is not None and not parsed.question:
            answer = _earlier_answer(employee, inbound)  # "2", after we asked which one
        if answer is None or (parsed.question and parsed.via != "button"):
            # Not an answer, or a question ("Kann ich erst um 19 Uhr kommen?"): a person
            # reads it (the dispatchers' inbox), the employee is told so or how to answer.
            outcome, invitation_id = InboundOutcome.UNPARSEABLE, invitation.pk if invitation else None
            _reply(employee, "forwarded" if parsed.question else "help", MessageKind.HELP, inbound)
        elif invitation is None and open_ones:
            events = _choices(open_ones, preferred_language(employee))
            outcome, detail = InboundOutcome.AMBIGUOUS, f"Open: {events}"
            _reply(employee, "clarify", MessageKind.CLARIFY, inbound, events=events)
        elif invitation is None:
            outcome = InboundOutcome.NO_OPEN_INVITATION
            _reply(employee, "help", MessageKind.HELP, inbound)
        else:
            invitation, result = answer_invitation(
                invitation_id=invitation.pk, answer=answer, method=ResponseMethod.WHATSAPP,
                event_id=invitation.event_id,
            )  # fmt: skip
            outcome, invitation_id, detail = InboundOutcome.APPLIED, invitation.pk, result
            queue_answer_reply(invitation=invitation, outcome=result, intent_key=f"reply:{inbound.pk}")
    inbound_record_outcome(
        inbound=inbound, employee=employee, outcome=outcome, invitation_id=invitation_id, detail=detail
    )
    return InboundResult(message_id=inbound.pk, duplicate=False, outcome=inbound.outcome)
