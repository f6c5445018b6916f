"""Applying received WhatsApp replies (the job messaging defers, by name, for each message
it stores): who wrote, which invitation they answer, what the answer does, and the reply
it gets, in one transaction per message; a sender's messages are applied in the order
they arrived. messaging keeps and parses the message; the outcome is written back through
its `inbound_record_outcome`."""

from __future__ import annotations

import logging

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
from crewcall.messaging.replies import parse_reply
from crewcall.messaging.texts import render_for
from crewcall.people.models import Employee
from crewcall.staffing.answers import OPEN_EVENT, answer_invitation, queue_answer_reply
from crewcall.staffing.models import OPEN_INVITATION_STATUSES, Invitation, ResponseMethod

logger = logging.getLogger(__name__)


def _open_invitations(employee: Employee) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            employee=employee,
            status__in=OPEN_INVITATION_STATUSES,
            event__status__in=OPEN_EVENT,
            event__event_date__gte=timezone.localdate(),
        )
        .select_related("event")
        .order_by("event__event_date", "event__start_time", "id")
    )


def _which_invitation(
    employee: Employee, *, payload_id: int | None, replied_to_sid: str
) -> tuple[Invitation | None, list[Invitation]]:
    """The invitation a reply answers: the button's, the quoted message's, or the only open
    one. Returns (invitation, the open ones when it is ambiguous)."""
    if payload_id is not None:
        found = Invitation.objects.filter(pk=payload_id, employee=employee).first()
        if found is not None:
            return found, []
    if replied_to_sid:
        quoted = OutboundMessage.objects.filter(provider_sid=replied_to_sid, employee=employee).first()
        if quoted is not None and quoted.invitation_id is not None:
            return Invitation.objects.get(pk=quoted.invitation_id), []
    open_ones = _open_invitations(employee)
    if len(open_ones) == 1:
        return open_ones[0], []
    return None, open_ones


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
        invitation, open_ones = _which_invitation(
            employee, payload_id=parsed.invitation_id, replied_to_sid=inbound.replied_to_sid
        )
        if parsed.answer is None:
            outcome, invitation_id = InboundOutcome.UNPARSEABLE, invitation.pk if invitation else None
            _reply(employee, "help", MessageKind.HELP, inbound)
        elif invitation is None and open_ones:
            events = ", ".join(f"{i.event.title} {i.event.event_date:%d.%m.}" for i in open_ones)
            outcome, detail = InboundOutcome.AMBIGUOUS, f"Open: {events}"
            _reply(employee, "clarify", MessageKind.CLARIFY, inbound, events=events)
        elif invitation is None:
            outcome = InboundOutcome.NO_OPEN_INVITATION
            _reply(employee, "help", MessageKind.HELP, inbound)
        else:
            invitation, result = answer_invitation(
                invitation_id=invitation.pk, answer=parsed.answer, method=ResponseMethod.WHATSAPP,
                event_id=invitation.event_id,
            )  # fmt: skip
            outcome, invitation_id, detail = InboundOutcome.APPLIED, invitation.pk, result
            queue_answer_reply(invitation=invitation, outcome=result, intent_key=f"reply:{inbound.pk}")
    inbound_record_outcome(
        inbound=inbound, employee=employee, outcome=outcome, invitation_id=invitation_id, detail=detail
    )
    return InboundResult(message_id=inbound.pk, duplicate=False, outcome=inbound.outcome)
