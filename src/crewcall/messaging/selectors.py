"""Reads for outbound and inbound messages, each with a fixed number of queries."""

from __future__ import annotations

from django.db.models import QuerySet

from crewcall.messaging.models import InboundMessage, OutboundMessage


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
