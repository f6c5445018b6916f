"""The work log: the hours each employee actually worked at an event, and their approval."""

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
from crewcall.staffing import selectors, services
from crewcall.staffing.api.schemas import WorkLogIn, WorkLogOut, WorkLogPatch
from crewcall.staffing.models import WorkLog

router = Router(tags=["work log"])

WORK_LOG_SORTS = ("started_at", "created_at", "id")


def _detail(work_log_id: int) -> WorkLog:
    log = selectors.work_log_detail(work_log_id=work_log_id)
    if log is None:
        raise NotFound(f"Work log entry {work_log_id} does not exist.")
    return log


def _current(work_log_id: int) -> WorkLogOut | None:
    log = selectors.work_log_detail(work_log_id=work_log_id)
    return None if log is None else WorkLogOut.from_orm(log)


@router.get("/events/{event_id}/work-log", response=documented({200: Page[WorkLogOut]}, ON_OBJECT))
def work_log_list(
    request: HttpRequest,
    event_id: int,
    employee_id: int | None = Query(None, ge=1, le=2**63 - 1),
    approved: bool | None = None,
    sort: str = sort_query(WORK_LOG_SORTS, "started_at"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=WORK_LOG_SORTS)
    require_event(event_id, templates_too=True)
    qs = selectors.work_log_filter(event_id=event_id, employee_id=employee_id, approved=approved)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post(
    "/events/{event_id}/work-log",
    response=documented({201: WorkLogOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
)
def work_log_create(request: HttpRequest, response: HttpResponse, event_id: int, payload: WorkLogIn) -> Any:
    log = services.work_log_create(
        actor=actor(request),
        event_id=event_id,
        employee_id=payload.employee_id,
        started_at=payload.started_at,
        ended_at=payload.ended_at,
        break_minutes=payload.break_minutes,
        note=payload.note,
    )
    return Status(201, one(response, _detail(log.pk), location=f"/api/v1/work-log/{log.pk}"))


@router.get("/work-log/{work_log_id}", response=documented({200: WorkLogOut}, ON_OBJECT))
def work_log_get(request: HttpRequest, response: HttpResponse, work_log_id: int) -> Any:
    return one(response, _detail(work_log_id))


@router.patch(
    "/work-log/{work_log_id}",
    response=documented({200: WorkLogOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    summary="Change an entry; approved hours are locked until reopened (the note stays open)",
)
def work_log_update(
    request: HttpRequest, response: HttpResponse, work_log_id: int, payload: WorkLogPatch
) -> Any:
    sent = payload.model_dump(include=payload.model_fields_set)
    versioned_write(
        request,
        lambda version: services.work_log_change(
            actor=actor(request), work_log_id=work_log_id, expected_version=version, changes=sent
        ),
        lambda: _current(work_log_id),
    )
    return one(response, _detail(work_log_id))


@router.post(
    "/work-log/{work_log_id}/approve",
    response=documented({200: WorkLogOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    summary="Approve the hours of an entry (as the caller)",
)
def work_log_approve(request: HttpRequest, response: HttpResponse, work_log_id: int) -> Any:
    versioned_write(
        request,
        lambda version: services.work_log_approve(
            actor=actor(request), work_log_id=work_log_id, expected_version=version
        ),
        lambda: _current(work_log_id),
    )
    return one(response, _detail(work_log_id))


@router.post(
    "/work-log/{work_log_id}/reopen",
    response=documented({200: WorkLogOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    summary="Withdraw the approval of an entry, so its hours can be corrected",
)
def work_log_reopen(request: HttpRequest, response: HttpResponse, work_log_id: int) -> Any:
    versioned_write(
        request,
        lambda version: services.work_log_reopen(
            actor=actor(request), work_log_id=work_log_id, expected_version=version
        ),
        lambda: _current(work_log_id),
    )
    return one(response, _detail(work_log_id))
