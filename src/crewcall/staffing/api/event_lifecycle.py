"""`/events/{event_id}/transition` and `/events/{event_id}/cancel`: the event lifecycle,
which expires, cancels and notifies the event's invitations and removes its placements."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.problems import ON_OBJECT, ON_VERSIONED_WRITE, documented
from crewcall.core.api.responses import one
from crewcall.core.api.versions import versioned_write
from crewcall.events.api.events import event_current, event_detail, require_event
from crewcall.events.api.schemas import EventDetailOut, TransitionIn
from crewcall.staffing import event_lifecycle

router = Router(tags=["events"])
# The operationIds these calls had before they moved here from crewcall.events.api
# (clients generated from the schema name their methods after them).
OPERATION_ID = "crewcall_events_api_events_{}".format


@router.post(
    "/events/{event_id}/transition",
    response=documented({200: EventDetailOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    operation_id=OPERATION_ID("event_transition"),
)
def event_transition(
    request: HttpRequest, response: HttpResponse, event_id: int, payload: TransitionIn
) -> Any:
    """Move the event along draft → recruiting → staffed → completed (cancel has its own call)."""
    require_event(event_id)
    versioned_write(
        request,
        lambda version: event_lifecycle.event_transition(
            actor=actor(request), event_id=event_id, expected_version=version, to_status=payload.to_status
        ),
        lambda: event_current(event_id),
    )
    return one(response, event_detail(event_id))


@router.post(
    "/events/{event_id}/cancel",
    response=documented({200: EventDetailOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    operation_id=OPERATION_ID("event_cancel"),
)
def event_cancel(request: HttpRequest, response: HttpResponse, event_id: int) -> Any:
    """Cancel: placements removed, everyone asked or booked is told; history kept."""
    require_event(event_id)
    versioned_write(
        request,
        lambda version: event_lifecycle.event_cancel(
            actor=actor(request), event_id=event_id, expected_version=version
        ),
        lambda: event_current(event_id),
    )
    return one(response, event_detail(event_id))
