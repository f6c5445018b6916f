"""Messages over the API, read only: what was sent to employees (`/messages`) and what
they sent back (`/inbound-messages`). Writes happen through asking, answers and the
webhooks, never here."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from crewcall.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    after_query,
    keyset_page,
    parse_sort,
    sort_query,
)
from crewcall.core.api.problems import ON_OBJECT, documented
from crewcall.core.api.responses import one
from crewcall.core.errors import NotFound
from crewcall.messaging import selectors
from crewcall.messaging.models import InboundMessage, OutboundMessage

router = Router(tags=["messages"])

KindName = Literal[
    "invitation", "confirmation", "acknowledgement", "waitlist", "reminder", "cancellation", "nudge",
    "clarify", "help",
]  # fmt: skip
DeliveryStatusName = Literal["queued", "sending", "sent", "delivered", "read", "failed", "undelivered"]
OutcomeName = Literal[
    "pending", "applied", "ambiguous", "unparseable", "unknown_sender", "no_open_invitation", "failed"
]  # fmt: skip
MESSAGE_SORTS = ("created_at", "updated_at", "id")
INBOUND_SORTS = ("received_at", "id")
PHONE_PATTERN = r"^(whatsapp:)?\+?[0-9]{3,20}$"
ROW_ID = {"ge": 1, "le": 2**63 - 1}


class MessageOut(Schema):
    id: int
    version: int
    employee_id: int
    employee_name: str = Field(validation_alias="employee.name")
    event_id: int | None
    invitation_id: int | None
    kind: str
    intent_key: str = Field(description="What this message is for; one message per intent")
    to_number: str
    body: str
    template_key: str
    template_variables: dict[str, Any]
    provider: str
    status: str
    provider_sid: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    error_code: str
    error_message: str
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    read_at: dt.datetime | None
    failed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class InboundMessageOut(Schema):
    id: int
    version: int
    provider_sid: str
    from_number: str
    body: str
    button_payload: str
    replied_to_sid: str
    received_at: dt.datetime
    employee_id: int | None
    employee_name: str | None
    invitation_id: int | None
    outcome: str
    outcome_detail: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_employee_name(obj: InboundMessage) -> str | None:
        return obj.employee.name if obj.employee_id is not None else None  # type: ignore[union-attr]


class InboundMessageDetailOut(InboundMessageOut):
    raw: Any = Field(
        description="The provider's request as received; {} once older than the retention window "
        "(CREWCALL_INBOUND_RAW_KEEP_DAYS, 30 days by default)"
    )


def _message(message_id: int) -> OutboundMessage:
    message = selectors.outbound_detail(message_id=message_id)
    if message is None:
        raise NotFound(f"Message {message_id} does not exist.")
    return message


def _inbound(inbound_id: int) -> InboundMessage:
    message = selectors.inbound_detail(inbound_id=inbound_id)
    if message is None:
        raise NotFound(f"Inbound message {inbound_id} does not exist.")
    return message


@router.get("/messages", response=documented({200: Page[MessageOut]}), summary="Messages sent to employees")
def message_list(
    request: HttpRequest,
    employee_id: int | None = Query(None, **ROW_ID),
    event_id: int | None = Query(None, **ROW_ID),
    kind: KindName | None = None,
    status: DeliveryStatusName | None = None,
    sort: str = sort_query(MESSAGE_SORTS, "-created_at"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=MESSAGE_SORTS)
    qs = selectors.outbound_filter(employee_id=employee_id, event_id=event_id, kind=kind, status=status)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.get("/messages/{message_id}", response=documented({200: MessageOut}, ON_OBJECT))
def message_get(request: HttpRequest, response: HttpResponse, message_id: int) -> Any:
    return one(response, _message(message_id))


@router.get(
    "/inbound-messages",
    response=documented({200: Page[InboundMessageOut]}),
    summary="Messages employees sent, with what became of each",
)
def inbound_message_list(
    request: HttpRequest,
    outcome: OutcomeName | None = None,
    employee_id: int | None = Query(None, **ROW_ID),
    from_number: str | None = Query(
        None, max_length=40, pattern=PHONE_PATTERN, description="The sender's number, as +4915…"
    ),
    sort: str = sort_query(INBOUND_SORTS, "-received_at"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=INBOUND_SORTS)
    number = from_number.removeprefix("whatsapp:") if from_number else None
    qs = selectors.inbound_filter(outcome=outcome, employee_id=employee_id, from_number=number)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.get("/inbound-messages/{inbound_id}", response=documented({200: InboundMessageDetailOut}, ON_OBJECT))
def inbound_message_get(request: HttpRequest, response: HttpResponse, inbound_id: int) -> Any:
    return one(response, _inbound(inbound_id))
