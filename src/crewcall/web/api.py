"""`/history/{kind}/{object_id}`: the audit trail of one object, change by change.

Reads the pghistory tables the database triggers fill (DESIGN.md §5.4): each entry is one
insert, update or delete with the row after it, what changed since the entry before
(computed here from consecutive rows of the object), and who did it through which door.
Keyset-paginated by entry id; a page costs two queries (its rows and the row before
them) plus one for usernames the context lacks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from django.apps import apps
from django.db.models import Model, Q
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from crewcall.accounts.models import User
from crewcall.core.api.auth import actor
from crewcall.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    Sort,
    decode_cursor,
    encode_cursor,
    parse_sort,
)
from crewcall.core.api.problems import ON_OBJECT, ApiProblem, documented

router = Router(tags=["history"])


@dataclass(frozen=True)
class Kind:
    app_label: str
    model: str
    role: str = "viewer"
    hidden: frozenset[str] = frozenset()  # columns never shown, even to admins


KINDS: dict[str, Kind] = {
    "employee": Kind("people", "Employee"),
    "absence": Kind("people", "Absence"),
    "role": Kind("people", "Role"),
    "skill": Kind("people", "Skill"),
    "employment-type-limit": Kind("people", "EmploymentTypeLimit"),
    "event": Kind("events", "Event"),
    "work-area": Kind("events", "WorkArea"),
    "assignment": Kind("events", "Assignment"),
    "invitation": Kind("staffing", "Invitation"),
    "work-log": Kind("staffing", "WorkLog"),
    "message": Kind("messaging", "OutboundMessage"),
    "inbound-message": Kind("messaging", "InboundMessage"),
    "user": Kind("accounts", "User", role="admin"),
    # A token's hash is not the secret, but it is the thing a stolen-hash attack needs.
    "api-token": Kind("accounts", "ApiToken", role="admin", hidden=frozenset({"secret_hash"})),
}
KindName = Literal[
    "employee", "absence", "role", "skill", "employment-type-limit", "event", "work-area",
    "assignment", "invitation", "work-log", "message", "inbound-message", "user", "api-token",
]  # fmt: skip
# Bookkeeping that changes with every update: shown in `row`, left out of `changes`.
NOT_A_CHANGE = frozenset({"updated_at", "version"})


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


class HistoryEntryOut(Schema):
    id: int = Field(description="The entry's id (ascending in the order the changes were recorded)")
    label: str = Field(description="insert, update or delete")
    at: dt.datetime
    changes: dict[str, FieldChangeOut] | None = Field(
        description="Fields that differ from the entry before (null for the first entry)"
    )
    row: dict[str, Any] = Field(description="The object after the change (before it, for a delete)")
    context: HistoryContextOut


def history_model(kind: Kind) -> type[Model]:
    return apps.get_model(kind.app_label, f"{kind.model}History")


def _split(values: dict[str, Any], hidden: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the pghistory columns, the object's own columns)."""
    meta = {k: v for k, v in values.items() if k.startswith("pgh_")}
    row = {k: v for k, v in values.items() if not k.startswith("pgh_") and k not in hidden}
    return meta, row


def _diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    if before is None:
        return None
    return {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if name not in NOT_A_CHANGE and before.get(name) != value
    }


def _context(raw: Any, usernames: dict[int, str]) -> dict[str, Any]:
    ctx = raw if isinstance(raw, dict) else {}
    user_id = ctx.get("user")
    user_id = user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    username = ctx.get("username") or (usernames.get(user_id) if user_id is not None else None)
    return {
        "user_id": user_id,
        "username": username,
        "source": ctx.get("source"),
        "request_id": ctx.get("request_id"),
        "action": ctx.get("action"),
        "note": ctx.get("note"),
    }


def history_page(
    kind: Kind, object_id: int, *, sort: Sort, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    model: Any = history_model(kind)
    desc = sort.descending
    qs = model.objects.filter(pgh_obj_id=object_id).order_by("-pgh_id" if desc else "pgh_id")
    if after:
        _, last_id = decode_cursor(after, sort)
        qs = qs.filter(Q(pgh_id__lt=last_id) if desc else Q(pgh_id__gt=last_id))
    rows = list(qs.values()[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return [], None
    chronological = sorted(rows, key=lambda r: r["pgh_id"])
    earliest = chronological[0]["pgh_id"]
    before = (
        model.objects.filter(pgh_obj_id=object_id, pgh_id__lt=earliest).order_by("-pgh_id").values().first()
    )
    missing: set[int] = set()
    for r in rows:
        ctx = r["pgh_context"] if isinstance(r["pgh_context"], dict) else {}
        if isinstance(ctx.get("user"), int) and not ctx.get("username"):
            missing.add(ctx["user"])
    usernames = dict(User.objects.filter(pk__in=missing).values_list("pk", "username")) if missing else {}
    previous = None if before is None else _split(before, kind.hidden)[1]
    entries: dict[int, dict[str, Any]] = {}
    for values in chronological:
        meta, row = _split(values, kind.hidden)
        entries[meta["pgh_id"]] = {
            "id": meta["pgh_id"],
            "label": meta["pgh_label"],
            "at": meta["pgh_created_at"],
            "changes": _diff(previous, row),
            "row": row,
            "context": _context(meta["pgh_context"], usernames),
        }
        previous = row
    items = [entries[r["pgh_id"]] for r in rows]
    cursor = encode_cursor(sort, rows[-1]["pgh_id"], rows[-1]["pgh_id"]) if more else None
    return items, cursor


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
    sort: str = Query("id", max_length=40, description="id (oldest first) or -id (newest first)"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    after: str | None = Query(None, max_length=500, description="`next` of the previous page"),
) -> Any:
    spec = KINDS[kind]
    if not actor(request).has_role(spec.role):
        raise ApiProblem(403, "forbidden", f"The history of a {kind} needs the {spec.role} role.")
    order = parse_sort(sort, allowed=("id",), default="id")
    items, cursor = history_page(spec, object_id, sort=order, after=after, limit=limit)
    if not items and not after:
        raise ApiProblem(404, "not_found", f"There is no history for {kind} {object_id}.")
    return {"items": items, "next": cursor}
