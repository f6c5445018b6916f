"""Receiving WhatsApp messages and delivery statuses (the webhooks' services).

Inbound messages take two steps. `inbound_receive`, called by the webhook, only keeps the
raw message (once: the provider id is unique) and defers the apply job with it, in one
short transaction, so the webhook answers fast whatever else is going on. `inbound_apply`
(the job, through `inbound_apply_next`) works out who wrote and which invitation they
answer, applies the answer and queues the reply, in one transaction per message; a
sender's messages are applied in the order they arrived. `outbound_status_record` moves
a sent message's delivery status forward, never back, whatever order the callbacks
arrive in.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager

from crewcall.accounts.models import User
from crewcall.core.transactions import service
from crewcall.messaging.models import (
    DELIVERY_RANK,
    DELIVERY_TRANSITIONS,
    InboundMessage,
    InboundOutcome,
    OutboundMessage,
)
from crewcall.messaging.outbox import message_queue
from crewcall.messaging.replies import parse_reply
from crewcall.messaging.texts import render_for
from crewcall.people.models import Employee
from crewcall.staffing.answers import answer_invitation, queue_answer_reply
from crewcall.staffing.models import Invitation

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class InboundResult:
    message_id: int
    duplicate: bool
    outcome: str


def whatsapp_number(raw: str) -> str:
    return raw.removeprefix("whatsapp:").strip()


def _store_once(*, provider_sid: str, from_number: str, body: str, button_payload: str,
                replied_to_sid: str, raw: dict[str, Any]) -> tuple[InboundMessage, bool]:  # fmt: skip
    """Insert unless this provider id was seen; a concurrent duplicate waits on the unique
    index and then finds the first row."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO messaging_inboundmessage (provider_sid, from_number, body, button_payload,"
            " replied_to_sid, raw, outcome, outcome_detail)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb, 'pending', '')"
            " ON CONFLICT (provider_sid) DO NOTHING RETURNING id",
            [provider_sid, from_number, body, button_payload, replied_to_sid, json.dumps(raw)],
        )
        row = cur.fetchone()
    if row is None:
        return InboundMessage.objects.get(provider_sid=provider_sid), False
    return InboundMessage.objects.get(pk=row[0]), True


def _open_invitations(employee: Employee) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            employee=employee,
            status__in=["asked", "waitlisted", "accepted"],
            event__status__in=["recruiting", "staffed"],
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


def defer_apply() -> bool:
    """Defer the apply job in the caller's transaction; False if one is already waiting
    (it will find this message too: it takes every pending one when it runs)."""
    from crewcall.messaging.tasks import apply_inbound  # tasks imports this module

    job = apply_inbound.configure(queueing_lock="messaging.apply_inbound").make_new_job()
    try:
        with transaction.atomic():  # a savepoint: a refused duplicate keeps the caller's transaction
            JobManager(DjangoConnector()).defer_job(job)
    except AlreadyEnqueued:
        return False
    return True


@service
def inbound_receive(
    *,
    actor: User | None = None,
    provider_sid: str,
    from_number: str,
    body: str,
    button_payload: str = "",
    replied_to_sid: str = "",
    raw: dict[str, Any],
) -> InboundResult:
    """Keep the message (once per provider id) and defer its application."""
    inbound, created = _store_once(
        provider_sid=provider_sid, from_number=whatsapp_number(from_number), body=body,
        button_payload=button_payload, replied_to_sid=replied_to_sid, raw=raw,
    )  # fmt: skip
    if created:
        defer_apply()
    return InboundResult(message_id=inbound.pk, duplicate=not created, outcome=inbound.outcome)


# The next message to apply: the oldest pending one whose sender has no earlier message
# still pending (one being applied elsewhere is still pending to us), skipping rows
# another applier holds. So appliers run side by side, each sender's messages in order.
_NEXT_PENDING = """
SELECT m.* FROM messaging_inboundmessage m
 WHERE m.outcome = 'pending'
   AND NOT EXISTS (SELECT 1 FROM messaging_inboundmessage e
                    WHERE e.outcome = 'pending' AND e.from_number = m.from_number AND e.id < m.id)
 ORDER BY m.id
 LIMIT 1
 FOR UPDATE OF m SKIP LOCKED
"""


@service
def inbound_apply_next(*, actor: User | None = None) -> InboundResult | None:
    """Apply the next pending inbound message; None when nothing is ready.

    A message that cannot be applied for a reason of its own (anything but the database
    being busy, which rolls back and leaves it pending for the next run) is set aside as
    `failed` with the error, for a dispatcher to read, so it never blocks its sender."""
    found = list(InboundMessage.objects.raw(_NEXT_PENDING))
    if not found:
        return None
    inbound = found[0]
    try:
        with transaction.atomic():  # a savepoint: a failed apply leaves nothing behind
            return _apply(inbound)
    except OperationalError:
        raise  # lock timeout, deadlock, serialization: transient, handled by @service
    except Exception as exc:
        logger.exception("inbound message %s could not be applied", inbound.pk)
        InboundMessage.objects.filter(pk=inbound.pk).update(
            outcome=InboundOutcome.FAILED, outcome_detail=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return InboundResult(message_id=inbound.pk, duplicate=False, outcome=InboundOutcome.FAILED)


@service
def inbound_apply(*, actor: User | None = None, message_id: int) -> InboundResult:
    """Apply one inbound message (a no-op when it is applied already)."""
    inbound = InboundMessage.objects.select_for_update().get(pk=message_id)
    return _apply(inbound)


def _apply(inbound: InboundMessage) -> InboundResult:
    """Runs inside the caller's transaction, with the inbound row locked."""
    if inbound.outcome != InboundOutcome.PENDING:
        return InboundResult(message_id=inbound.pk, duplicate=True, outcome=inbound.outcome)
    number = inbound.from_number
    body, button_payload, replied_to_sid = inbound.body, inbound.button_payload, inbound.replied_to_sid
    employee = Employee.objects.filter(phone_number=number, is_active=True).first()
    changes: dict[str, Any] = {"employee": employee}
    if employee is None:
        changes.update(outcome="unknown_sender", outcome_detail="No active employee has this number.")
    else:
        parsed = parse_reply(body=body, button_payload=button_payload)
        invitation, open_ones = _which_invitation(
            employee, payload_id=parsed.invitation_id, replied_to_sid=replied_to_sid
        )
        if parsed.answer is None:
            changes.update(outcome="unparseable", invitation=invitation)
            _reply(employee, "help", "help", inbound)
        elif invitation is None and open_ones:
            events = ", ".join(f"{i.event.title} {i.event.event_date:%d.%m.}" for i in open_ones)
            changes.update(outcome="ambiguous", outcome_detail=f"Open: {events}")
            _reply(employee, "clarify", "clarify", inbound, events=events)
        elif invitation is None:
            changes.update(outcome="no_open_invitation")
            _reply(employee, "help", "help", inbound)
        else:
            invitation, result = answer_invitation(
                invitation_id=invitation.pk, answer=parsed.answer, method="whatsapp",
                event_id=invitation.event_id,
            )  # fmt: skip
            changes.update(outcome="applied", invitation=invitation, outcome_detail=result)
            queue_answer_reply(invitation=invitation, outcome=result, intent_key=f"reply:{inbound.pk}")
    for name, value in changes.items():
        setattr(inbound, name, value)
    inbound.save(update_fields=list(changes))
    return InboundResult(message_id=inbound.pk, duplicate=False, outcome=inbound.outcome)


STATUS_TIMES = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at",
                "undelivered": "failed_at"}  # fmt: skip


@service
def outbound_status_record(
    *,
    actor: User | None = None,
    provider_sid: str,
    status: str,
    error_code: str = "",
    error_message: str = "",
    message_id: int | None = None,
) -> bool:
    """Apply a delivery status callback; True if it moved the message forward.

    A callback may arrive before the worker has stored the provider id (the worker can die
    between the provider's answer and its own commit): `message_id` from the callback URL
    then ties the two together.
    """
    message = OutboundMessage.objects.select_for_update().filter(provider_sid=provider_sid).first()
    if message is None and message_id is not None:
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(pk=message_id, provider_sid__isnull=True)
            .first()
        )
    if message is None or status not in DELIVERY_RANK:
        return False
    current = message.status
    if status not in DELIVERY_TRANSITIONS[current] or DELIVERY_RANK[status] <= DELIVERY_RANK[current]:
        return False  # late or repeated: the message is already as far or further
    fields: dict[str, Any] = {"status": status}
    if message.provider_sid is None:
        fields["provider_sid"] = provider_sid
    stamp = STATUS_TIMES.get(status)
    if stamp and getattr(message, stamp) is None:
        fields[stamp] = timezone.now()
    if status in ("delivered", "read") and message.sent_at is None:
        fields["sent_at"] = timezone.now()
    if status in ("failed", "undelivered"):
        fields.update(error_code=error_code[:40], error_message=error_message)
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=list(fields))
    return True
