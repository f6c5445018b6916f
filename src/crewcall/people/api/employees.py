"""`/employees` and their absences."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.inputs import NO_NUL, IsoDate, Key
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
from crewcall.core.api.versions import versioned_write, with_etag
from crewcall.core.errors import NotFound
from crewcall.people import selectors, services
from crewcall.people.api.schemas import (
    AbsenceIn,
    AbsenceOut,
    AbsencePatch,
    EmployeeDetailOut,
    EmployeeIn,
    EmployeeLinkOut,
    EmployeeOut,
    EmployeePatch,
    EmploymentTypeName,
)
from crewcall.people.links import employee_link
from crewcall.people.models import Absence

router = Router(tags=["employees"])

EMPLOYEE_SORTS = ("name", "created_at", "updated_at", "id")
LAST_DAY = Query(None, description="The last day the link opens the page (YYYY-MM-DD); none: until replaced")


def _detail(employee_id: int) -> Any:
    employee = selectors.employee_detail(employee_id=employee_id)
    if employee is None:
        raise NotFound(f"Employee {employee_id} does not exist.")
    return employee


def _current(employee_id: int) -> EmployeeDetailOut | None:
    employee = selectors.employee_detail(employee_id=employee_id)
    return None if employee is None else EmployeeDetailOut.model_validate(employee)


@router.get("/employees", response=documented({200: Page[EmployeeOut]}))
def employee_list(
    request: HttpRequest,
    q: str = Query("", pattern=NO_NUL, max_length=100, description="Part of the name or phone number"),
    role: Key | None = None,
    skill: Key | None = None,
    employment_type: EmploymentTypeName | None = None,
    is_active: bool | None = None,
    sort: str = sort_query(EMPLOYEE_SORTS, "name"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=EMPLOYEE_SORTS)
    qs = selectors.employee_filter(
        search=q, role_key=role, skill_key=skill, employment_type=employment_type, active=is_active
    )
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post(
    "/employees",
    response=documented({201: EmployeeDetailOut}, ON_WRITE),
    auth=allow("dispatcher"),
)
def employee_create(request: HttpRequest, response: HttpResponse, payload: EmployeeIn) -> Any:
    employee = services.employee_create(
        actor=actor(request),
        name=payload.name,
        phone_number=payload.phone_number,
        primary_role=selectors.role_by_key(payload.primary_role, field="primary_role"),
        employment_type=payload.employment_type,
        skills=selectors.skills_by_key(payload.skills, field="skills"),
        is_always_needed=payload.is_always_needed,
        notes=payload.notes,
        preferred_language=payload.preferred_language,
    )
    return Status(201, one(response, _detail(employee.pk), location=f"/api/v1/employees/{employee.pk}"))


@router.get("/employees/{employee_id}", response=documented({200: EmployeeDetailOut}, ON_OBJECT))
def employee_get(request: HttpRequest, response: HttpResponse, employee_id: int) -> Any:
    return one(response, _detail(employee_id))


@router.patch(
    "/employees/{employee_id}",
    response=documented({200: EmployeeDetailOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def employee_update(
    request: HttpRequest, response: HttpResponse, employee_id: int, payload: EmployeePatch
) -> Any:
    sent = payload.model_dump(include=payload.model_fields_set)
    skills = selectors.skills_by_key(sent.pop("skills"), field="skills") if "skills" in sent else None
    if "primary_role" in sent:
        sent["primary_role"] = selectors.role_by_key(sent["primary_role"], field="primary_role")
    if "user_id" in sent:
        sent["user"] = sent.pop("user_id")
    versioned_write(
        request,
        lambda version: services.employee_update(
            actor=actor(request),
            employee_id=employee_id,
            expected_version=version,
            changes=sent,
            skills=skills,
        ),
        lambda: _current(employee_id),
    )
    return one(response, _detail(employee_id))


def _lifecycle(name: str, summary: str) -> None:
    write = getattr(services, f"employee_{name}")

    @router.post(
        f"/employees/{{employee_id}}/{name}",
        response=documented({200: EmployeeDetailOut}, ON_OBJECT, ON_VERSIONED_WRITE),
        auth=allow("dispatcher"),
        summary=summary,
        operation_id=f"employee_{name}",
    )
    def handler(request: HttpRequest, response: HttpResponse, employee_id: int) -> Any:
        versioned_write(
            request,
            lambda version: write(actor=actor(request), employee_id=employee_id, expected_version=version),
            lambda: _current(employee_id),
        )
        return one(response, _detail(employee_id))


_lifecycle("archive", "Archive an employee (never asked again; history kept)")
_lifecycle("restore", "Bring an archived employee back")
_lifecycle("anonymise", "Erase an employee's personal data (GDPR); statistics stay")


@router.get(
    "/employees/{employee_id}/link",
    response=documented({200: EmployeeLinkOut}, ON_OBJECT),
    auth=allow("dispatcher"),
    summary="The employee's personal link (whoever holds it can answer for them)",
)
def employee_link_get(
    request: HttpRequest,
    employee_id: int,
    last_day: IsoDate | None = LAST_DAY,
) -> Any:
    return employee_link(employee_id=employee_id, last_day=last_day)


@router.post(
    "/employees/{employee_id}/link/rotate",
    response=documented({200: EmployeeLinkOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    summary="Replace the personal link: every earlier link of the employee stops working",
)
def employee_link_rotate(request: HttpRequest, response: HttpResponse, employee_id: int) -> Any:
    employee = versioned_write(
        request,
        lambda version: services.employee_link_rotate(
            actor=actor(request), employee_id=employee_id, expected_version=version
        ),
        lambda: _current(employee_id),
    )
    with_etag(response, employee.version)
    return employee_link(employee_id=employee_id)


@router.get("/employees/{employee_id}/absences", response=documented({200: Page[AbsenceOut]}, ON_OBJECT))
def absence_list(
    request: HttpRequest,
    employee_id: int,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    _detail(employee_id)
    order = parse_sort("starts_on", allowed=("starts_on",))
    items, cursor = keyset_page(
        Absence.objects.filter(employee_id=employee_id), sort=order, after=after, limit=limit
    )
    return {"items": items, "next": cursor}


@router.post(
    "/employees/{employee_id}/absences",
    response=documented({201: AbsenceOut}, ON_OBJECT, ON_WRITE),
    auth=allow("dispatcher"),
)
def absence_create(request: HttpRequest, response: HttpResponse, employee_id: int, payload: AbsenceIn) -> Any:
    absence = services.absence_create(
        actor=actor(request),
        employee_id=employee_id,
        kind=payload.kind,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        note=payload.note,
    )
    return Status(201, one(response, absence, location=f"/api/v1/absences/{absence.pk}"))


def _absence(absence_id: int) -> Absence:
    absence = Absence.objects.filter(pk=absence_id).first()
    if absence is None:
        raise NotFound(f"Absence {absence_id} does not exist.")
    return absence


def _absence_current(absence_id: int) -> AbsenceOut | None:
    absence = Absence.objects.filter(pk=absence_id).first()
    return None if absence is None else AbsenceOut.from_orm(absence)


@router.get("/absences/{absence_id}", response=documented({200: AbsenceOut}, ON_OBJECT))
def absence_get(request: HttpRequest, response: HttpResponse, absence_id: int) -> Any:
    return one(response, _absence(absence_id))


@router.patch(
    "/absences/{absence_id}",
    response=documented({200: AbsenceOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def absence_update(
    request: HttpRequest, response: HttpResponse, absence_id: int, payload: AbsencePatch
) -> Any:
    sent = payload.model_dump(include=payload.model_fields_set)
    absence = versioned_write(
        request,
        lambda version: services.absence_update(
            actor=actor(request), absence_id=absence_id, expected_version=version, changes=sent
        ),
        lambda: _absence_current(absence_id),
    )
    return one(response, absence)


@router.delete(
    "/absences/{absence_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def absence_delete(request: HttpRequest, absence_id: int) -> Any:
    versioned_write(
        request,
        lambda version: services.absence_delete(
            actor=actor(request), absence_id=absence_id, expected_version=version
        ),
        lambda: _absence_current(absence_id),
    )
    return Status(204, None)
