"""`/employment-type-limits`: monthly caps per employment type (at most one row per type).

A type without a row has no caps and is not listed. PUT creates the row (201, no
If-Match: there is no version to name yet) or replaces its caps (200, If-Match required).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.headers import IF_MATCH
from crewcall.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    after_query,
    keyset_page,
    parse_sort,
    sort_query,
)
from crewcall.core.api.problems import ON_OBJECT, ON_VERSIONED_WRITE, ApiProblem, documented
from crewcall.core.api.responses import one
from crewcall.core.api.versions import if_match, versioned_write
from crewcall.core.errors import NotFound
from crewcall.people import selectors, services
from crewcall.people.api.catalogue_schemas import EmploymentTypeLimitIn, EmploymentTypeLimitOut
from crewcall.people.api.schemas import EmploymentTypeName
from crewcall.people.models import EmploymentTypeLimit

router = Router(tags=["employment type limits"])


def _location(employment_type: str) -> str:
    return f"/api/v1/employment-type-limits/{employment_type}"


def _current(employment_type: str) -> EmploymentTypeLimitOut | None:
    limit = selectors.employment_type_limit(employment_type=employment_type)
    return None if limit is None else EmploymentTypeLimitOut.from_orm(limit)


@router.get("/employment-type-limits", response=documented({200: Page[EmploymentTypeLimitOut]}))
def employment_type_limit_list(
    request: HttpRequest,
    sort: str = sort_query(("employment_type", "id"), "employment_type"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=("employment_type", "id"))
    items, cursor = keyset_page(EmploymentTypeLimit.objects.all(), sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.get(
    "/employment-type-limits/{employment_type}",
    response=documented({200: EmploymentTypeLimitOut}, ON_OBJECT),
)
def employment_type_limit_get(
    request: HttpRequest, response: HttpResponse, employment_type: EmploymentTypeName
) -> Any:
    limit = selectors.employment_type_limit(employment_type=employment_type)
    if limit is None:
        raise NotFound(f"No limits are set for {employment_type}.")
    return one(response, limit)


@router.put(
    "/employment-type-limits/{employment_type}",
    response=documented({200: EmploymentTypeLimitOut, 201: EmploymentTypeLimitOut}, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
    summary="Set the monthly caps of an employment type (null: no cap)",
    openapi_extra={
        "parameters": [
            {
                **IF_MATCH,
                "required": False,
                "description": "Required once the caps exist (the ETag you read); absent to create them.",
            }
        ]
    },
)
def employment_type_limit_set(
    request: HttpRequest,
    response: HttpResponse,
    employment_type: EmploymentTypeName,
    payload: EmploymentTypeLimitIn,
) -> Any:
    def write(version: int | None) -> EmploymentTypeLimit:
        return services.employment_type_limit_set(
            actor=actor(request),
            employment_type=employment_type,
            monthly_hours_cap=payload.monthly_hours_cap,
            monthly_earnings_cap=payload.monthly_earnings_cap,
            expected_version=version,
        )

    if selectors.employment_type_limit(employment_type=employment_type) is not None:
        return one(response, versioned_write(request, write, lambda: _current(employment_type)))
    if "If-Match" in request.headers:
        if_match(request)  # a malformed one is refused as such (428)
        # A condition on a version that does not exist cannot hold (RFC 9110 §13.1.1).
        raise ApiProblem(
            412,
            "version_conflict",
            f"No limits exist for {employment_type} yet: send no If-Match to create them.",
        )
    return Status(201, one(response, write(None), location=_location(employment_type)))
