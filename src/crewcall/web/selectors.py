"""Reads for the web pages; each selector runs a fixed, small number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Count, DecimalField, Model, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.core.api.pagination import Sort, decode_cursor, encode_cursor
from crewcall.events.models import Event, EventStatus
from crewcall.people.models import Employee
from crewcall.staffing.simulation import gini
from crewcall.web.charts import FillRow, fill_rate_chart, histogram, hours_chart

UPCOMING_DAYS = 14
UPCOMING_LIMIT = 50
CHART_EVENTS = 20
HOURS_DAYS = 90


def dashboard_summary(*, today: dt.date | None = None) -> dict[str, Any]:
    """Counts for the dashboard and the events of the next two weeks (three queries).

    Templates are not events: they are left out of every figure.
    """
    today = today or timezone.localdate()
    until = today + dt.timedelta(days=UPCOMING_DAYS)
    events = Event.objects.filter(is_template=False)

    employees_active = Employee.objects.filter(is_active=True).count()
    # order_by() drops Meta.ordering, which would otherwise join the GROUP BY.
    counts: dict[str, int] = {
        row["status"]: row["n"] for row in events.order_by().values("status").annotate(n=Count("id"))
    }
    upcoming = [
        {**row, "status_label": EventStatus(row["status"]).label}
        for row in events.filter(event_date__gte=today, event_date__lt=until)
        .order_by("event_date", "start_time", "id")
        .values("id", "title", "event_date", "start_time", "status")[:UPCOMING_LIMIT]
    ]
    return {
        "employees_active": employees_active,
        "events_by_status": [
            {"status": status.value, "label": status.label, "count": counts.get(status.value, 0)}
            for status in EventStatus
        ],
        "events_total": sum(counts.values()),
        "upcoming": upcoming,
        "upcoming_days": UPCOMING_DAYS,
        "upcoming_limit": UPCOMING_LIMIT,
        "today": today,
    }


def dashboard_charts(*, today: dt.date | None = None) -> dict[str, Any]:
    """The fill-rate chart of the next events and the hours histogram (two queries).

    Fill rate: accepted (or completed) invitations against `employees_needed`, for the
    first CHART_EVENTS events of the next UPCOMING_DAYS days that are not cancelled.
    Hours: every active employee's logged hours over the last HOURS_DAYS days (zero
    included: someone never asked is part of the unfairness), and their Gini coefficient.
    """
    today = today or timezone.localdate()
    until = today + dt.timedelta(days=UPCOMING_DAYS)
    accepted = Count("invitations", filter=Q(invitations__status__in=("accepted", "completed")))
    fill = [
        FillRow(label=f"{row['event_date']:%d.%m.} {row['title']}", accepted=row["accepted"],
                needed=row["employees_needed"])
        for row in Event.objects.filter(is_template=False, event_date__gte=today, event_date__lt=until)
        .exclude(status=EventStatus.CANCELLED)
        .order_by("event_date", "start_time", "id")
        .annotate(accepted=accepted)
        .values("title", "event_date", "employees_needed", "accepted")[:CHART_EVENTS]
    ]  # fmt: skip
    since = timezone.now() - dt.timedelta(days=HOURS_DAYS)
    zero = Value(0, output_field=DecimalField(max_digits=8, decimal_places=2))
    worked = Sum("work_logs__hours", filter=Q(work_logs__started_at__gte=since))
    hours = [
        float(h)
        for h in Employee.objects.filter(is_active=True)
        .order_by()
        .annotate(h=Coalesce(worked, zero))
        .values_list("h", flat=True)
    ]
    coefficient = gini(hours)
    return {
        "fill_rows": fill,
        "fill_chart": fill_rate_chart(fill),
        "hours_chart": hours_chart(hours, coefficient, days=HOURS_DAYS),
        "hours_bins": histogram(hours),
        "hours_gini": coefficient,
        "hours_days": HOURS_DAYS,
        "hours_people": len(hours),
        "hours_total": sum(hours),
        "chart_events": CHART_EVENTS,
    }


def dashboard(*, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the dashboard shows (five queries)."""
    return {**dashboard_summary(today=today), **dashboard_charts(today=today)}


# The audit history of one object (the API's /history/{kind}/{id} and the history page).
# Reads the pghistory tables the database triggers fill (docs/data-model.md). Keyset-paginated
# by entry id; a page costs two queries (its rows and the row before them) plus one for
# usernames the context lacks.


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
    "assignment": Kind("staffing", "Assignment"),
    "invitation": Kind("staffing", "Invitation"),
    "work-log": Kind("staffing", "WorkLog"),
    "message": Kind("messaging", "OutboundMessage"),
    "inbound-message": Kind("messaging", "InboundMessage"),
    "user": Kind("accounts", "User", role="admin"),
    # A token's hash is not the secret, but it is the thing a stolen-hash attack needs.
    "api-token": Kind("accounts", "ApiToken", role="admin", hidden=frozenset({"secret_hash"})),
}
# Bookkeeping that changes with every update: shown in `row`, left out of `changes`.
NOT_A_CHANGE = frozenset({"updated_at", "version"})


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
        "token_id": token_id if isinstance(token_id := ctx.get("token"), int) else None,
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
