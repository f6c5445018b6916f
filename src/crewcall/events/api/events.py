"""`/events`: events and their weekly copies (transition and cancel: staffing.api.event_lifecycle)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.inputs import NO_NUL, IsoDate
from crewcall.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    after_query,
    keyset_page,
    parse_sort,
    sort_query,
)
from crewcall.core.api.problems import ON_OBJECT, ON_VERSIONED_WRITE, ON_WRITE, ApiProblem, documented
from crewcall.core.api.responses import one
from crewcall.core.api.versions import versioned_write
from crewcall.core.errors import NotFound
from crewcall.events import selectors, services
from crewcall.events.api.schemas import (
    EventDetailOut,
    EventIn,
    EventOut,
    EventPatch,
    EventStatusName,
    WeeklyCopiesIn,
)

router = Router(tags=["events"])

EVENT_SORTS = ("event_date", "created_at", "title", "id")
# Query text goes into SQL: PostgreSQL refuses NUL bytes, so they are refused here first.
# Module-level so the query declarations with our date type stay plain values (B008).
DATE_FROM = Query(None, description="Events on or after this day (YYYY-MM-DD)")
DATE_TO = Query(None, description="Events on or before this day (YYYY-MM-DD)")


def event_detail(event_id: int) -> Any:
    event = selectors.event_detail(event_id=event_id)
    if event is None:
        raise NotFound(f"Event {event_id} does not exist.")
    return event


def event_current(event_id: int) -> EventDetailOut | None:
    event = selectors.event_detail(event_id=event_id)
    return None if event is None else EventDetailOut.from_orm(event)


def require_event(event_id: int, *, templates_too: bool = False) -> None:
    """Templates live under /templates: an id of one is not an event here, except for
    the lists templates share with events (work areas, say) when `templates_too`."""
    if not selectors.event_exists(event_id=event_id, is_template=None if templates_too else False):
        raise NotFound(f"Event {event_id} does not exist.")


@router.get("/events", response=documented({200: Page[EventOut]}))
def event_list(
    request: HttpRequest,
    status: EventStatusName | None = None,
    date_from: IsoDate | None = DATE_FROM,
    date_to: IsoDate | None = DATE_TO,
    q: str = Query("", max_length=100, pattern=NO_NUL, description="Part of the title or location"),
    sort: str = sort_query(EVENT_SORTS, "event_date"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    """Events, templates left out (they are listed at /templates)."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ApiProblem(
            422, "invalid_value", "The date range is empty.",
            errors={"date_to": ["Must be on or after date_from."]},
        )  # fmt: skip
    order = parse_sort(sort, allowed=EVENT_SORTS)
    qs = selectors.event_filter(status=status, date_from=date_from, date_to=date_to, search=q)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post("/events", response=documented({201: EventDetailOut}, ON_WRITE), auth=allow("dispatcher"))
def event_create(request: HttpRequest, response: HttpResponse, payload: EventIn) -> Any:
    """A new event, as a draft."""
    event = services.event_create(actor=actor(request), **payload.model_dump())
    return Status(201, one(response, event_detail(event.pk), location=f"/api/v1/events/{event.pk}"))


@router.get("/events/{event_id}", response=documented({200: EventDetailOut}, ON_OBJECT))
def event_get(request: HttpRequest, response: HttpResponse, event_id: int) -> Any:
    """One event with a summary of its work areas, placements and invitations."""
    return one(response, event_detail(event_id))


@router.patch(
    "/events/{event_id}",
    response=documented({200: EventDetailOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def event_update(request: HttpRequest, response: HttpResponse, event_id: int, payload: EventPatch) -> Any:
    require_event(event_id)
    changes = payload.model_dump(include=payload.model_fields_set)
    versioned_write(
        request,
        lambda version: services.event_update(
            actor=actor(request), event_id=event_id, expected_version=version, changes=changes
        ),
        lambda: event_current(event_id),
    )
    return one(response, event_detail(event_id))


@router.delete(
    "/events/{event_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def event_delete(request: HttpRequest, event_id: int) -> Any:
    """Delete a draft that has no history (no invitations); anything else is cancelled instead."""
    require_event(event_id)
    versioned_write(
        request,
        lambda version: services.event_delete_draft(
            actor=actor(request), event_id=event_id, expected_version=version
        ),
        lambda: event_current(event_id),
    )
    return Status(204, None)


@router.post(
    "/events/{event_id}/weekly-copies",
    response=documented({201: list[EventOut]}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
)
def event_copy_weekly(request: HttpRequest, event_id: int, payload: WeeklyCopiesIn) -> Any:
    """The next `count` weeks of this event (same weekday, +7, +14 … days) as drafts with
    its work areas, made together or not at all."""
    require_event(event_id)
    copies = services.event_copy_weekly(actor=actor(request), event_id=event_id, count=payload.count)
    return Status(201, copies)
