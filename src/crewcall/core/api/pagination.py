"""Keyset pagination: `?sort=<field>|-<field>&limit=<n>&after=<cursor>` on every list.

The cursor is the sort value and id of the last row sent (base64url JSON): the next page
is `WHERE (sort, id) > (value, id)`, served by an index, stable under inserts (no row
skipped or repeated when rows are added before the cursor), and as fast on page 1,000
as on page 1. Answers are `{"items": [...], "next": cursor | null}`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.db.models import F, Q, QuerySet
from ninja import Query
from pydantic import BaseModel

from crewcall.core.api.problems import ApiProblem

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool


# What `next` looks like (base64url without padding): the documented shape of `after`.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,500}$"


def sort_query(allowed: tuple[str, ...], default: str) -> Any:
    """The `sort` parameter of a list: each allowed field, ascending or descending (`-`),
    spelled out in the schema's pattern."""
    return Query(
        default,
        max_length=40,
        pattern="^-?(" + "|".join(allowed) + ")$",
        description=f"{', '.join(allowed)}; - for descending",
    )


def after_query() -> Any:
    return Query(
        None, max_length=500, pattern=CURSOR_PATTERN, description="`next` of the previous page, unchanged"
    )


def parse_sort(raw: str, *, allowed: tuple[str, ...]) -> Sort:
    """The order `raw` names (`sort_query`'s pattern has let through only these fields;
    checked again here, since the field goes into ORDER BY)."""
    name = raw.removeprefix("-")
    if name not in allowed:
        raise ApiProblem(
            422,
            "validation_failed",
            f"Cannot sort by {raw!r}.",
            errors={"sort": [f"One of: {', '.join(allowed)} (with - for descending)."]},
        )
    return Sort(field=name, descending=raw.startswith("-"))


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return {"t": type(value).__name__, "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"t": "decimal", "v": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        kind, raw = value.get("t"), value.get("v")
        parse = {
            "datetime": dt.datetime.fromisoformat,
            "date": dt.date.fromisoformat,
            "time": dt.time.fromisoformat,
            "decimal": Decimal,
        }.get(str(kind))
        if parse is None or not isinstance(raw, str):
            raise ValueError("bad cursor value")
        return parse(raw)
    if value is not None and not isinstance(value, str | int | bool):
        raise ValueError("bad cursor value")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("bad cursor value")
    return value


def _bad_cursor() -> ApiProblem:
    return ApiProblem(
        422, "unknown_cursor", "This cursor is not one this list gave out.",
        errors={"after": ["Use the `next` value of the previous page, unchanged."]},
    )  # fmt: skip


def decode_cursor(raw: str, sort: Sort) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
        if not isinstance(data, list) or len(data) != 3 or data[0] != sort.field:
            raise ValueError("wrong shape")
        row_id = data[2]
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id < 2**63:
            raise ValueError("bad id")
        return _decode(data[1]), row_id
    except (ValueError, UnicodeError, TypeError, json.JSONDecodeError):
        raise _bad_cursor() from None


def encode_cursor(sort: Sort, value: Any, row_id: int) -> str:
    raw = json.dumps([sort.field, _encode(value), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def keyset_page(
    qs: QuerySet[Any], *, sort: Sort, after: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page of `qs` in `sort` order (ties broken by id), after the given cursor.

    NULL sort values come last ascending and first descending (PostgreSQL's order)."""
    field, desc = sort.field, sort.descending
    order = [
        F(field).desc(nulls_first=True) if desc else F(field).asc(nulls_last=True),
        "-id" if desc else "id",
    ]
    qs = qs.order_by(*order)
    if after:
        value, row_id = decode_cursor(after, sort)
        cmp = "lt" if desc else "gt"
        if value is None:
            # Among the NULLs: ascending they are last, so only later ids follow;
            # descending they are first, so later ids then every non-NULL row follow.
            tail = Q(**{f"{field}__isnull": True, f"id__{cmp}": row_id})
            qs = qs.filter(tail | Q(**{f"{field}__isnull": False})) if desc else qs.filter(tail)
        else:
            beyond = Q(**{f"{field}__{cmp}": value}) | Q(**{field: value, f"id__{cmp}": row_id})
            if not desc:
                beyond |= Q(**{f"{field}__isnull": True})
            qs = qs.filter(beyond)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if not more or not rows:
        return rows, None
    last = rows[-1]
    return rows, encode_cursor(sort, _value_of(last, field), last.pk)


def _value_of(row: Any, field: str) -> Any:
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    return value
