"""`/roles` and `/skills`: the catalogue work areas and employees refer to by key.

Both have the same shape; an entry still in use cannot be deleted (409), archive it
(`is_active: false`) instead.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.core.api.auth import actor, allow
from crewcall.core.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page, parse_sort
from crewcall.core.api.problems import ON_OBJECT, ON_VERSIONED_WRITE, ON_WRITE, documented
from crewcall.core.api.responses import one
from crewcall.core.api.versions import versioned_write
from crewcall.core.errors import NotFound
from crewcall.people import selectors, services
from crewcall.people.api.catalogue_schemas import RoleIn, RoleOut, RolePatch, SkillIn, SkillOut, SkillPatch
from crewcall.people.models import Role, Skill

router = Router(tags=["catalogue"])

SORTS = ("name", "key", "id")
SORT_HELP = "name, key or id; - for descending"
SEARCH_HELP = "Part of the key or name"


def _page(
    model: type[Role] | type[Skill], q: str, is_active: bool | None, sort: str, limit: int, after: str | None
) -> dict[str, Any]:
    order = parse_sort(sort, allowed=SORTS, default="name")
    qs = selectors.catalogue_filter(model, search=q, active=is_active)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


def _role(role_id: int) -> Role:
    role = Role.objects.filter(pk=role_id).first()
    if role is None:
        raise NotFound(f"Role {role_id} does not exist.")
    return role


def _role_current(role_id: int) -> RoleOut | None:
    role = Role.objects.filter(pk=role_id).first()
    return None if role is None else RoleOut.from_orm(role)


def _skill(skill_id: int) -> Skill:
    skill = Skill.objects.filter(pk=skill_id).first()
    if skill is None:
        raise NotFound(f"Skill {skill_id} does not exist.")
    return skill


def _skill_current(skill_id: int) -> SkillOut | None:
    skill = Skill.objects.filter(pk=skill_id).first()
    return None if skill is None else SkillOut.from_orm(skill)


@router.get("/roles", response=documented({200: Page[RoleOut]}))
def role_list(
    request: HttpRequest,
    q: str = Query("", max_length=100, description=SEARCH_HELP),
    is_active: bool | None = None,
    sort: str = Query("name", max_length=40, description=SORT_HELP),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = Query(None, max_length=500, description="`next` of the previous page"),
) -> Any:
    return _page(Role, q, is_active, sort, limit, after)


@router.post("/roles", response=documented({201: RoleOut}, ON_WRITE), auth=allow("dispatcher"))
def role_create(request: HttpRequest, response: HttpResponse, payload: RoleIn) -> Any:
    role = services.role_create(actor=actor(request), key=payload.key, name=payload.name)
    return Status(201, one(response, role, location=f"/api/v1/roles/{role.pk}"))


@router.get("/roles/{role_id}", response=documented({200: RoleOut}, ON_OBJECT))
def role_get(request: HttpRequest, response: HttpResponse, role_id: int) -> Any:
    return one(response, _role(role_id))


@router.patch(
    "/roles/{role_id}",
    response=documented({200: RoleOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def role_update(request: HttpRequest, response: HttpResponse, role_id: int, payload: RolePatch) -> Any:
    sent = payload.model_dump(include=payload.model_fields_set)
    role = versioned_write(
        request,
        lambda version: services.role_update(
            actor=actor(request), role_id=role_id, expected_version=version, changes=sent
        ),
        lambda: _role_current(role_id),
    )
    return one(response, role)


@router.delete(
    "/roles/{role_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def role_delete(request: HttpRequest, role_id: int) -> Any:
    versioned_write(
        request,
        lambda version: services.role_delete(actor=actor(request), role_id=role_id, expected_version=version),
        lambda: _role_current(role_id),
    )
    return Status(204, None)


@router.get("/skills", response=documented({200: Page[SkillOut]}))
def skill_list(
    request: HttpRequest,
    q: str = Query("", max_length=100, description=SEARCH_HELP),
    is_active: bool | None = None,
    sort: str = Query("name", max_length=40, description=SORT_HELP),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = Query(None, max_length=500, description="`next` of the previous page"),
) -> Any:
    return _page(Skill, q, is_active, sort, limit, after)


@router.post("/skills", response=documented({201: SkillOut}, ON_WRITE), auth=allow("dispatcher"))
def skill_create(request: HttpRequest, response: HttpResponse, payload: SkillIn) -> Any:
    skill = services.skill_create(actor=actor(request), key=payload.key, name=payload.name)
    return Status(201, one(response, skill, location=f"/api/v1/skills/{skill.pk}"))


@router.get("/skills/{skill_id}", response=documented({200: SkillOut}, ON_OBJECT))
def skill_get(request: HttpRequest, response: HttpResponse, skill_id: int) -> Any:
    return one(response, _skill(skill_id))


@router.patch(
    "/skills/{skill_id}",
    response=documented({200: SkillOut}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def skill_update(request: HttpRequest, response: HttpResponse, skill_id: int, payload: SkillPatch) -> Any:
    sent = payload.model_dump(include=payload.model_fields_set)
    skill = versioned_write(
        request,
        lambda version: services.skill_update(
            actor=actor(request), skill_id=skill_id, expected_version=version, changes=sent
        ),
        lambda: _skill_current(skill_id),
    )
    return one(response, skill)


@router.delete(
    "/skills/{skill_id}",
    response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
    auth=allow("dispatcher"),
)
def skill_delete(request: HttpRequest, skill_id: int) -> Any:
    versioned_write(
        request,
        lambda version: services.skill_delete(
            actor=actor(request), skill_id=skill_id, expected_version=version
        ),
        lambda: _skill_current(skill_id),
    )
    return Status(204, None)
