"""`/templates`: patterns events are made from (an event row with is_template set).

A template's work areas are managed at /events/{template_id}/work-areas, like an event's.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.inputs import NO_NUL
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
from crewcall.events import selectors, services
from crewcall.events.api.events import event_detail
from crewcall.events.api.schemas import EventDetailOut, FromTemplateIn, TemplateIn, TemplateOut, TemplatePatch
from crewcall.events.models import Event

router = Router(tags=["templates"])

TEMPLATE_SORTS = ("title", "created_at", "id")


def _template(template_id: int) -> Event:
    template = selectors.template_detail(template_id=template_id)
    if template is None:
        raise NotFound(f"Template {template_id} does not exist.")
    return template


def _current(template_id: int) -> TemplateOut | None:
    template = selectors.template_detail(template_id=template_id)
    return None if template is None else TemplateOut.from_orm(template)


@router.get("/templates", response=documented({200: Page[TemplateOut]}))
def template_list(
    request: HttpRequest,
    q: str = Query("", max_length=100, pattern=NO_NUL, description="Part of the title or location"),
    include_archived: bool = Query(False, description="Archived templates too"),
    sort: str = sort_query(TEMPLATE_SORTS, "title"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=TEMPLATE_SORTS)
    qs = selectors.event_filter(is_template=True, search=q, include_archived=include_archived)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post("/templates", response=documented({201: TemplateOut}, ON_WRITE), auth=allow("dispatcher"))
def template_create(request: HttpRequest, response: HttpResponse, payload: TemplateIn) -> Any:
    template = services.event_create(actor=actor(request), is_template=True, **payload.model_dump())
    return Status(201, one(response, _template(template.pk), location=f"/api/v1/templates/{template.pk}"))


@router.get("/templates/{template_id}", response=documented({200: TemplateOut}, ON_OBJECT))
def template_get(request: HttpRequest, response: HttpResponse, template_id: int) -> Any:
    return one(response, _template(template_id))


@router.patch(
    "/templates/{template_id}",
    response=documented({200: TemplateOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def template_update(
    request: HttpRequest, response: HttpResponse, template_id: int, payload: TemplatePatch
) -> Any:
    _template(template_id)
    changes = payload.model_dump(include=payload.model_fields_set)
    template = versioned_write(
        request,
        lambda version: services.event_update(
            actor=actor(request), event_id=template_id, expected_version=version, changes=changes
        ),
        lambda: _current(template_id),
    )
    return one(response, template)


@router.post(
    "/templates/{template_id}/archive",
    response=documented({200: TemplateOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def template_archive(request: HttpRequest, response: HttpResponse, template_id: int) -> Any:
    """Archive: no new events from it; the events made from it keep their link."""
    _template(template_id)
    template = versioned_write(
        request,
        lambda version: services.template_archive(
            actor=actor(request), event_id=template_id, expected_version=version
        ),
        lambda: _current(template_id),
    )
    return one(response, template)


@router.delete(
    "/templates/{template_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def template_delete(request: HttpRequest, template_id: int) -> Any:
    """Delete a template no event was made from (otherwise archive it)."""
    _template(template_id)
    versioned_write(
        request,
        lambda version: services.event_delete_draft(
            actor=actor(request), event_id=template_id, expected_version=version
        ),
        lambda: _current(template_id),
    )
    return Status(204, None)


@router.post(
    "/templates/{template_id}/events",
    response=documented({201: EventDetailOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
)
def template_make_event(
    request: HttpRequest, response: HttpResponse, template_id: int, payload: FromTemplateIn
) -> Any:
    """New from template: a draft event on the given day with the template's fields and
    work areas (with their required skills)."""
    _template(template_id)
    event = services.event_create_from_template(
        actor=actor(request), template_id=template_id, event_date=payload.event_date, title=payload.title
    )
    return Status(201, one(response, event_detail(event.pk), location=f"/api/v1/events/{event.pk}"))
