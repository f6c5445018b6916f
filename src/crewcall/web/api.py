"""`/history/{kind}/{object_id}`: the audit trail of one object, change by change.

The reading is `crewcall.web.selectors.history_page` (the history page shows the same):
each entry is one insert, update or delete with the row after it, what changed since the
entry before, and who did it through which door. Keyset-paginated by entry id.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from crewcall.core.api.auth import actor
from crewcall.core.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, after_query, parse_sort, sort_query
from crewcall.core.api.problems import ON_OBJECT, ApiProblem, documented
from crewcall.web.selectors import KINDS, history_page

router = Router(tags=["history"])

if TYPE_CHECKING:
    KindName = str
else:
    # The names of KINDS, the one list the page reads too: the schema lists them, and any
    # other name answers 422 naming `kind`.
    KindName = Literal[tuple(KINDS)]


class FieldChangeOut(Schema):
    before: Any
    after: Any


class HistoryContextOut(Schema):
    user_id: int | None = Field(description="Who made the change (null: the system or raw SQL)")
    username: str | None
    source: str | None = Field(description="web, api, webhook, worker, cli, system or repair")
    request_id: str | None
    action: str | None = Field(description="The use case (service) that made the change")
    note: str | None = Field(description="A note the person gave with the change, if any")
    token_id: int | None = Field(description="The API token the change was made with, if any")


class HistoryEntryOut(Schema):
    id: int = Field(description="The entry's id (ascending in the order the changes were recorded)")
    label: str = Field(description="insert, update or delete")
    at: dt.datetime
    changes: dict[str, FieldChangeOut] | None = Field(
        description="Fields that differ from the entry before (null for the first entry)"
    )
    row: dict[str, Any] = Field(description="The object after the change (before it, for a delete)")
    context: HistoryContextOut


@router.get(
    "/history/{kind}/{object_id}",
    response=documented({200: Page[HistoryEntryOut]}, ON_OBJECT),
    summary="The audit history of one object",
    description=(
        "Every insert, update and delete of the object, oldest first (sort=-id: newest first). "
        "`kind` is one of the listed names (another answers 422 naming `kind`); `user` and "
        "`api-token` need the admin role. An object that never existed answers 404."
    ),
)
def history_list(
    request: HttpRequest,
    kind: KindName,
    object_id: int,
    sort: str = sort_query(("id",), "id"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = after_query(),
) -> Any:
    spec = KINDS[kind]
    if not actor(request).has_role(spec.role):
        raise ApiProblem(403, "forbidden", f"The history of a {kind} needs the {spec.role} role.")
    order = parse_sort(sort, allowed=("id",))
    items, cursor = history_page(spec, object_id, sort=order, after=after, limit=limit)
    if not items and not after:
        raise ApiProblem(404, "not_found", f"There is no history for {kind} {object_id}.")
    return {"items": items, "next": cursor}
