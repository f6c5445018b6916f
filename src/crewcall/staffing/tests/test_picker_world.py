"""A world for picker tests: rows written straight into PostgreSQL (bulk ORM, every
trigger and constraint still on) and the same facts mirrored into a reference `World`.

Writing with the ORM instead of the services lets a test put work logs on any date and
build a hundred small agencies in seconds; the database rules still hold every row. The
tests at the bottom check the mirror matches what the database holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import strategies as st

from crewcall.events.models import Event, WorkArea, WorkAreaSkill
from crewcall.people.models import Absence, Employee, EmployeeSkill, EmploymentTypeLimit, Role, Skill
from crewcall.staffing.models import Invitation, WorkLog
from crewcall.staffing.picker.reference import AreaSpec, EventSpec, Person, World
from crewcall.staffing.picker.rules import Area, Shift

pytestmark = pytest.mark.django_db

ROLES = {"bartender": "Bartender", "waiter": "Waiter", "cook": "Cook"}
SKILLS = ("cocktails", "wine", "first_aid")
DAY = date(2031, 5, 14)  # far from today: nothing in these worlds depends on the real date


class Builder:
    """Writes one agency's rows and mirrors them into `world`."""

    def __init__(self) -> None:
        self.roles = {key: Role.objects.create(key=key, name=name) for key, name in ROLES.items()}
        self.skills = {key: Skill.objects.create(key=key, name=key.title()) for key in SKILLS}
        self.world = World(roles=dict(ROLES))
        self._phone = 15200000000

    def limit(self, employment_type: str, hours: str | None, earnings: str | None) -> None:
        caps = (None if hours is None else Decimal(hours), None if earnings is None else Decimal(earnings))
        EmploymentTypeLimit.objects.create(
            employment_type=employment_type, monthly_hours_cap=caps[0], monthly_earnings_cap=caps[1]
        )
        self.world.limits[employment_type] = caps

    def person(
        self,
        name: str = "Emil",
        role: str = "bartender",
        employment_type: str = "part_time",
        *,
        skills: tuple[str, ...] = (),
        always: bool = False,
        active: bool = True,
        anonymised: bool = False,
    ) -> int:
        self._phone += 1
        employee = Employee.objects.create(
            name=name,
            phone_number=None if anonymised else f"+49{self._phone}",
            primary_role=self.roles[role],
            employment_type=employment_type,
            is_always_needed=always,
            is_active=active and not anonymised,
            anonymised_at=timezone.now() if anonymised else None,
        )
        EmployeeSkill.objects.bulk_create(
            [EmployeeSkill(employee=employee, skill=self.skills[s]) for s in sorted(set(skills))]
        )
        self.world.add_person(
            Person(
                id=employee.pk,
                name=name,
                role_key=role,
                employment_type=employment_type,
                skills=frozenset(self.skills[s].pk for s in skills),
                always_needed=always,
                active=active and not anonymised,
                anonymised=anonymised,
                has_phone=not anonymised,
            )
        )
        return employee.pk

    def event(
        self,
        day: date = DAY,
        start: time = time(18),
        end: time | None = time(23),
        *,
        next_day: bool = False,
        rate: str = "15.00",
        needed: int = 4,
        to_ask: int | None = None,
        areas: tuple[tuple[int, dict[str, int], tuple[str, ...], bool], ...] = (),
    ) -> int:
        """areas: (capacity, role requirements, required skills, active) each."""
        event = Event.objects.create(
            title=f"Event on {day}",
            event_date=day,
            start_time=start,
            end_time=end,
            ends_next_day=next_day,
            hourly_rate=Decimal(rate),
            employees_needed=needed,
            employees_to_ask=needed if to_ask is None else to_ask,
        )
        Event.objects.filter(pk=event.pk).update(status="recruiting")
        specs = []
        for n, (capacity, requirements, skills, active) in enumerate(areas):
            area = WorkArea.objects.create(
                event=event,
                name=f"Area {n + 1}",
                max_capacity=capacity,
                role_requirements=requirements,
                is_active=active,
                position_order=len(areas) - n,  # display order differs from id order
            )
            WorkAreaSkill.objects.bulk_create(
                [WorkAreaSkill(work_area=area, skill=self.skills[s]) for s in sorted(set(skills))]
            )
            specs.append(
                AreaSpec(
                    area=Area(
                        id=area.pk,
                        name=area.name,
                        capacity=capacity,
                        requirements=dict(requirements),
                        skills=frozenset(self.skills[s].pk for s in skills),
                    ),
                    active=active,
                    position=area.position_order,
                )
            )
        self.world.add_event(
            EventSpec(
                id=event.pk,
                shift=Shift(day=day, start=start, end=end, next_day=next_day),
                rate=Decimal(rate),
                employees_to_ask=event.employees_to_ask,
                employees_needed=needed,
                areas=tuple(specs),
            )
        )
        return event.pk

    def invite(self, event_id: int, employee_id: int, status: str = "asked") -> None:
        invitation = Invitation.objects.create(event_id=event_id, employee_id=employee_id)
        path = {"completed": ["accepted", "completed"]}.get(status, [] if status == "asked" else [status])
        for step in path:
            Invitation.objects.filter(pk=invitation.pk).update(status=step)
        self.world.set_status(event_id, employee_id, status)

    def log(self, event_id: int, employee_id: int, hours: str) -> None:
        """Hours worked (the invitation must be accepted or completed)."""
        day = self.world.events[event_id].shift.day
        started = datetime.combine(day, time(10), tzinfo=UTC)
        ended = started + timedelta(seconds=int(Decimal(hours) * 3600))
        WorkLog.objects.create(event_id=event_id, employee_id=employee_id, started_at=started, ended_at=ended)
        self.world.log(event_id, employee_id, Decimal(hours))

    def absent(self, employee_id: int, starts_on: date, ends_on: date) -> None:
        Absence.objects.create(employee_id=employee_id, kind="vacation", starts_on=starts_on, ends_on=ends_on)
        self.world.absent(employee_id, starts_on, ends_on)


# Days around DAY (2031-05-14) that cross the rules' edges: the 90-day window (-90/-91),
# the month (-14 is 30 April, -13 is 1 May, +17 is 31 May, +18 is 1 June), neighbours.
OFFSETS = (-120, -91, -90, -14, -13, -1, -1, 0, 0, 0, 0, 1, 1, 17, 18)
# Accepted and completed drawn more often: they are what the rules read.
STATUSES = ("asked", "accepted", "accepted", "waitlisted", "declined", "expired", "cancelled", "completed")
TYPES = ("full_time", "part_time", "mini_job", "freelance")


@st.composite
def worlds(draw: st.DrawFn) -> Builder:
    """A small random agency, written to the database: people of three roles with skills,
    caps, events with areas, invitations in every status, hours, absences. Draw it inside
    `rolled_back()` (with st.data()), so each example starts from an empty agency."""
    b = Builder()
    for kind in TYPES:
        if draw(st.booleans()):
            b.limit(
                kind,
                # Caps equal to common loads (5 h, 2 + 8 h, 4.5 + 7.75 h; 5 h at 15 €),
                # so "exactly at the cap" happens often.
                draw(st.sampled_from((None, "5.00", "10.00", "12.25", "20.00"))),
                draw(st.sampled_from((None, "75.00", "150.00", "200.00"))),
            )
    people = [
        b.person(
            f"P{n}",
            draw(st.sampled_from(sorted(ROLES))),
            draw(st.sampled_from(TYPES)),
            skills=tuple(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
            always=draw(st.integers(0, 4)) == 0,
            active=draw(st.integers(0, 9)) > 0,
            anonymised=draw(st.integers(0, 19)) == 0,
        )
        for n in range(draw(st.integers(0, 10)))
    ]
    events = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.sampled_from((time(1), time(6), time(17, 30), time(22))))
        length = draw(st.sampled_from((None, 2, 5, 8, 10)))
        end = None if length is None else time((start.hour + length) % 24, start.minute)
        needed = draw(st.integers(1, 4))
        areas = []
        for _ in range(draw(st.integers(0, 3))):
            capacity = draw(st.integers(1, 4))
            requirements: dict[str, int] = {}
            for role in draw(st.sets(st.sampled_from(sorted(ROLES)))):
                left = capacity - sum(requirements.values())
                if left:
                    requirements[role] = draw(st.integers(1, left))
            skills = tuple(draw(st.sets(st.sampled_from(SKILLS), max_size=2)))
            areas.append((capacity, requirements, skills, draw(st.integers(0, 6)) > 0))
        events.append(
            b.event(
                DAY + timedelta(days=draw(st.sampled_from(OFFSETS))),
                start,
                end,
                next_day=end is not None and end <= start,
                rate=draw(st.sampled_from(("0.00", "12.50", "15.00", "30.00"))),
                needed=needed,
                to_ask=needed + draw(st.integers(0, 3)),
                areas=tuple(areas),
            )
        )
    booked: dict[int, int] = {}
    for event_id in events:
        for employee_id in draw(st.lists(st.sampled_from(people), unique=True)) if people else []:
            status = draw(st.sampled_from(STATUSES))
            if status in ("accepted", "completed"):
                if booked.get(event_id, 0) >= b.world.events[event_id].employees_needed:
                    status = "declined"  # the database refuses more acceptances than needed
                else:
                    booked[event_id] = booked.get(event_id, 0) + 1
            b.invite(event_id, employee_id, status)
            if status in ("accepted", "completed") and draw(st.booleans()):
                b.log(event_id, employee_id, draw(st.sampled_from(("2.00", "4.50", "7.75", "10.00"))))
    for employee_id in people:
        if draw(st.integers(0, 3)) == 0:
            starts = DAY + timedelta(days=draw(st.integers(-3, 1)))
            b.absent(employee_id, starts, starts + timedelta(days=draw(st.integers(0, 2))))
    return b


@contextmanager
def rolled_back() -> Iterator[None]:
    """One hypothesis example's rows, gone afterwards (a savepoint rolled back)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def test_the_mirror_holds_what_the_database_holds() -> None:
    b = Builder()
    ann = b.person("Ann", skills=("wine",))
    past = b.event(day=DAY - timedelta(days=10))
    b.invite(past, ann, "completed")
    b.log(past, ann, "5.25")
    assert WorkLog.objects.get(employee_id=ann).hours == Decimal("5.25")
    assert Invitation.objects.get(employee_id=ann).status == "completed"
    assert b.world.logged[ann] == {past: Decimal("5.25")}
    assert b.world.people[ann].skills == frozenset({b.skills["wine"].pk})
