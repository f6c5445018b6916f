"""`/tokens`: API tokens for scripts and integrators (admins only).

The secret is in the answer to POST /tokens and nowhere else, ever. A token is never
edited, only revoked (idempotently), so it carries no version and needs no If-Match.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from crewcall.accounts import selectors, services
from crewcall.accounts.api.schemas import TokenCreatedOut, TokenIn, TokenOut
from crewcall.core.api.auth import actor, allow
from crewcall.core.api.inputs import Id
from crewcall.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    after_query,
    keyset_page,
    parse_sort,
    sort_query,
)
from crewcall.core.api.problems import ON_OBJECT, ON_WRITE, documented
from crewcall.core.errors import NotFound

router = Router(tags=["tokens"], auth=allow("admin"))

TOKEN_SORTS = ("created_at", "last_used_at", "name", "id")


def _detail(token_id: int) -> Any:
    token = selectors.token_detail(token_id=token_id)
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.")
    return token


@router.get("/tokens", response=documented({200: Page[TokenOut]}))
def token_list(
    request: HttpRequest,
    user_id: Id | None = None,
    revoked: bool | None = None,
    sort: str = sort_query(TOKEN_SORTS, "-created_at"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    order = parse_sort(sort, allowed=TOKEN_SORTS)
    qs = selectors.token_filter(user_id=user_id, revoked=revoked)
    items, cursor = keyset_page(qs, sort=order, after=after, limit=limit)
    return {"items": items, "next": cursor}


@router.post(
    "/tokens",
    response=documented({201: TokenCreatedOut}, ON_WRITE),
    summary="Make a token for a user; the answer holds the secret, shown once",
)
def token_create(request: HttpRequest, response: HttpResponse, payload: TokenIn) -> Any:
    made = services.token_create(actor=actor(request), user_id=payload.user_id, name=payload.name)
    token = _detail(made.token.pk)
    response["Location"] = f"/api/v1/tokens/{token.pk}"
    # A secret must not linger in any cache between here and the caller.
    response["Cache-Control"] = "no-store"
    setattr(token, "token", made.secret)  # noqa: B010 (for the answer only; never stored)
    return Status(201, token)


@router.get("/tokens/{token_id}", response=documented({200: TokenOut}, ON_OBJECT))
def token_get(request: HttpRequest, token_id: int) -> Any:
    return _detail(token_id)


@router.post(
    "/tokens/{token_id}/revoke",
    response=documented({200: TokenOut}, ON_OBJECT, ON_WRITE),
    summary="Revoke a token for good (revoking it again changes nothing)",
)
def token_revoke(request: HttpRequest, token_id: int) -> Any:
    services.token_revoke(actor=actor(request), token_id=token_id)
    return _detail(token_id)
