"""`/events/{event_id}/assignments` and `/assignments/{assignment_id}`: who works where.

Capacity and role requirements are held by the database under a lock on the work area,
so concurrent placements never overfill one (a refusal is a 409 naming the field).
"""

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
from crewcall.people.selectors import role_by_key
from crewcall.staffing import placement, selectors
from crewcall.staffing.api.schemas import AssignmentIn, AssignmentOut, AssignmentPatch

router = Router(tags=["assignments"])

ASSIGNMENT_SORTS = ("id", "created_at")
# The operationIds these calls had before they moved here from crewcall.events.api
# (clients generated from the schema name their methods after them).
OPERATION_ID = "crewcall_events_api_assignments_{}".format


def _detail(assignment_id: int) -> Any:
    assignment = selectors.assignment_detail(assignment_id=assignment_id)
    if assignment is None:
        raise NotFound(f"Assignment {assignment_id} does not exist.")
    return assignment


def _current(assignment_id: int) -> AssignmentOut | None:
    assignment = selectors.assignment_detail(assignment_id=assignment_id)
    return None if assignment is None else AssignmentOut.from_orm(assignment)


@router.get(
    "/events/{event_id}/assignments",
    response=documented({200: Page[AssignmentOut]}, ON_OBJECT),
    operation_id=OPERATION_ID("assignment_list"),
)
def assignment_list(
    request: HttpRequest,
    event_id: int,
    work_area_id: int | None = Query(
        None, ge=1, le=2**63 - 1, description="Only those placed in this work area"
    ),
    sort: str = sort_query(ASSIGNMENT_SORTS, "id"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    require_event(event_id, templates_too=True)
    order = parse_sort(sort, allowed=ASSIGNMENT_SORTS)
    qs = selectors.assignment_filter(event_id=event_id, work_area_id=work_area_id)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post(
    "/events/{event_id}/assignments",
    response=documented({201: AssignmentOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
    operation_id=OPERATION_ID("assignment_create"),
)
def assignment_create(
    request: HttpRequest, response: HttpResponse, event_id: int, payload: AssignmentIn
) -> Any:
    """Place someone who accepted (named by invitation_id or employee_id) in a work area, in a role."""
    require_event(event_id)
    assignment = placement.assignment_create(
        actor=actor(request),
        event_id=event_id,
        invitation_id=payload.invitation_id,
        employee_id=payload.employee_id,
        work_area_id=payload.work_area_id,
        role_id=role_by_key(payload.role, field="role").pk,
    )
    return Status(201, one(response, _detail(assignment.pk), location=f"/api/v1/assignments/{assignment.pk}"))


@router.get(
    "/assignments/{assignment_id}",
    response=documented({200: AssignmentOut}, ON_OBJECT),
    operation_id=OPERATION_ID("assignment_get"),
)
def assignment_get(request: HttpRequest, response: HttpResponse, assignment_id: int) -> Any:
    return one(response, _detail(assignment_id))


@router.patch(
    "/assignments/{assignment_id}",
    response=documented({200: AssignmentOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    operation_id=OPERATION_ID("assignment_move"),
)
def assignment_move(
    request: HttpRequest, response: HttpResponse, assignment_id: int, payload: AssignmentPatch
) -> Any:
    """Move a placement to another work area of the same event and/or another role."""
    sent = payload.model_fields_set
    role_id = role_by_key(payload.role, field="role").pk if "role" in sent else None
    versioned_write(
        request,
        lambda version: placement.assignment_move(
            actor=actor(request),
            assignment_id=assignment_id,
            expected_version=version,
            work_area_id=payload.work_area_id if "work_area_id" in sent else None,
            role_id=role_id,
        ),
        lambda: _current(assignment_id),
    )
    return one(response, _detail(assignment_id))


@router.delete(
    "/assignments/{assignment_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    operation_id=OPERATION_ID("assignment_delete"),
)
def assignment_delete(request: HttpRequest, assignment_id: int) -> Any:
    """Take someone out of their work area (their acceptance stays)."""
    versioned_write(
        request,
        lambda version: placement.assignment_delete(
            actor=actor(request), assignment_id=assignment_id, expected_version=version
        ),
        lambda: _current(assignment_id),
    )
    return Status(204, None)
