"""Reads for outbound and inbound messages, each with a fixed number of queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from django.db.models import Q, QuerySet, Subquery

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.people.models import Employee


def outbound_filter(
    *,
    employee_id: int | None = None,
    event_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> QuerySet[OutboundMessage]:
    """Outbound messages for an API list: the employee's name loaded (one query)."""
    qs = OutboundMessage.objects.select_related("employee").defer("employee__notes")
    if employee_id is not None:
        qs = qs.filter(employee_id=employee_id)
    if event_id is not None:
        qs = qs.filter(event_id=event_id)
    if kind is not None:
        qs = qs.filter(kind=kind)
    if status is not None:
        qs = qs.filter(status=status)
    return qs


def outbound_detail(*, message_id: int) -> OutboundMessage | None:
    return OutboundMessage.objects.select_related("employee").filter(pk=message_id).first()


def inbound_filter(
    *, outcome: str | None = None, employee_id: int | None = None, from_number: str | None = None
) -> QuerySet[InboundMessage]:
    """Inbound messages for an API list, without the raw provider payload (one query)."""
    qs = InboundMessage.objects.select_related("employee").defer("raw", "employee__notes")
    if outcome is not None:
        qs = qs.filter(outcome=outcome)
    if employee_id is not None:
        qs = qs.filter(employee_id=employee_id)
    if from_number:
        qs = qs.filter(from_number=from_number)
    return qs


def inbound_detail(*, inbound_id: int) -> InboundMessage | None:
    return InboundMessage.objects.select_related("employee").filter(pk=inbound_id).first()


@dataclass(frozen=True)
class TimelineEntry:
    """One message of an employee's WhatsApp conversation, either way.

    `status` is the delivery status of a sent message ("queued" … "read", "failed") or the
    outcome of a received one ("pending", "applied", "unparseable", …); `status_label` is
    its display text. `event_id`/`event_title` are the event the message is about: the
    outbound message's event, or the event of the invitation a reply was applied to."""

    at: datetime.datetime
    direction: Literal["out", "in"]
    text: str
    kind: str  # a MessageKind value for "out", "reply" for "in"
    status: str
    status_label: str
    event_id: int | None
    event_title: str
    message_id: int
    detail: str = ""  # the send error of a sent message, the outcome detail of a reply

    @property
    def outgoing(self) -> bool:
        return self.direction == "out"


def conversation_timeline(
    *, employee_id: int, event_id: int | None = None, limit: int | None = None
) -> list[TimelineEntry]:
    """The messages sent to and received from one employee, oldest first (two queries).

    With `event_id`, only those about that event: sent ones carrying the event, received
    ones applied to one of the employee's invitations for it. With `limit`, only the
    latest `limit` of each direction are read, and the latest `limit` of the merge kept."""
    sent_qs = (
        OutboundMessage.objects.filter(employee_id=employee_id)
        .select_related("event")
        .only(
            "id", "created_at", "body", "kind", "status", "error_code", "error_message",
            "event_id", "event__id", "event__title",
        )
    )  # fmt: skip
    # Not yet applied, a received message knows only its sender's number.
    number = Employee.objects.filter(pk=employee_id).values("phone_number")[:1]
    unapplied = Q(employee__isnull=True, from_number=Subquery(number))
    received_qs = (
        InboundMessage.objects.filter(Q(employee_id=employee_id) | unapplied)
        .select_related("invitation__event")
        .only(
            "id", "received_at", "body", "button_payload", "outcome", "outcome_detail",
            "invitation_id", "invitation__id", "invitation__event_id",
            "invitation__event__id", "invitation__event__title",
        )
    )  # fmt: skip
    if event_id is not None:
        sent_qs = sent_qs.filter(event_id=event_id)
        received_qs = received_qs.filter(invitation__event_id=event_id)
    if limit is not None:
        sent_qs = sent_qs.order_by("-created_at", "-id")[:limit]
        received_qs = received_qs.order_by("-received_at", "-id")[:limit]
    entries = [
        TimelineEntry(
            at=m.created_at,
            direction="out",
            text=m.body,
            kind=m.kind,
            status=m.status,
            status_label=m.get_status_display(),
            event_id=m.event_id,
            event_title=m.event.title if m.event is not None else "",
            message_id=m.pk,
            detail=" ".join(part for part in (m.error_code, m.error_message) if part),
        )
        for m in sent_qs
    ]
    for r in received_qs:
        event = r.invitation.event if r.invitation is not None else None
        entries.append(
            TimelineEntry(
                at=r.received_at,
                direction="in",
                text=r.body or r.button_payload,
                kind="reply",
                status=r.outcome,
                status_label=r.get_outcome_display(),
                event_id=event.pk if event is not None else None,
                event_title=event.title if event is not None else "",
                message_id=r.pk,
                detail=r.outcome_detail,
            )
        )
    # A reply never comes before what it answers at the same instant: "out" first on ties.
    entries.sort(key=lambda e: (e.at, e.direction == "in", e.message_id))
    if limit is not None:
        entries = entries[-limit:]
    return entries
