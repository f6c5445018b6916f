"""Invitations of an event, asking (preview and for real), manual status changes, nudges."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    after_query,
    keyset_page,
    parse_sort,
    sort_query,
)
from crewcall.core.api.problems import ON_OBJECT, ON_VERSIONED_WRITE, ON_WRITE, documented
from crewcall.core.api.responses import one
from crewcall.core.api.versions import versioned_write
from crewcall.core.errors import NotFound
from crewcall.events.api.events import require_event
from crewcall.events.models import Event
from crewcall.staffing import asking, selectors, services
from crewcall.staffing.api.schemas import (
    AskIn,
    AskOut,
    AskPreviewOut,
    InvitationOut,
    InvitationStatusIn,
    InvitationStatusName,
    NudgeOut,
)
from crewcall.staffing.models import Invitation

router = Router(tags=["invitations"])

INVITATION_SORTS = ("asked_at", "responded_at", "id")


def _detail(invitation_id: int) -> Invitation:
    invitation = selectors.invitation_detail(invitation_id=invitation_id)
    if invitation is None:
        raise NotFound(f"Invitation {invitation_id} does not exist.")
    return invitation


def _current(invitation_id: int) -> InvitationOut | None:
    invitation = selectors.invitation_detail(invitation_id=invitation_id)
    return None if invitation is None else InvitationOut.from_orm(invitation)


@router.get("/events/{event_id}/invitations", response=documented({200: Page[InvitationOut]}, ON_OBJECT))
def invitation_list(
    request: HttpRequest,
    event_id: int,
    status: InvitationStatusName | None = None,
    sort: str = sort_query(INVITATION_SORTS, "asked_at"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=INVITATION_SORTS)
    require_event(event_id, templates_too=True)
    qs = selectors.invitations_for_event(event_id=event_id, status=status)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.get("/invitations/{invitation_id}", response=documented({200: InvitationOut}, ON_OBJECT))
def invitation_get(request: HttpRequest, response: HttpResponse, invitation_id: int) -> Any:
    return one(response, _detail(invitation_id))


@router.get(
    "/events/{event_id}/ask-preview",
    response=documented({200: AskPreviewOut}, ON_OBJECT),
    summary="Who would be asked now, and why (asks nobody)",
)
def invitation_ask_preview(
    request: HttpRequest,
    event_id: int,
    count: int | None = Query(None, ge=1, le=500, description="How many to ask; default as for asking"),
) -> Any:
    preview = selectors.ask_preview(event_id=event_id, count=count)
    picks = [
        {"rank": p.rank, "employee_id": p.employee_id, "employee_name": p.employee_name,
         "role": p.role_key, "reason": p.reason}
        for p in preview.picks
    ]  # fmt: skip
    return {"event_id": preview.event_id, "next_wave": preview.next_wave, "picks": picks}


@router.post(
    "/events/{event_id}/ask",
    response=documented({200: AskOut, 201: AskOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
    summary="Ask the next wave of people",
    description=(
        "The picker chooses (see ask-preview), invitations and their WhatsApp messages are "
        "written together. 201 when people were asked; 200 when nobody new was: the wave named "
        "had been asked before (answered again, unchanged), or nobody eligible is left. "
        "The body may be omitted: the default number, the next wave."
    ),
)
def invitation_ask(request: HttpRequest, event_id: int, payload: AskIn | None = None) -> Any:
    sent = payload or AskIn()
    try:
        result = asking.event_ask(actor=actor(request), event_id=event_id, wave=sent.wave, count=sent.count)
    except Event.DoesNotExist:  # the service looks the event up with a plain get()
        raise NotFound(f"Event {event_id} does not exist.") from None
    # The service's rows have no role loaded: read them back with it (one query).
    ids = [i.pk for i in result.invitations]
    invitations = list(
        Invitation.objects.filter(pk__in=ids)
        .select_related("employee", "employee__primary_role")
        .order_by("asked_at", "id")
    )
    body = {"event_id": result.event_id, "wave": result.wave, "created": result.created,
            "invitations": invitations}  # fmt: skip
    return Status(201 if result.created and invitations else 200, body)


@router.post(
    "/invitations/{invitation_id}/status",
    response=documented({200: InvitationOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    summary="Change an invitation's status by hand (response method: manual)",
)
def invitation_set_status(
    request: HttpRequest, response: HttpResponse, invitation_id: int, payload: InvitationStatusIn
) -> Any:
    versioned_write(
        request,
        lambda version: services.invitation_set_status(
            actor=actor(request),
            invitation_id=invitation_id,
            expected_version=version,
            status=payload.status,
            method="manual",
            note=payload.note,
        ),
        lambda: _current(invitation_id),
    )
    return one(response, _detail(invitation_id))


@router.post(
    "/events/{event_id}/nudge",
    response=documented({200: NudgeOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
    summary="Remind everyone who has not answered yet (once a day each)",
)
def invitation_nudge(request: HttpRequest, event_id: int) -> Any:
    try:
        nudged = asking.event_nudge(actor=actor(request), event_id=event_id)
    except Event.DoesNotExist:
        raise NotFound(f"Event {event_id} does not exist.") from None
    return {"event_id": event_id, "nudged": nudged}
