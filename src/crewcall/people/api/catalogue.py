"""`/roles` and `/skills`: the catalogue work areas and employees refer to by key.

Both have the same shape; an entry still in use cannot be deleted (409), archive it
(`is_active: false`) instead. The two are made by one factory, `_catalogue`; its handlers'
annotations are the schema classes passed in, so this module evaluates annotations
eagerly (no `from __future__ import annotations`).
"""

import inspect
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
from crewcall.people import selectors, services
from crewcall.people.api.catalogue_schemas import (
    CatalogueEntryIn,
    CatalogueEntryOut,
    CatalogueEntryPatch,
    RoleIn,
    RoleOut,
    RolePatch,
    SkillIn,
    SkillOut,
    SkillPatch,
)
from crewcall.people.models import Role, Skill

router = Router(tags=["catalogue"])

SORTS = ("name", "key", "id")
SORT_HELP = "name, key or id; - for descending"
SEARCH_HELP = "Part of the key or name"


def _page(
    model: type[Role] | type[Skill], q: str, is_active: bool | None, sort: str, limit: int, after: str | None
) -> dict[str, Any]:
    order = parse_sort(sort, allowed=SORTS)
    qs = selectors.catalogue_filter(model, search=q, active=is_active)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


def _path_id(name: str) -> Any:
    """Shows ninja a handler's `**path` as one int path parameter called `name`."""

    def declare(handler: Any) -> Any:
        signature = inspect.signature(handler)
        id_param = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=int)
        kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        handler.__signature__ = signature.replace(parameters=[*kept, id_param])
        return handler

    return declare


def _catalogue(
    model: type[Role] | type[Skill],
    plural: str,
    out: type[CatalogueEntryOut],
    entry_in: type[CatalogueEntryIn],
    entry_patch: type[CatalogueEntryPatch],
) -> None:
    """The five operations of one catalogue (`/roles` or `/skills`), named after it."""
    singular = model._meta.model_name
    label = str(model._meta.verbose_name).capitalize()
    id_name = f"{singular}_id"
    create, update, delete = (
        getattr(services, f"{singular}_{verb}") for verb in ("create", "update", "delete")
    )

    def entry(pk: int) -> Any:
        found = model._default_manager.filter(pk=pk).first()
        if found is None:
            raise NotFound(f"{label} {pk} does not exist.")
        return found

    def current(pk: int) -> CatalogueEntryOut | None:
        found = model._default_manager.filter(pk=pk).first()
        return None if found is None else out.from_orm(found)

    @router.get(f"/{plural}", response=documented({200: Page[out]}), operation_id=f"{singular}_list")  # type: ignore[valid-type]
    def listing(
        request: HttpRequest,
        q: str = Query("", pattern=NO_NUL, max_length=100, description=SEARCH_HELP),
        is_active: bool | None = None,
        sort: str = sort_query(SORTS, "name"),
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
        after: str | None = after_query(),
    ) -> Any:
        return _page(model, q, is_active, sort, limit, after)

    @router.post(
        f"/{plural}",
        response=documented({201: out}, ON_WRITE),
        auth=allow("dispatcher"),
        operation_id=f"{singular}_create",
    )
    def creating(request: HttpRequest, response: HttpResponse, payload: entry_in) -> Any:  # type: ignore[valid-type]
        sent: CatalogueEntryIn = payload
        made = create(actor=actor(request), key=sent.key, name=sent.name)
        return Status(201, one(response, made, location=f"/api/v1/{plural}/{made.pk}"))

    @router.get(
        f"/{plural}/{{{id_name}}}", response=documented({200: out}, ON_OBJECT), operation_id=f"{singular}_get"
    )
    @_path_id(id_name)
    def getting(request: HttpRequest, response: HttpResponse, **path: int) -> Any:
        return one(response, entry(path[id_name]))

    @router.patch(
        f"/{plural}/{{{id_name}}}",
        response=documented({200: out}, ON_OBJECT, ON_VERSIONED_WRITE),
        auth=allow("dispatcher"),
        operation_id=f"{singular}_update",
    )
    @_path_id(id_name)
    def updating(request: HttpRequest, response: HttpResponse, payload: entry_patch, **path: int) -> Any:  # type: ignore[valid-type]
        pk = path[id_name]
        patch: CatalogueEntryPatch = payload
        sent = patch.model_dump(include=patch.model_fields_set)
        changed = versioned_write(
            request,
            lambda version: update(
                actor=actor(request), expected_version=version, changes=sent, **{id_name: pk}
            ),
            lambda: current(pk),
        )
        return one(response, changed)

    @router.delete(
        f"/{plural}/{{{id_name}}}",
        response=documented({204: None}, ON_OBJECT, ON_VERSIONED_WRITE),
        auth=allow("dispatcher"),
        operation_id=f"{singular}_delete",
    )
    @_path_id(id_name)
    def deleting(request: HttpRequest, **path: int) -> Any:
        pk = path[id_name]
        versioned_write(
            request,
            lambda version: delete(actor=actor(request), expected_version=version, **{id_name: pk}),
            lambda: current(pk),
        )
        return Status(204, None)


_catalogue(Role, "roles", RoleOut, RoleIn, RolePatch)
_catalogue(Skill, "skills", SkillOut, SkillIn, SkillPatch)
