"""Receiving WhatsApp messages and delivery statuses (the webhooks' services).

Inbound messages take two steps. `inbound_receive`, called by the webhook, only keeps the
raw message (once: the provider id is unique) and defers the apply job with it, in one
short transaction, so the webhook answers fast whatever else is going on. Applying it
(which invitation it answers, and what that answer does) is staffing's business: the job
is deferred by its name, `APPLY_INBOUND_TASK`, and staffing registers it
(`crewcall.staffing.replies`); it takes the messages through `inbound_next_pending` and
writes the outcome through `inbound_record_outcome`. `outbound_status_record` moves a
sent message's delivery status forward, never back, whatever order the callbacks arrive in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager

from crewcall.accounts.models import User
from crewcall.core.transactions import service
from crewcall.messaging.models import (
    DELIVERY_RANK,
    DELIVERY_TRANSITIONS,
    DeliveryStatus,
    InboundMessage,
    InboundOutcome,
    OutboundMessage,
)
from crewcall.people.models import Employee

# The job that applies pending inbound messages: deferred here by name, registered by
# staffing (the app that knows what an answer does), so this app never imports it.
APPLY_INBOUND_TASK = "messaging.apply_inbound"
APPLY_INBOUND_QUEUE = "inbound"


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
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, '')"
            " ON CONFLICT (provider_sid) DO NOTHING RETURNING id",
            [provider_sid, from_number, body, button_payload, replied_to_sid, json.dumps(raw),
             InboundOutcome.PENDING.value],
        )  # fmt: skip
        row = cur.fetchone()
    if row is None:
        return InboundMessage.objects.get(provider_sid=provider_sid), False
    return InboundMessage.objects.get(pk=row[0]), True


def defer_apply() -> bool:
    """Defer the apply job in the caller's transaction; False if one is already waiting
    (it will find this message too: it takes every pending one when it runs)."""
    job = app.configure_task(
        APPLY_INBOUND_TASK, queue=APPLY_INBOUND_QUEUE, queueing_lock=APPLY_INBOUND_TASK
    ).make_new_job()
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
 WHERE m.outcome = %s
   AND NOT EXISTS (SELECT 1 FROM messaging_inboundmessage e
                    WHERE e.outcome = %s AND e.from_number = m.from_number AND e.id < m.id)
 ORDER BY m.id
 LIMIT 1
 FOR UPDATE OF m SKIP LOCKED
"""


def inbound_next_pending() -> InboundMessage | None:
    """The next pending message to apply, locked until the caller's transaction ends;
    None when nothing is ready."""
    pending = InboundOutcome.PENDING.value
    found = list(InboundMessage.objects.raw(_NEXT_PENDING, [pending, pending]))
    return found[0] if found else None


def inbound_lock(*, message_id: int) -> InboundMessage:
    """One inbound message, locked until the caller's transaction ends."""
    return InboundMessage.objects.select_for_update().get(pk=message_id)


def inbound_record_outcome(
    *,
    inbound: InboundMessage,
    outcome: InboundOutcome,
    employee: Employee | None,
    invitation_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Write what applying a message came to: its sender (None: nobody known), and the
    invitation and detail when given (in the caller's transaction, the row locked by it)."""
    changes: dict[str, Any] = {"employee": employee, "outcome": outcome}
    if invitation_id is not None:
        changes["invitation_id"] = invitation_id
    if detail is not None:
        changes["outcome_detail"] = detail
    for name, value in changes.items():
        setattr(inbound, name, value)
    inbound.save(update_fields=list(changes))


def inbound_set_aside(*, message_id: int, detail: str) -> None:
    """A message that could not be applied: `failed` with the error, for a dispatcher to
    read, so it never blocks its sender's later messages."""
    InboundMessage.objects.filter(pk=message_id).update(
        outcome=InboundOutcome.FAILED, outcome_detail=detail[:2000]
    )


STATUS_TIMES: dict[str, str] = {
    DeliveryStatus.SENT: "sent_at",
    DeliveryStatus.DELIVERED: "delivered_at",
    DeliveryStatus.READ: "read_at",
    DeliveryStatus.FAILED: "failed_at",
    DeliveryStatus.UNDELIVERED: "failed_at",
}


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
    if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ) and message.sent_at is None:
        fields["sent_at"] = timezone.now()
    if status in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
        fields.update(error_code=error_code[:40], error_message=error_message)
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=list(fields))
    return True
