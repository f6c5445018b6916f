"""`/users`: accounts and their roles (admins only)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.accounts import selectors, services
from crewcall.accounts.api.schemas import RoleName, UserIn, UserOut, UserPatch
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

router = Router(tags=["users"], auth=allow("admin"))

USER_SORTS = ("username", "created_at", "updated_at", "id")


def _detail(user_id: int) -> Any:
    user = selectors.user_detail(user_id=user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def _current(user_id: int) -> UserOut | None:
    user = selectors.user_detail(user_id=user_id)
    return None if user is None else UserOut.from_orm(user)


@router.get("/users", response=documented({200: Page[UserOut]}))
def user_list(
    request: HttpRequest,
    # PostgreSQL cannot compare text with a NUL byte: refused here, by name, not as a 500.
    q: str = Query(
        "",
        pattern=NO_NUL,
        max_length=100,
        description="Part of the username, email or name",
    ),
    role: RoleName | None = None,
    is_active: bool | None = None,
    sort: str = sort_query(USER_SORTS, "username"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=USER_SORTS)
    qs = selectors.user_filter(search=q, role=role, active=is_active)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post("/users", response=documented({201: UserOut}, ON_WRITE))
def user_create(request: HttpRequest, response: HttpResponse, payload: UserIn) -> Any:
    user = services.user_create(
        actor=actor(request),
        username=payload.username,
        role=payload.role,
        email=payload.email,
        password=payload.password,
        first_name=payload.first_name,
        last_name=payload.last_name,
    )
    return Status(201, one(response, _detail(user.pk), location=f"/api/v1/users/{user.pk}"))


@router.get("/users/{user_id}", response=documented({200: UserOut}, ON_OBJECT))
def user_get(request: HttpRequest, response: HttpResponse, user_id: int) -> Any:
    return one(response, _detail(user_id))


@router.patch(
    "/users/{user_id}",
    response=documented({200: UserOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    summary="Change a user's role, state or contact fields (not your own role or state)",
)
def user_update(request: HttpRequest, response: HttpResponse, user_id: int, payload: UserPatch) -> Any:
    sent = payload.model_dump(include=payload.model_fields_set)
    user = versioned_write(
        request,
        lambda version: services.user_update(
            actor=actor(request), user_id=user_id, expected_version=version, changes=sent
        ),
        lambda: _current(user_id),
    )
    return one(response, user)
