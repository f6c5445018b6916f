"""`crewcall demo`: load the demo agency (crewcall.dev.demo) into an empty database.

Everything is written through the services, as the product writes it, acting as the
dispatcher "demo-dispatcher" from the command line. Each service commits on its own (a
durable transaction), so the load cannot be one transaction: instead it refuses to run
on a database that already holds data.
"""

from __future__ import annotations

import random
import time as clock
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.core.context import request_context
from crewcall.core.transactions import service
from crewcall.dev.agency import LIMITS, ROLES, SKILLS
from crewcall.dev.demo import (
    ABSENCE_COUNT,
    ABSENCE_NOTES,
    ARCHIVED_COUNT,
    EVENTS,
    SEED,
    TEMPLATES,
    Area,
    EventSpec,
    PersonSpec,
    Slot,
    break_minutes,
    demo_actor,
    demo_summary,
    plan_people,
    shift_of,
)
from crewcall.events import services as events
from crewcall.events.models import Event, WorkArea
from crewcall.people import services as people
from crewcall.people.models import Employee, Role, Skill
from crewcall.staffing import event_lifecycle, placement
from crewcall.staffing import services as staffing
from crewcall.staffing.asking import queue_invitation_message
from crewcall.staffing.models import Invitation

FILLED = ("completed", "staffed")  # end states reached with every place accepted


@dataclass
class Person:
    """An employee as the loader tracks them: free days and hours booked per month."""

    spec: PersonSpec
    employee: Employee
    order: int
    absences: list[tuple[date, date]] = field(default_factory=list)
    busy: set[date] = field(default_factory=set)
    hours: defaultdict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    earnings: defaultdict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    worked: int = 0

    def absent(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.absences)


def _version(event_id: int) -> int:
    """The event's current version (answers to invitations move it along)."""
    return Event.objects.values_list("version", flat=True).get(pk=event_id)


class DemoLoader:
    def __init__(self, *, actor: User, today: date, seed: int = SEED) -> None:
        self.actor = actor
        self.today = today
        self.rng = random.Random(seed)
        self.roles: dict[str, Role] = {}
        self.skills: dict[str, Skill] = {}
        self.caps: dict[str, tuple[float | None, float | None]] = {}
        self.people: list[Person] = []
        self.templates: dict[str, Event] = {}

    def load(self) -> None:
        self._catalogue()
        self._employees()
        self._absences()
        for key, template in TEMPLATES.items():
            self.templates[key] = events.event_create(
                actor=self.actor,
                title=template.title,
                start_time=template.start,
                end_time=template.end,
                ends_next_day=template.next_day,
                hourly_rate=Decimal(template.rate),
                employees_needed=template.needed,
                employees_to_ask=template.ask,
                description=template.description,
                specialties=template.specialties,
                is_template=True,
            )
            self._areas(self.templates[key].pk, template.areas)
        for spec in (s for s in EVENTS if s.offset < 0):
            self._event(spec)
        self._leavers()  # after their last events, before anything ahead
        for spec in (s for s in EVENTS if s.offset >= 0):
            self._event(spec)
        demo_backdate(actor=self.actor)

    def _catalogue(self) -> None:
        for key, name in ROLES.items():
            self.roles[key] = people.role_create(actor=self.actor, key=key, name=name)
        for key, name in SKILLS.items():
            self.skills[key] = people.skill_create(actor=self.actor, key=key, name=name)
        for kind, (hours, earnings) in LIMITS.items():
            people.employment_type_limit_set(
                actor=self.actor,
                employment_type=kind,
                monthly_hours_cap=None if hours is None else Decimal(hours),
                monthly_earnings_cap=None if earnings is None else Decimal(earnings),
            )
            self.caps[kind] = (
                None if hours is None else float(hours),
                None if earnings is None else float(earnings),
            )

    def _employees(self) -> None:
        for order, spec in enumerate(plan_people(self.rng)):
            employee = people.employee_create(
                actor=self.actor,
                name=spec.name,
                phone_number=spec.phone,
                primary_role=self.roles[spec.role],
                employment_type=spec.employment_type,
                skills=[self.skills[key] for key in spec.skills],
                is_always_needed=spec.always_needed,
                notes=spec.notes,
                preferred_language=spec.language,
            )
            self.people.append(Person(spec=spec, employee=employee, order=order))

    def _absences(self) -> None:
        for person in sorted(self.rng.sample(self.people, ABSENCE_COUNT), key=lambda p: p.order):
            start = self.today + timedelta(days=self.rng.randint(-60, 20))
            for _ in range(self.rng.randint(1, 2)):
                kind = self.rng.choices(("vacation", "sick", "blocked"), weights=(5, 3, 2))[0]
                if kind == "sick" and start > self.today:
                    kind = "vacation"  # nobody is sick in advance
                days = {"vacation": self.rng.randint(4, 14), "sick": self.rng.randint(1, 5)}.get(kind, 1)
                end = start + timedelta(days=days - 1)
                people.absence_create(
                    actor=self.actor,
                    employee_id=person.employee.pk,
                    kind=kind,
                    starts_on=start,
                    ends_on=end,
                    note=self.rng.choice(ABSENCE_NOTES[kind]),
                )
                person.absences.append((start, end))
                start = end + timedelta(days=self.rng.randint(10, 45))

    def _areas(self, event_id: int, areas: tuple[Area, ...]) -> None:
        for position, (name, capacity, requirements, skills, priority, colour) in enumerate(areas):
            events.work_area_create(
                actor=self.actor,
                event_id=event_id,
                name=name,
                max_capacity=capacity,
                role_requirements=dict(requirements),
                required_skills=[self.skills[key] for key in skills],
                priority=priority,
                color_theme=colour,
                position_order=position,
            )

    def _transition(self, event_id: int, to_status: str) -> Event:
        return event_lifecycle.event_transition(
            actor=self.actor,
            event_id=event_id,
            expected_version=_version(event_id),
            to_status=to_status,
        )

    def _event(self, spec: EventSpec) -> None:
        day = self.today + timedelta(days=spec.offset)
        deadline = timezone.make_aware(datetime.combine(day - timedelta(days=3), time(12, 0)))
        if spec.template is not None:
            event = events.event_create_from_template(
                actor=self.actor,
                template_id=self.templates[spec.template].pk,
                event_date=day,
                title=spec.title,
            )
            event = events.event_update(
                actor=self.actor,
                event_id=event.pk,
                expected_version=event.version,
                changes={"location": spec.location, "reply_deadline": deadline},
            )
        else:
            event = events.event_create(
                actor=self.actor,
                title=spec.title,
                event_date=day,
                start_time=spec.start,
                end_time=spec.end,
                hourly_rate=Decimal(spec.rate),
                employees_needed=spec.needed,
                employees_to_ask=spec.ask,
                location=spec.location,
                description=spec.description,
                reply_deadline=deadline,
            )
            self._areas(event.pk, spec.areas)
        if spec.status == "draft":
            return
        if spec.status == "cancelled" and spec.offset >= 0:
            event_lifecycle.event_cancel(actor=self.actor, event_id=event.pk, expected_version=event.version)
            return
        event = self._transition(event.pk, "recruiting")
        accepted = self._recruit(event, spec.status)
        if spec.status == "cancelled":
            event_lifecycle.event_cancel(
                actor=self.actor, event_id=event.pk, expected_version=_version(event.pk)
            )
        elif spec.status == "completed":
            self._complete(event, accepted, approve=spec.offset <= -7)
        elif spec.status == "staffed" and Event.objects.get(pk=event.pk).status != "staffed":
            self._transition(event.pk, "staffed")

    def _recruit(self, event: Event, status: str) -> list[tuple[Person, Invitation]]:
        """Ask people in waves and record their answers; place those who accepted."""
        assert event.event_date is not None  # noqa: S101
        start, end = shift_of(event)
        shift = end - start
        hours = (shift.total_seconds() - break_minutes(shift) * 60) / 3600
        rate = float(event.hourly_rate)
        slots = [
            Slot(area.pk, area.max_capacity, dict(area.role_requirements))
            for area in WorkArea.objects.filter(event_id=event.pk).order_by("position_order", "id")
        ]
        wanted = [role for slot in slots for role, n in slot.requirements.items() for _ in range(n)]
        needed = event.employees_needed
        target = needed if status in FILLED else max(1, round(needed * self.rng.uniform(0.3, 0.7)))
        accepted: list[tuple[Person, Invitation]] = []
        month = (event.event_date.year, event.event_date.month)
        for n, (person, reason) in enumerate(self._candidates(event.event_date, wanted, hours, rate)):
            if n >= event.employees_to_ask and (status not in FILLED or len(accepted) >= target):
                break
            wave = 1 if n < event.employees_to_ask else 2
            invitation = staffing.invitation_create(
                actor=self.actor,
                event_id=event.pk,
                employee_id=person.employee.pk,
                wave=wave,
                pick_reason=reason if wave == 1 else f"wave 2 after declines; {reason}",
            )
            person.busy.add(event.event_date)
            answer = self._answer(status, more=len(accepted) < target)
            if answer is None:
                demo_invitation_message(actor=self.actor, invitation_id=invitation.pk)
                continue
            invitation = staffing.invitation_set_status(
                actor=self.actor,
                invitation_id=invitation.pk,
                expected_version=invitation.version,
                status=answer,
                method=self.rng.choices(("whatsapp", "web", "manual"), weights=(8, 1, 1))[0],
            )
            if answer == "accepted":
                accepted.append((person, invitation))
                if status != "cancelled":
                    person.hours[month] += hours
                    person.earnings[month] += hours * rate
        self._place(slots, accepted, share=1.0 if status in FILLED else 0.6)
        return accepted

    def _answer(self, status: str, *, more: bool) -> str | None:
        """An answer to an invitation, or None for no answer yet."""
        r = self.rng.random()
        if status in FILLED:
            if more:
                return "accepted" if r < 0.75 else "declined"
            return "waitlisted" if r < 0.4 else "declined" if r < 0.7 else None
        if more and r < 0.45:
            return "accepted"
        return "declined" if r < 0.65 else "waitlisted" if r < 0.75 else None

    def _candidates(
        self, day: date, wanted: list[str], hours: float, rate: float
    ) -> Iterator[tuple[Person, str]]:
        """Fair picking: per wanted role the always-needed first, then whoever worked least
        this month; nobody absent, booked that day, or over their employment type's caps."""
        chosen: set[int] = set()
        roles: list[str] = []
        month = (day.year, day.month)
        while True:
            if not roles:
                roles = list(wanted)
            role = roles.pop(0) if roles else None
            pool = [p for p in self.people if p.order not in chosen and self._available(p, day, hours, rate)]
            if not pool:
                return
            matching = [p for p in pool if p.spec.role == role] or pool
            person = min(
                matching, key=lambda p: (not p.spec.always_needed, p.hours[month], self.rng.random())
            )
            chosen.add(person.order)
            if person.spec.always_needed:
                yield person, "always needed"
            else:
                yield person, f"{ROLES[person.spec.role]}; {person.hours[month]:.1f} h this month"

    def _available(self, person: Person, day: date, hours: float, rate: float) -> bool:
        if not person.employee.is_active or day in person.busy or person.absent(day):
            return False
        hours_cap, earnings_cap = self.caps[person.spec.employment_type]
        month = (day.year, day.month)
        if hours_cap is not None and person.hours[month] + hours > hours_cap:
            return False
        return earnings_cap is None or person.earnings[month] + hours * rate <= earnings_cap

    def _place(self, slots: list[Slot], accepted: list[tuple[Person, Invitation]], *, share: float) -> None:
        for person, invitation in accepted:
            if self.rng.random() >= share:
                continue
            role = person.spec.role
            listed = [slot for slot in slots if role in slot.requirements]
            slot = next((s for s in [*listed, *slots] if s.fits(role)), None)
            if slot is None:
                continue
            placement.assignment_create(
                actor=self.actor,
                invitation_id=invitation.pk,
                work_area_id=slot.area_id,
                role_id=self.roles[role].pk,
            )
            slot.taken[role] += 1

    def _complete(self, event: Event, accepted: list[tuple[Person, Invitation]], *, approve: bool) -> None:
        """Hours as worked (a little early or late), then the event is completed."""
        planned_start, planned_end = shift_of(event)
        logs = []
        for person, _ in accepted:
            early = self.rng.choice((-15, 0, 0, 0, 15))
            late = self.rng.choice((-30, -15, 0, 0, 0, 15, 30, 45))
            started = planned_start + timedelta(minutes=early)
            ended = planned_end + timedelta(minutes=late)
            note = (
                "Stayed for the breakdown." if late >= 30 else "Helped with the set-up." if early < 0 else ""
            )
            logs.append(
                staffing.work_log_create(
                    actor=self.actor,
                    event_id=event.pk,
                    employee_id=person.employee.pk,
                    started_at=started,
                    ended_at=ended,
                    break_minutes=break_minutes(ended - started),
                    note=note,
                )
            )
            person.worked += 1
        self._transition(event.pk, "completed")
        if approve:
            for log in logs:
                staffing.work_log_approve(actor=self.actor, work_log_id=log.pk, expected_version=log.version)

    def _leavers(self) -> None:
        """Some who worked have left: archived, and one of them erased on request."""
        worked = [p for p in self.people if p.worked and not p.spec.always_needed]
        leavers = self.rng.sample(worked, min(ARCHIVED_COUNT, len(worked)))
        for person in leavers[:-1]:
            person.employee = people.employee_archive(
                actor=self.actor, employee_id=person.employee.pk, expected_version=person.employee.version
            )
        if leavers:
            erased = leavers[-1]
            erased.employee = people.employee_anonymise(
                actor=self.actor, employee_id=erased.employee.pk, expected_version=erased.employee.version
            )


@service
def demo_invitation_message(*, actor: User, invitation_id: int) -> None:
    """An invitation still waiting for its answer was asked on WhatsApp: queue its message,
    as asking does (the integrity check finds an asked invitation without one)."""
    invitation = Invitation.objects.select_related("event", "employee").get(pk=invitation_id)
    queue_invitation_message(invitation, invitation.event)


@service
def demo_backdate(*, actor: User) -> None:
    """The services stamp answers and approvals with the time of the load; move them to
    plausible times around each event (never in the future), as an audited change."""
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE staffing_invitation i
            SET asked_at = LEAST(
                    ((e.event_date - 12 + 2 * i.wave)::timestamp + time '10:00') AT TIME ZONE %(tz)s,
                    now() - interval '2 hours'),
                responded_at = CASE WHEN i.responded_at IS NULL THEN NULL ELSE LEAST(
                    ((e.event_date - 12 + 2 * i.wave)::timestamp + time '10:00') AT TIME ZONE %(tz)s
                        + (i.id %% 23 + 1) * interval '17 minutes',
                    now() - interval '2 hours' + (i.id %% 23 + 1) * interval '3 minutes') END
            FROM events_event e
            WHERE e.id = i.event_id
            """,
            {"tz": settings.TIME_ZONE},
        )
        cur.execute(
            """
            UPDATE staffing_worklog w
            SET approved_at = LEAST(((e.event_date + 2)::timestamp + time '09:00') AT TIME ZONE %(tz)s, now())
            FROM events_event e
            WHERE e.id = w.event_id AND w.approved_at IS NOT NULL
            """,
            {"tz": settings.TIME_ZONE},
        )


class Command(BaseCommand):
    help = "Load a demo event-staffing agency into an empty database (through the services)."

    def handle(self, *args: Any, **options: Any) -> None:
        for model, what in ((Employee, "employees"), (Role, "roles"), (Skill, "skills"), (Event, "events")):
            if model.objects.exists():
                raise CommandError(f"database already has {what}; demo data is for an empty database")
        began = clock.monotonic()
        with request_context(source="cli"):
            actor = demo_actor()
            DemoLoader(actor=actor, today=timezone.localdate()).load()
        for line in demo_summary():
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo agency loaded as {actor.username} in {clock.monotonic() - began:.1f} s."
            )
        )
