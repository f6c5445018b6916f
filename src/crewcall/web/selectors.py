"""Reads for the web pages; each selector runs a fixed, small number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.utils import timezone

from crewcall.events.models import Event, EventStatus
from crewcall.people.models import Employee

UPCOMING_DAYS = 14
UPCOMING_LIMIT = 50


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
