"""Every write to events, templates and work areas (@service: one transaction each).

The lifecycle that touches invitations and placements (transition, cancel) and the
placements themselves are staffing's: staffing.event_lifecycle, staffing.placement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.errors import RuleViolation, ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.validation import LAST_DAY, require_text
from crewcall.core.versioning import apply_changes, get_or_not_found, lock_current
from crewcall.events.models import (
    Event,
    EventStatus,
    WorkArea,
    WorkAreaSkill,
)
from crewcall.people.models import Role, Skill

EVENT_EDITABLE = {
    "title",
    "location",
    "event_date",
    "start_time",
    "end_time",
    "ends_next_day",
    "description",
    "specialties",
    "hourly_rate",
    "employees_needed",
    "employees_to_ask",
    "reply_deadline",
}
WORK_AREA_EDITABLE = {
    "name",
    "location",
    "description",
    "max_capacity",
    "is_active",
    "priority",
    "role_requirements",
    "color_theme",
    "position_order",
}
# What "new from template" (and a weekly copy) copies onto the event.
TEMPLATE_FIELDS = (
    "title", "location", "start_time", "end_time", "ends_next_day", "description",
    "specialties", "hourly_rate", "employees_needed", "employees_to_ask",
)  # fmt: skip
MAX_WEEKLY_COPIES = 52


def _check_role_requirements(value: Any) -> None:
    for problem in _requirement_shape(value):
        raise ValidationFailed.single(problem.field, problem.message)


# ── work-area rules: one Python copy, used by the services and the editor's validation ──

MAX_ROLE_COUNT = 100_000  # the trigger's bound for one role's count


@dataclass(frozen=True)
class Problem:
    """One broken work-area rule. `constraint` names the database rule that holds the
    same (trigger events_workarea_guard or a constraint); empty for a shape check."""

    field: str
    message: str
    constraint: str = ""

    def error(self) -> ValidationFailed:
        if self.constraint:
            return RuleViolation(field=self.field, message=self.message, constraint=self.constraint)
        return ValidationFailed.single(self.field, self.message)


def _requirement_shape(value: Any) -> list[Problem]:
    if not isinstance(value, dict):
        return [Problem("role_requirements", _("Must be an object of role → count."))]
    return [
        Problem(
            "role_requirements",
            _("The count for role %(role)s must be a positive whole number.") % {"role": repr(key)},
        )
        for key, count in value.items()
        if type(count) is not int or not 1 <= count <= MAX_ROLE_COUNT
    ]


def work_area_problems(
    *,
    event_id: int,
    name: str,
    max_capacity: int | None,
    role_requirements: Any,
    work_area_id: int | None = None,
) -> list[Problem]:
    """Every rule the values of a work area break, without writing anything (reads: the
    roles named, the other areas' names and, for an existing area, its placements).

    The single Python copy of the rules of trigger `events_workarea_guard` and the work
    area's constraints (a test checks both agree): work_area_create and work_area_update
    refuse with the first problem, inside their transaction and after the row lock; the
    work-area editor shows them all while the dispatcher types (with `max_capacity`
    None while the capacity is not typed yet: the checks that need it wait)."""
    problems: list[Problem] = []
    stripped = name.strip() if isinstance(name, str) else ""
    if not stripped:
        problems.append(Problem("name", _("This field is required."), "events_workarea__name__not_blank"))
    elif len(stripped) > 100:
        problems.append(Problem("name", _("At most %(count)s characters.") % {"count": 100}))
    else:
        others = WorkArea.objects.filter(event_id=event_id, name__iexact=stripped)
        if work_area_id is not None:
            others = others.exclude(pk=work_area_id)
        if others.exists():
            problems.append(
                Problem(
                    "name",
                    _("This event already has a work area with this name."),
                    "events_workarea__name__unique_in_event",
                )
            )
    capacity = max_capacity if type(max_capacity) is int and max_capacity >= 1 else None
    if max_capacity is not None and capacity is None:
        problems.append(
            Problem("max_capacity", _("This must be at least 1."), "events_workarea__max_capacity__positive")
        )
    shape = _requirement_shape(role_requirements)
    problems += shape
    requirements: dict[str, int] = role_requirements if not shape else {}
    if requirements:
        known = set(Role.objects.filter(key__in=list(requirements)).values_list("key", flat=True))
        problems += [
            Problem(
                "role_requirements",
                _('"%(role)s" is not a role in the catalogue.') % {"role": key},
                "events_workarea__role_requirements__known_role",
            )
            for key in requirements
            if key not in known
        ]
        total = sum(requirements.values())
        if capacity is not None and total > capacity:
            problems.append(
                Problem(
                    "role_requirements",
                    _("Role requirements add up to %(total)s, more than the capacity of %(capacity)s.")
                    % {"total": total, "capacity": capacity},
                    "events_workarea__role_requirements__within_capacity",
                )
            )
    if work_area_id is not None:
        placed = dict(
            WorkArea.objects.filter(pk=work_area_id, assignments__isnull=False)
            .order_by()
            .values_list("assignments__role__key")
            .annotate(n=Count("assignments"))
        )
        taken = sum(placed.values())
        if capacity is not None and taken > capacity:
            problems.append(
                Problem(
                    "max_capacity",
                    _("%(count)s people are already placed here; the capacity cannot go below that.")
                    % {"count": taken},
                    "events_workarea__max_capacity__above_assigned",
                )
            )
        problems += [
            Problem(
                "role_requirements",
                _("%(count)s %(role)s are already placed here; the requirement cannot go below that.")
                % {"count": n, "role": key},
                "events_workarea__role_requirements__above_assigned",
            )
            for key, n in sorted(placed.items())
            if key in requirements and requirements[key] < n
        ]
    return problems


def _check_plan(
    *,
    event_date: date | None,
    start_time: time | None,
    hourly_rate: Decimal | None,
    reply_deadline: datetime | None,
) -> None:
    """What the database cannot say about a plan: a rate of 0 pays nothing, and answers
    due after the event has started are no use."""
    if hourly_rate is not None and hourly_rate == 0:  # below 0: the database refuses it
        raise ValidationFailed.single("hourly_rate", _("Enter the hourly rate: a rate of 0 pays nothing."))
    if reply_deadline is not None and event_date is not None and start_time is not None:
        starts = timezone.make_aware(datetime.combine(event_date, start_time))
        if reply_deadline > starts:
            raise ValidationFailed.single(
                "reply_deadline",
                _("Answers must be due before the event starts (%(start)s).")
                % {"start": formats.date_format(timezone.localtime(starts), "DATETIME_FORMAT")},
            )


def _refuse_problems(problems: list[Problem]) -> None:
    if problems:
        raise problems[0].error()


PLAN_FIELDS = ("event_date", "start_time", "hourly_rate", "reply_deadline")


@service
def event_create(
    *,
    actor: User | None,
    title: str,
    start_time: time,
    hourly_rate: Decimal,
    employees_needed: int,
    employees_to_ask: int | None = None,
    event_date: date | None = None,
    end_time: time | None = None,
    ends_next_day: bool = False,
    location: str = "",
    description: str = "",
    specialties: str = "",
    reply_deadline: datetime | None = None,
    is_template: bool = False,
) -> Event:
    event = Event(
        title=require_text("title", title, max_length=200),
        event_date=event_date,
        start_time=start_time,
        end_time=end_time,
        ends_next_day=ends_next_day,
        location=location,
        description=description,
        specialties=specialties,
        hourly_rate=hourly_rate,
        employees_needed=employees_needed,
        employees_to_ask=employees_needed if employees_to_ask is None else employees_to_ask,
        reply_deadline=reply_deadline,
        is_template=is_template,
        created_by=actor,
    )
    if not is_template and event_date is None:
        raise ValidationFailed.single("event_date", _("An event needs a date."))
    _check_plan(
        event_date=event_date, start_time=start_time, hourly_rate=hourly_rate, reply_deadline=reply_deadline
    )
    event.save()
    event.refresh_version()
    return event


@service
def event_create_from_template(
    *, actor: User | None, template_id: int, event_date: date, title: str | None = None
) -> Event:
    """A draft event with the template's fields, work areas and their required skills."""
    template = get_or_not_found(Event, pk=template_id)
    if not template.is_template:
        raise ValidationFailed.single("template", _("This event is not a template."))
    if template.archived_at is not None:
        raise ValidationFailed.single("template", _("This template is archived."))
    event = Event(**{name: getattr(template, name) for name in TEMPLATE_FIELDS})
    event.event_date = event_date
    event.template = template
    event.created_by = actor
    if title:
        event.title = require_text("title", title, max_length=200)
    event.save()
    _copy_work_areas(template, [event.pk])
    event.refresh_version()
    return event


def _copy_work_areas(source: Event, target_ids: list[int]) -> None:
    """Give every target event the source's work areas with their required skills
    (a fixed number of statements, however many targets)."""
    areas = list(WorkArea.objects.filter(event=source).prefetch_related("skill_links").order_by("pk"))
    if not areas or not target_ids:
        return
    copies = [
        WorkArea(event_id=target, **{name: getattr(area, name) for name in WORK_AREA_EDITABLE})
        for target in target_ids
        for area in areas
    ]
    WorkArea.objects.bulk_create(copies)
    links = [
        WorkAreaSkill(work_area_id=copy.pk, skill_id=link.skill_id)
        for index, copy in enumerate(copies)
        for link in areas[index % len(areas)].skill_links.all()
    ]
    WorkAreaSkill.objects.bulk_create(links)


@service
def event_copy_weekly(*, actor: User | None, event_id: int, count: int) -> list[Event]:
    """The next `count` weekly copies of an event (+7, +14 … days, reply deadline moved
    alike), as drafts with its work areas, all or none."""
    if type(count) is not int or not 1 <= count <= MAX_WEEKLY_COPIES:
        raise ValidationFailed.single(
            "count", _("Between 1 and %(count)s copies.") % {"count": MAX_WEEKLY_COPIES}
        )
    # Locked so a concurrent cancel or edit lands before or after the copies, not between.
    source = get_or_not_found(Event, pk=event_id, lock=True)
    if source.is_template:
        raise ValidationFailed.single(
            "event", _("A template is not copied weekly; make events from it instead.")
        )
    if source.status == EventStatus.CANCELLED:
        raise ValidationFailed.single("status", _("A cancelled event is not copied."))
    if source.event_date is None:  # the database gives every event that is not a template a date
        raise ValidationFailed.single("event_date", _("An event needs a date."))
    weeks = [timedelta(weeks=n) for n in range(1, count + 1)]
    if source.event_date + weeks[-1] > LAST_DAY:
        # The database would refuse the last copies' dates (events_event__event_date__in_range);
        # said here, the answer names the number asked for.
        raise ValidationFailed.single("count", _("The copies would run past the end of the calendar."))
    shifted = [
        (source.event_date + week, source.reply_deadline + week if source.reply_deadline else None)
        for week in weeks
    ]
    copies = Event.objects.bulk_create(
        [
            Event(
                **{name: getattr(source, name) for name in TEMPLATE_FIELDS},
                event_date=day,
                reply_deadline=deadline,
                template_id=source.template_id,
                created_by=actor,
            )
            for day, deadline in shifted
        ]
    )
    ids = [copy.pk for copy in copies]
    _copy_work_areas(source, ids)
    return list(Event.objects.filter(pk__in=ids).order_by("event_date", "pk"))


@service
def event_update(
    *, actor: User | None, event_id: int, expected_version: int | None, changes: dict[str, Any]
) -> Event:
    event = lock_current(Event, pk=event_id, expected_version=expected_version)
    if event.status in (EventStatus.COMPLETED, EventStatus.CANCELLED):
        raise ValidationFailed.single(
            "status", _("A %(status)s event can no longer be edited.") % {"status": event.status}
        )
    changes = dict(changes)
    if "title" in changes:
        changes["title"] = require_text("title", changes["title"], max_length=200)
    planned = {name: changes.get(name, getattr(event, name)) for name in PLAN_FIELDS}
    if any(name in changes for name in PLAN_FIELDS):
        _check_plan(**planned)
    apply_changes(event, changes, allowed=EVENT_EDITABLE)
    return event


@service
def event_delete_draft(*, actor: User | None, event_id: int, expected_version: int | None) -> None:
    """Delete a draft (or an unused template) with its work areas; anything with
    invitations or events made from it is cancelled or archived instead."""
    event = lock_current(Event, pk=event_id, expected_version=expected_version)
    if event.status != EventStatus.DRAFT:
        raise ValidationFailed.single("status", _("Only a draft can be deleted; cancel it instead."))
    if event.invitations.exists():
        raise ValidationFailed.single("status", _("This draft has invitations; cancel it instead."))
    if event.events_from_template.exists():
        raise ValidationFailed.single(
            "is_template", _("Events were made from this template; archive it instead.")
        )
    WorkAreaSkill.objects.filter(work_area__event=event).delete()
    WorkArea.objects.filter(event=event).delete()
    event.delete()


@service
def template_archive(*, actor: User | None, event_id: int, expected_version: int | None) -> Event:
    event = lock_current(Event, pk=event_id, expected_version=expected_version)
    if not event.is_template:
        raise ValidationFailed.single(
            "is_template", _("Only templates are archived; cancel an event instead.")
        )
    apply_changes(event, {"archived_at": timezone.now()}, allowed={"archived_at"})
    return event


@service
def work_area_create(
    *,
    actor: User | None,
    event_id: int,
    name: str,
    max_capacity: int,
    role_requirements: dict[str, int] | None = None,
    required_skills: list[Skill] | None = None,
    **fields: Any,
) -> WorkArea:
    event = get_or_not_found(Event, pk=event_id)
    requirements = role_requirements or {}
    _check_role_requirements(requirements)
    unknown = sorted(set(fields) - WORK_AREA_EDITABLE)
    if unknown:
        raise ValidationFailed({name: [_("Unknown field.")] for name in unknown})
    name = require_text("name", name, max_length=100)
    _refuse_problems(
        work_area_problems(
            event_id=event.pk, name=name, max_capacity=max_capacity, role_requirements=requirements
        )
    )
    area = WorkArea(
        event=event,
        name=name,
        max_capacity=max_capacity,
        role_requirements=requirements,
        **fields,
    )
    area.save()
    if required_skills:
        WorkAreaSkill.objects.bulk_create([WorkAreaSkill(work_area=area, skill=s) for s in required_skills])
    area.refresh_version()
    return area


@service
def work_area_update(
    *,
    actor: User | None,
    work_area_id: int,
    expected_version: int | None,
    changes: dict[str, Any],
    required_skills: list[Skill] | None = None,
) -> WorkArea:
    """Change a work area; `required_skills`, when given, replaces the list."""
    area = lock_current(WorkArea, pk=work_area_id, expected_version=expected_version)
    if "role_requirements" in changes:
        _check_role_requirements(changes["role_requirements"])
    if changes.keys() & {"name", "max_capacity", "role_requirements"}:
        # Under the row lock: no placement can slip in between this check and the write.
        _refuse_problems(
            work_area_problems(
                event_id=area.event_id,
                work_area_id=area.pk,
                name=changes.get("name", area.name),
                max_capacity=changes.get("max_capacity", area.max_capacity),
                role_requirements=changes.get("role_requirements", area.role_requirements),
            )
        )
    changed = apply_changes(area, changes, allowed=WORK_AREA_EDITABLE)
    if required_skills is not None and _set_required_skills(area, required_skills) and not changed:
        # The skills are part of the work area: changing them moves its version too.
        apply_changes(area, {"updated_at": timezone.now()}, allowed={"updated_at"})
    return area


def _set_required_skills(area: WorkArea, skills: list[Skill]) -> bool:
    """Make the area's skills exactly `skills`; True when anything changed."""
    wanted = {s.pk for s in skills}
    have = set(WorkAreaSkill.objects.filter(work_area=area).values_list("skill_id", flat=True))
    if wanted == have:
        return False
    WorkAreaSkill.objects.filter(work_area=area, skill_id__in=have - wanted).delete()
    WorkAreaSkill.objects.bulk_create(
        [WorkAreaSkill(work_area=area, skill_id=pk) for pk in sorted(wanted - have)]
    )
    return True


@service
def work_area_delete(*, actor: User | None, work_area_id: int, expected_version: int | None) -> None:
    area = lock_current(WorkArea, pk=work_area_id, expected_version=expected_version)
    if area.assignments.exists():
        raise ValidationFailed.single("work_area", _("People are placed here; move them first."))
    WorkAreaSkill.objects.filter(work_area=area).delete()
    area.delete()
