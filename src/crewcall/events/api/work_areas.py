"""`/events/{event_id}/work-areas` and `/work-areas/{work_area_id}` (events and templates alike)."""

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
from crewcall.events import selectors, services
from crewcall.events.api.events import require_event
from crewcall.events.api.schemas import WorkAreaIn, WorkAreaOut, WorkAreaPatch
from crewcall.people.selectors import skills_by_key

router = Router(tags=["work areas"])

WORK_AREA_SORTS = ("position_order", "name", "created_at", "id")


def _detail(work_area_id: int) -> Any:
    area = selectors.work_area_detail(work_area_id=work_area_id)
    if area is None:
        raise NotFound(f"Work area {work_area_id} does not exist.")
    return area


def _current(work_area_id: int) -> WorkAreaOut | None:
    area = selectors.work_area_detail(work_area_id=work_area_id)
    return None if area is None else WorkAreaOut.from_orm(area)


@router.get("/events/{event_id}/work-areas", response=documented({200: Page[WorkAreaOut]}, ON_OBJECT))
def work_area_list(
    request: HttpRequest,
    event_id: int,
    is_active: bool | None = None,
    sort: str = sort_query(WORK_AREA_SORTS, "position_order"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    """The work areas of an event or template, each with how many are placed there now."""
    require_event(event_id, templates_too=True)
    order = parse_sort(sort, allowed=WORK_AREA_SORTS)
    qs = selectors.work_area_filter(event_id=event_id)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post(
    "/events/{event_id}/work-areas",
    response=documented({201: WorkAreaOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
)
def work_area_create(request: HttpRequest, response: HttpResponse, event_id: int, payload: WorkAreaIn) -> Any:
    fields = payload.model_dump()
    skills = skills_by_key(fields.pop("required_skills"), field="required_skills")
    area = services.work_area_create(
        actor=actor(request), event_id=event_id, required_skills=skills, **fields
    )
    return Status(201, one(response, _detail(area.pk), location=f"/api/v1/work-areas/{area.pk}"))


@router.get("/work-areas/{work_area_id}", response=documented({200: WorkAreaOut}, ON_OBJECT))
def work_area_get(request: HttpRequest, response: HttpResponse, work_area_id: int) -> Any:
    return one(response, _detail(work_area_id))


@router.patch(
    "/work-areas/{work_area_id}",
    response=documented({200: WorkAreaOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def work_area_update(
    request: HttpRequest, response: HttpResponse, work_area_id: int, payload: WorkAreaPatch
) -> Any:
    changes = payload.model_dump(include=payload.model_fields_set)
    skills = (
        skills_by_key(changes.pop("required_skills"), field="required_skills")
        if "required_skills" in changes
        else None
    )
    versioned_write(
        request,
        lambda version: services.work_area_update(
            actor=actor(request),
            work_area_id=work_area_id,
            expected_version=version,
            changes=changes,
            required_skills=skills,
        ),
        lambda: _current(work_area_id),
    )
    return one(response, _detail(work_area_id))


@router.delete(
    "/work-areas/{work_area_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def work_area_delete(request: HttpRequest, work_area_id: int) -> Any:
    """Delete a work area nobody is placed in."""
    versioned_write(
        request,
        lambda version: services.work_area_delete(
            actor=actor(request), work_area_id=work_area_id, expected_version=version
        ),
        lambda: _current(work_area_id),
    )
    return Status(204, None)
