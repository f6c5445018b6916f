"""Reads for invitations and the work log, each with a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from crewcall.core.errors import NotFound, ValidationFailed
from crewcall.events import selectors as events
from crewcall.events.models import Event, EventStatus
from crewcall.events.selectors import InvitationFigures
from crewcall.people.models import EmployeeStats, Role
from crewcall.staffing import working_time
from crewcall.staffing.models import Assignment, Invitation, InvitationStatus, WorkLog
from crewcall.staffing.payroll import amount_of
from crewcall.staffing.picker import Pick, pick_candidates


def invitations_for_event(*, event_id: int, status: str | None = None) -> QuerySet[Invitation]:
    qs = Invitation.objects.filter(event_id=event_id).select_related("employee", "employee__primary_role")
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by("asked_at", "id")


def invitation_detail(*, invitation_id: int) -> Invitation | None:
    """One invitation with its employee and role (one query)."""
    return (
        Invitation.objects.select_related("employee", "employee__primary_role")
        .filter(pk=invitation_id)
        .first()
    )


def invitation_counts(*, event_id: int) -> dict[str, int]:
    """How many invitations of the event are in each status (every status present). The
    keys are the statuses themselves (equal to their strings), so a page shows `.label`."""
    counts: dict[str, int] = dict.fromkeys(InvitationStatus, 0)
    rows = Invitation.objects.filter(event_id=event_id).values("status").annotate(n=Count("id"))
    for row in rows:
        counts[InvitationStatus(row["status"])] = row["n"]
    return counts


def accepted_per_event() -> Coalesce:
    """For Event.objects.annotate(): how many people accepted or worked the event (a
    correlated subquery on OuterRef("pk"))."""
    per_event = (
        Invitation.objects.filter(
            event=OuterRef("pk"), status__in=[InvitationStatus.ACCEPTED, InvitationStatus.COMPLETED]
        )
        .order_by()
        .values("event")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(per_event), 0, output_field=IntegerField())


def assigned_per_event() -> Coalesce:
    """For Event.objects.annotate(): how many people are placed at the event (a correlated
    subquery on OuterRef("pk"))."""
    per_event = (
        Assignment.objects.filter(event=OuterRef("pk"))
        .order_by()
        .values("event")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(per_event), 0, output_field=IntegerField())


# The figures the event pages and API show (registered by StaffingConfig.ready).
INVITATION_FIGURES = InvitationFigures(
    accepted=accepted_per_event,
    assigned=assigned_per_event,
    by_status=lambda event_id: invitation_counts(event_id=event_id),
)


def assignment_filter(
    *, event_id: int | None = None, work_area_id: int | None = None
) -> QuerySet[Assignment]:
    """Placements with the employee's name and the role key (one query per page)."""
    qs = Assignment.objects.select_related("employee", "role")
    if event_id is not None:
        qs = qs.filter(event_id=event_id)
    if work_area_id is not None:
        qs = qs.filter(work_area_id=work_area_id)
    return qs


def assignment_detail(*, assignment_id: int) -> Assignment | None:
    return assignment_filter().filter(pk=assignment_id).first()


@dataclass(frozen=True)
class AskPreview:
    event_id: int
    next_wave: int
    picks: list[Pick]


def ask_preview(*, event_id: int, count: int | None = None) -> AskPreview:
    """Who `event_ask` would ask now, and why, without asking anyone (reads only: the
    event, the last wave, then the picker's two queries). Refuses what asking refuses
    (staffing.asking.ask_wave), so a preview never promises an ask that cannot happen."""
    event = (
        Event.objects.filter(pk=event_id)
        .annotate(last_wave=Max("invitations__wave"))
        .only("id", "is_template", "status")
        .first()
    )
    if event is None:
        raise NotFound(f"event {event_id} does not exist.")
    if event.is_template:
        raise ValidationFailed.single("event", "A template is not staffed; make an event from it.")
    if event.status not in (EventStatus.DRAFT, EventStatus.RECRUITING, EventStatus.STAFFED):
        raise ValidationFailed.single("status", f"A {event.status} event does not ask anyone.")
    picks = pick_candidates(event_id=event_id, count=count, today=timezone.localdate())
    return AskPreview(event_id=event_id, next_wave=(event.last_wave or 0) + 1, picks=picks)


def work_logs_for_event(*, event_id: int) -> QuerySet[WorkLog]:
    return WorkLog.objects.filter(event_id=event_id).select_related("employee", "approved_by")


def work_log_filter(
    *, event_id: int, employee_id: int | None = None, approved: bool | None = None
) -> QuerySet[WorkLog]:
    """An event's work log for an API list: employee and approver loaded (one query)."""
    qs = work_logs_for_event(event_id=event_id)
    if employee_id is not None:
        qs = qs.filter(employee_id=employee_id)
    if approved is not None:
        qs = qs.filter(approved_at__isnull=not approved)
    return qs


def work_log_detail(*, work_log_id: int) -> WorkLog | None:
    return WorkLog.objects.select_related("employee", "approved_by").filter(pk=work_log_id).first()


# ── the event's staffing board (staffing/views.py) ──────────────────────────

BOARD_GROUPS = (
    InvitationStatus.ASKED, InvitationStatus.ACCEPTED, InvitationStatus.WAITLISTED,
    InvitationStatus.DECLINED, InvitationStatus.EXPIRED, InvitationStatus.CANCELLED,
    InvitationStatus.COMPLETED,
)  # fmt: skip


@dataclass(frozen=True)
class Board:
    """Everything the staffing board shows: the event (with `invitation_counts`,
    `assigned_count`, `capacity_total`), its work areas (each with `assigned` and
    `placed`, its assignments), the invitations by status (accepted ones carry
    `placement`, their assignment or None) and the roles to place people in."""

    event: Event
    areas: list[Any]
    groups: list[tuple[InvitationStatus, list[Invitation]]]
    roles: list[Any]
    placements: list[Any] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        counts: dict[str, int] = self.event.invitation_counts  # type: ignore[attr-defined]
        return counts[InvitationStatus.ACCEPTED] + counts[InvitationStatus.COMPLETED]


def event_board(*, event_id: int) -> Board | None:
    """The board of one event in a fixed number of queries (six), however many people:
    the event with its counts (two), work areas, placements, invitations, roles."""
    event = events.event_detail(event_id=event_id)
    if event is None:
        return None
    areas = list(events.work_areas_with_load(event_id=event_id).order_by("position_order", "id"))
    placements = list(assignment_filter(event_id=event_id).order_by("employee__name", "id"))
    by_area: dict[int, list[Any]] = {area.pk: [] for area in areas}
    by_invitation = {}
    areas_by_id = {area.pk: area for area in areas}
    for placement in placements:
        placement.work_area = areas_by_id[placement.work_area_id]  # read above: no query each
        by_area[placement.work_area_id].append(placement)
        by_invitation[placement.invitation_id] = placement
    for area in areas:
        area.placed = by_area[area.pk]  # type: ignore[attr-defined]
    grouped: dict[str, list[Invitation]] = {status: [] for status in BOARD_GROUPS}
    for invitation in invitations_for_event(event_id=event_id):
        invitation.placement = by_invitation.get(invitation.pk)  # type: ignore[attr-defined]
        grouped.setdefault(invitation.status, []).append(invitation)
    groups = [(s, grouped[s]) for s in BOARD_GROUPS if s != InvitationStatus.COMPLETED or grouped[s]]
    roles = list(Role.objects.order_by("name", "id"))
    return Board(event=event, areas=areas, groups=groups, roles=roles, placements=placements)


# ── hours after the event (staffing/views/hours.py) ─────────────────────────


def hours_open(event: Event, *, today: dt.date) -> bool:
    """Whether the board takes hours: the event is completed, or under way or past
    (recruiting or staffed on or after its date). Drafts and cancelled events do not."""
    if event.status == EventStatus.COMPLETED:
        return True
    return (
        event.status in (EventStatus.RECRUITING, EventStatus.STAFFED)
        and event.event_date is not None
        and event.event_date <= today
    )


@dataclass
class HoursRow:
    """One person's hours at the event: their placement (None when hours were entered
    without one), their entry (None before the first save) and their total hours worked
    over every event (people_employee_stats)."""

    employee: Any
    placement: Any
    log: WorkLog | None
    total_hours: Decimal
    form: Any = None  # the view's form for this row
    warnings: list[str] = field(default_factory=list)  # working_time.warnings_for

    @property
    def amount(self) -> Decimal | None:
        if self.log is None:
            return None
        return amount_of(self.log.hours, self.log.event.hourly_rate)


@dataclass
class EventHours:
    """The hours of one event: a row per placed person (by name), the total and its cost."""

    rows: list[HoursRow] = field(default_factory=list)
    total_hours: Decimal = Decimal("0")
    total_cost: Decimal = Decimal("0")
    logged: int = 0
    approved: int = 0

    def row_of(self, employee_id: int) -> HoursRow | None:
        return next((row for row in self.rows if row.employee.pk == employee_id), None)


def event_hours(*, event: Event, placements: list[Any] | None = None) -> EventHours:
    """Everyone's hours at `event` in a fixed number of queries (four: placements unless
    given, the entries, the employees' totals, their hours on the days around the
    event's for the working-time warnings), however many people."""
    if placements is None:
        placements = list(assignment_filter(event_id=event.pk))
    logs = {log.employee_id: log for log in work_logs_for_event(event_id=event.pk)}
    for entry in logs.values():
        entry.event = event  # the caller's row: no query each
    people: dict[int, tuple[Any, Any]] = {p.employee_id: (p.employee, p) for p in placements}
    for employee_id, entry in logs.items():
        people.setdefault(employee_id, (entry.employee, None))
    totals = dict(
        EmployeeStats.objects.filter(employee_id__in=list(people)).values_list(
            "employee_id", "total_hours_worked"
        )
    )
    days = (
        working_time.day_totals(employee_ids=list(logs), around=event.event_date) if event.event_date else {}
    )
    result = EventHours()
    ordered = sorted(people.items(), key=lambda item: (item[1][0].name.lower(), item[0]))
    for employee_id, (employee, placement) in ordered:
        log = logs.get(employee_id)
        result.rows.append(
            HoursRow(
                employee=employee,
                placement=placement,
                log=log,
                total_hours=totals.get(employee_id) or Decimal("0"),
                warnings=[]
                if log is None
                else working_time.warnings_for(
                    log, day_total=days.get((employee_id, working_time.work_day(log)), log.hours)
                ),
            )
        )
        if log is not None:
            result.logged += 1
            result.total_hours += log.hours
            result.total_cost += amount_of(log.hours, event.hourly_rate)
            if log.approved_at is not None:
                result.approved += 1
    return result
