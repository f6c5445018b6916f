"""Reads for events, with bounded query counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Expression, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from crewcall.events.models import Event, EventStatus, WorkArea
from crewcall.people.models import Skill


@dataclass(frozen=True)
class InvitationFigures:
    """How to count an event's invitations and assignments, for the event pages and the
    API. Both are staffing's and events sits below staffing, so staffing hands these in
    when its app is ready (StaffingConfig.ready) instead of events importing it."""

    # per event in a list (correlated on OuterRef("pk")): people accepted or done
    accepted: Callable[[], Expression]
    # per event in a list (correlated on OuterRef("pk")): people placed
    assigned: Callable[[], Expression]
    # one event: every invitation status, zero included
    by_status: Callable[[int], dict[str, int]]


_figures: list[InvitationFigures] = []


def invitation_figures_register(figures: InvitationFigures) -> None:
    _figures[:] = [figures]


def _invitation_figures() -> InvitationFigures:
    if not _figures:
        raise LookupError("No invitation figures: is crewcall.staffing in INSTALLED_APPS?")
    return _figures[0]


def work_areas_with_load(*, event_id: int) -> QuerySet[WorkArea]:
    """Work areas of an event, each with `assigned` counted by the database (one query)."""
    return WorkArea.objects.filter(event_id=event_id).annotate(assigned=Count("assignments"))


def event_filter(
    *,
    is_template: bool = False,
    status: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    search: str = "",
    include_archived: bool = True,
) -> QuerySet[Event]:
    """Events (or templates) for an API list: one query per page, no relations needed."""
    qs = Event.objects.filter(is_template=is_template)
    if status:
        qs = qs.filter(status=status)
    if date_from is not None:
        qs = qs.filter(event_date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(event_date__lte=date_to)
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(location__icontains=search))
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs


def _count(qs: QuerySet[Any], aggregate: Count | Sum) -> Coalesce:
    per_event = qs.filter(event=OuterRef("pk")).order_by().values("event").annotate(n=aggregate).values("n")
    return Coalesce(Subquery(per_event), 0, output_field=IntegerField())


def event_detail(*, event_id: int, is_template: bool = False) -> Event | None:
    """One event with a summary of its work areas and invitations (two queries).

    Sets `work_area_count`, `capacity_total`, `assigned_count` and `invitation_counts`
    (every invitation status, zero included)."""
    event = (
        Event.objects.filter(pk=event_id, is_template=is_template)
        .annotate(
            work_area_count=_count(WorkArea.objects.all(), Count("id")),
            capacity_total=_count(WorkArea.objects.all(), Sum("max_capacity")),
            assigned_count=_invitation_figures().assigned(),
        )
        .first()
    )
    if event is None:
        return None
    event.invitation_counts = _invitation_figures().by_status(event_id)  # type: ignore[attr-defined]
    return event


def event_exists(*, event_id: int, is_template: bool | None = None) -> bool:
    qs = Event.objects.filter(pk=event_id)
    if is_template is not None:
        qs = qs.filter(is_template=is_template)
    return qs.exists()


def template_detail(*, template_id: int) -> Event | None:
    return Event.objects.filter(pk=template_id, is_template=True).first()


def work_area_filter(*, event_id: int | None = None, work_area_id: int | None = None) -> QuerySet[WorkArea]:
    """Work areas with `assigned` and their required skills (two queries per page)."""
    qs = WorkArea.objects.annotate(assigned=Count("assignments")).prefetch_related(
        Prefetch("required_skills", queryset=Skill.objects.only("id", "key"))
    )
    if event_id is not None:
        qs = qs.filter(event_id=event_id)
    if work_area_id is not None:
        qs = qs.filter(pk=work_area_id)
    return qs


def work_area_detail(*, work_area_id: int) -> WorkArea | None:
    return work_area_filter(work_area_id=work_area_id).first()


# ── pages (events/views) ────────────────────────────────────────────────────

EVENT_PAGE_LIMIT = 200


def event_rows(
    *,
    status: str | None = None,
    past: bool = False,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    today: dt.date,
    limit: int = EVENT_PAGE_LIMIT,
) -> list[Event]:
    """Events for the dispatcher's list (one query, at most `limit` rows): upcoming from
    `today` in date order, or (past) before it, latest first. Each row carries
    `accepted_count` and `assigned_count`."""
    qs = event_filter(status=status, date_from=date_from, date_to=date_to)
    if past:
        qs = qs.filter(event_date__lt=today).order_by("-event_date", "-start_time", "-id")
    else:
        qs = qs.filter(event_date__gte=today).order_by("event_date", "start_time", "id")
    qs = qs.annotate(
        accepted_count=_invitation_figures().accepted(),
        assigned_count=_invitation_figures().assigned(),
    )
    return list(qs[:limit])


def template_rows(*, archived: bool = False, limit: int = EVENT_PAGE_LIMIT) -> list[Event]:
    """Templates by title (one query): the archived ones, or the ones in use, each with
    `work_area_count`."""
    qs = Event.objects.filter(is_template=True, archived_at__isnull=not archived).annotate(
        work_area_count=_count(WorkArea.objects.all(), Count("id"))
    )
    return list(qs.order_by("title", "id")[:limit])


def templates_in_use() -> QuerySet[Event]:
    """Templates that new events can be made from (not archived), by title."""
    return Event.objects.filter(is_template=True, archived_at__isnull=True).order_by("title", "id")


def event_ends_at(event: Event) -> dt.datetime:
    """When the event ends in the agency's time zone (with an open end: when it starts)."""
    if event.event_date is None:
        raise ValueError("a template has no date, so no end")
    if event.end_time is None:
        wall = dt.datetime.combine(event.event_date, event.start_time)
    else:
        day = event.event_date + dt.timedelta(days=1 if event.ends_next_day else 0)
        wall = dt.datetime.combine(day, event.end_time)
    return wall.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def reopen_until(event: Event) -> dt.datetime | None:
    """Until when a completed event may be reopened (None: not completed)."""
    if event.status != EventStatus.COMPLETED:
        return None
    since = event.completed_at or event.updated_at  # completed before this was recorded
    return since + dt.timedelta(days=settings.EVENT_REOPEN_DAYS)
