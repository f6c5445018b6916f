"""The picker in memory: the same rules as the SQL, over plain Python objects.

The season simulation asks thousands of times over a changing world; running that
through PostgreSQL would need a scratch database and minutes. This finder computes the
eligible candidates and their figures the way `picker.sql` does, then hands them to the
same `rules.choose`. `test_picker_reference.py` loads random worlds into PostgreSQL and
proves both finders return identical picks (and reasons) for every event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from crewcall.staffing.models import InvitationStatus
from crewcall.staffing.picker.reasons import to_picks
from crewcall.staffing.picker.rules import (
    BOOKED_STATUSES,
    OPEN_STATUSES,
    WINDOW_DAYS,
    Area,
    Candidate,
    Choice,
    OrderKey,
    Pick,
    Shift,
    Situation,
    choose,
    month_bounds,
)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role_key: str
    employment_type: str
    skills: frozenset[int] = frozenset()
    always_needed: bool = False
    active: bool = True
    anonymised: bool = False
    has_phone: bool = True


@dataclass(frozen=True)
class AreaSpec:
    area: Area
    active: bool = True
    position: int = 0


@dataclass(frozen=True)
class EventSpec:
    id: int
    shift: Shift
    rate: Decimal
    employees_to_ask: int
    employees_needed: int
    areas: tuple[AreaSpec, ...] = ()


Caps = tuple[Decimal | None, Decimal | None]  # monthly hours cap, monthly earnings cap


@dataclass
class World:
    """Everything the picker reads, indexed for the questions it asks."""

    roles: dict[str, str]  # key -> name
    limits: dict[str, Caps] = field(default_factory=dict)  # employment type -> caps
    people: dict[int, Person] = field(default_factory=dict)
    events: dict[int, EventSpec] = field(default_factory=dict)
    # event -> employee -> status, and the same by employee
    invitations: defaultdict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    invited: defaultdict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    # employee -> event -> hours worked (the work log)
    logged: defaultdict[int, dict[int, Decimal]] = field(default_factory=lambda: defaultdict(dict))
    absences: defaultdict[int, list[tuple[date, date]]] = field(default_factory=lambda: defaultdict(list))
    # employee -> event date -> events they are booked for (accepted or completed)
    booked: defaultdict[int, defaultdict[date, set[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def add_person(self, person: Person) -> None:
        self.people[person.id] = person

    def add_event(self, event: EventSpec) -> None:
        self.events[event.id] = event

    def absent(self, employee_id: int, starts_on: date, ends_on: date) -> None:
        self.absences[employee_id].append((starts_on, ends_on))

    def set_status(self, event_id: int, employee_id: int, status: str) -> None:
        """Invite (first status) or record a new status."""
        day = self.events[event_id].shift.day
        self.invitations[event_id][employee_id] = status
        self.invited[employee_id][event_id] = status
        if status in BOOKED_STATUSES:
            self.booked[employee_id][day].add(event_id)
        else:
            self.booked[employee_id][day].discard(event_id)

    def log(self, event_id: int, employee_id: int, hours: Decimal) -> None:
        self.logged[employee_id][event_id] = hours


def situation(world: World, event_id: int) -> Situation:
    event = world.events[event_id]
    open_by_role: dict[str, int] = defaultdict(int)
    for employee_id, status in world.invitations[event_id].items():
        if status in OPEN_STATUSES:
            open_by_role[world.people[employee_id].role_key] += 1
    areas = sorted((a for a in event.areas if a.active), key=lambda a: (a.position, a.area.id))
    return Situation(
        event_id=event_id,
        shift=event.shift,
        employees_to_ask=event.employees_to_ask,
        areas=tuple(a.area for a in areas),
        open_by_role=dict(open_by_role),
        role_names=world.roles,
    )


def _month_load(world: World, person: Person, event: EventSpec) -> tuple[Decimal, Decimal]:
    """Hours and earnings in the event's month: logged, plus planned for accepted
    events without a log yet (this event itself excluded)."""
    first, following = month_bounds(event.shift.day)
    hours = earnings = Decimal(0)
    logged = world.logged.get(person.id, {})
    seen: set[int] = set()
    for other_id, worked in logged.items():
        other = world.events[other_id]
        if other_id != event.id and first <= other.shift.day < following:
            hours += worked
            earnings += worked * other.rate
        seen.add(other_id)
    for other_id, status in world.invited.get(person.id, {}).items():
        other = world.events[other_id]
        if status != InvitationStatus.ACCEPTED or other_id == event.id or other_id in seen:
            continue
        if first <= other.shift.day < following:
            planned = other.shift.expected_hours
            hours += planned
            earnings += planned * other.rate
    return hours, earnings


def _under_caps(world: World, person: Person, event: EventSpec) -> bool:
    hours_cap, earnings_cap = world.limits.get(person.employment_type, (None, None))
    if hours_cap is None and earnings_cap is None:
        return True
    hours, earnings = _month_load(world, person, event)
    planned = event.shift.expected_hours
    if hours_cap is not None and hours + planned > hours_cap:
        return False
    return earnings_cap is None or earnings + planned * event.rate <= earnings_cap


def _booked_elsewhere(world: World, person: Person, event: EventSpec) -> bool:
    by_day = world.booked.get(person.id)
    if not by_day:
        return False
    for offset in (-1, 0, 1):
        for other_id in by_day.get(event.shift.day + timedelta(days=offset), ()):
            if other_id != event.id and world.events[other_id].shift.overlaps(event.shift):
                return True
    return False


def _worked(
    world: World, person: Person, event: EventSpec, count_booked: bool
) -> tuple[Decimal, date | None]:
    """Hours in the window before the event and the last day worked before it; with
    count_booked, plus the planned hours of accepted shifts not logged yet, dated from
    the window's start on (this event aside)."""
    since = event.shift.day - timedelta(days=WINDOW_DAYS)
    hours = Decimal(0)
    last: date | None = None
    for other_id, worked in world.logged.get(person.id, {}).items():
        day = world.events[other_id].shift.day
        if day >= event.shift.day:
            continue
        if day >= since:
            hours += worked
        if last is None or day > last:
            last = day
    if count_booked:
        logged = world.logged.get(person.id, {})
        for other_id, status in world.invited.get(person.id, {}).items():
            other = world.events[other_id]
            unlogged = status == InvitationStatus.ACCEPTED and other_id not in logged and other_id != event.id
            if unlogged and other.shift.day >= since:
                hours += other.shift.expected_hours
    return hours, last


def candidates(
    world: World, event_id: int, here: Situation | None = None, *, count_booked: bool = False
) -> list[Candidate]:
    """Every eligible employee with their figures (unordered)."""
    event = world.events[event_id]
    areas = (here or situation(world, event_id)).areas
    invited = world.invitations.get(event_id, {})
    day = event.shift.day
    found: list[Candidate] = []
    for person in world.people.values():
        if not person.active or person.anonymised or not person.has_phone or person.id in invited:
            continue
        fits = tuple(a.id for a in areas if a.fits(person.role_key, person.skills))
        if areas and not fits:
            continue
        if any(start <= day <= end for start, end in world.absences.get(person.id, ())):
            continue
        if _booked_elsewhere(world, person, event) or not _under_caps(world, person, event):
            continue
        hours, last = _worked(world, person, event, count_booked)
        found.append(
            Candidate(
                employee_id=person.id,
                name=person.name,
                role_key=person.role_key,
                always_needed=person.always_needed,
                window_hours=hours,
                last_worked=last,
                area_ids=fits,
            )
        )
    return found


def preview(
    world: World,
    *,
    event_id: int,
    count: int | None = None,
    key: OrderKey | None = None,
    count_booked: bool = False,
) -> tuple[Situation, list[Choice], int]:
    here = situation(world, event_id)
    wanted = here.default_count() if count is None else max(0, count)
    if wanted == 0:
        return here, [], 0
    found = candidates(world, event_id, here, count_booked=count_booked)
    return here, choose(here, found, wanted, key=key), wanted


def pick(
    world: World,
    *,
    event_id: int,
    today: date,
    count: int | None = None,
    key: OrderKey | None = None,
    count_booked: bool = False,
) -> list[Pick]:
    """Exactly what `pick_candidates` returns for the same data (with the fair order and
    the same COUNT_BOOKED_HOURS), or the same choice under another order (the
    simulation's baselines)."""
    here, choices, wanted = preview(world, event_id=event_id, count=count, key=key, count_booked=count_booked)
    return to_picks(here, choices, wanted, today=today, with_booked=count_booked)
