"""Properties of the SQL picker on random small agencies (hypothesis).

The rules are restated here the plain way (loops over the world's facts, no indexes, no
shared code with the picker beyond the data), so a bug in the picker's rules is not
repeated by the check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crewcall.staffing.picker import pick_candidates
from crewcall.staffing.picker.query import COUNT_BOOKED_HOURS, preview
from crewcall.staffing.picker.reference import Person, World
from crewcall.staffing.picker.rules import Choice
from crewcall.staffing.tests.test_picker_world import DAY, rolled_back, worlds

pytestmark = pytest.mark.django_db

TODAY = DAY - timedelta(days=12)
COUNTS = (None, 1, 3, 8)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    database=None,  # no .hypothesis folder in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def examples(data: st.DataObject) -> Iterator[tuple[World, int]]:
    """(world, event) for every event of one random world, inside a rolled-back savepoint."""
    with rolled_back():
        world = data.draw(worlds()).world
        for event_id in world.events:
            yield world, event_id


def month_load(world: World, person: Person, event_id: int) -> tuple[Decimal, Decimal]:
    event = world.events[event_id]
    hours = earnings = Decimal(0)
    for other in world.events.values():
        same_month = (other.shift.day.year, other.shift.day.month) == (
            event.shift.day.year,
            event.shift.day.month,
        )
        if other.id == event_id or not same_month:
            continue
        if other.id in world.logged[person.id]:
            worked = world.logged[person.id][other.id]
        elif world.invitations[other.id].get(person.id) == "accepted":
            worked = other.shift.expected_hours
        else:
            continue
        hours += worked
        earnings += worked * other.rate
    return hours, earnings


def under_caps(world: World, person: Person, event_id: int) -> bool:
    event = world.events[event_id]
    hours_cap, earnings_cap = world.limits.get(person.employment_type, (None, None))
    hours, earnings = month_load(world, person, event_id)
    planned = event.shift.expected_hours
    return (hours_cap is None or hours + planned <= hours_cap) and (
        earnings_cap is None or earnings + planned * event.rate <= earnings_cap
    )


def fits(world: World, person: Person, event_id: int) -> list[int]:
    """Ids of the active areas the person fits."""
    return [
        spec.area.id
        for spec in world.events[event_id].areas
        if spec.active
        and (not spec.area.requirements or person.role_key in spec.area.requirements)
        and spec.area.skills <= person.skills
    ]


def eligible(world: World, person: Person, event_id: int) -> bool:
    event = world.events[event_id]
    day = event.shift.day
    if not person.active or person.anonymised or not person.has_phone:
        return False
    if person.id in world.invitations[event_id]:
        return False
    if any(start <= day <= end for start, end in world.absences[person.id]):
        return False
    for other in world.events.values():
        status = world.invitations[other.id].get(person.id)
        if other.id != event_id and status in ("accepted", "completed") and other.shift.overlaps(event.shift):
            return False
    if any(spec.active for spec in event.areas) and not fits(world, person, event_id):
        return False
    return under_caps(world, person, event_id)


def could_cover(world: World, person: Person, event_id: int, choice: Choice) -> bool:
    """Could this eligible person have taken the place this choice covers?"""
    if choice.cover != "role":
        return True  # filled from the best remaining of any fitting role
    role = choice.candidate.role_key
    listed = {s.area.id for s in world.events[event_id].areas if s.active and role in s.area.requirements}
    return person.role_key == role and bool(listed & set(fits(world, person, event_id)))


def left_out_before(
    world: World, event_id: int, choices: list[Choice], better: Callable[[Person, Choice], bool]
) -> list[tuple[int, int]]:
    """(left out, picked) pairs where the one left out was better placed for the pick's place."""
    picked = {ch.candidate.employee_id for ch in choices}
    return [
        (person.id, ch.candidate.employee_id)
        for ch in choices
        for person in world.people.values()
        if person.id not in picked
        and eligible(world, person, event_id)
        and could_cover(world, person, event_id, ch)
        and better(person, ch)
    ]


@PROPERTY
@given(data=st.data())
def test_never_picks_an_ineligible_employee(data: st.DataObject) -> None:
    for world, event_id in examples(data):
        for count in COUNTS:
            for pick in pick_candidates(event_id=event_id, count=count, today=TODAY):
                assert eligible(world, world.people[pick.employee_id], event_id), pick


@PROPERTY
@given(data=st.data())
def test_never_exceeds_a_cap(data: st.DataObject) -> None:
    for world, event_id in examples(data):
        for pick in pick_candidates(event_id=event_id, count=8, today=TODAY):
            assert under_caps(world, world.people[pick.employee_id], event_id), pick


@PROPERTY
@given(data=st.data())
def test_always_needed_come_first(data: st.DataObject) -> None:
    for world, event_id in examples(data):
        for count in COUNTS:
            _, choices, _ = preview(event_id=event_id, count=count)
            flags = [ch.candidate.always_needed for ch in choices]
            assert flags == sorted(flags, reverse=True)  # ranks: always-needed before the rest
            passed_over = left_out_before(
                world, event_id, choices, lambda p, ch: p.always_needed and not ch.candidate.always_needed
            )
            assert passed_over == []


def ranks_ahead(world: World, people: dict[int, Person], event_id: int) -> Callable[[Person, Choice], bool]:
    """Whether a person stands ahead of the one a choice picked (values bound here)."""

    def ahead(person: Person, choice: Choice) -> bool:
        return standing(world, person, event_id) < standing(
            world, people[choice.candidate.employee_id], event_id
        )

    return ahead


def standing(world: World, person: Person, event_id: int) -> tuple[bool, Decimal, date, str, int]:
    """Where the person stands for this event, worked out from the work log (and, as
    shipped, the planned hours of accepted shifts not logged yet) directly."""
    day = world.events[event_id].shift.day
    since = day - timedelta(days=90)
    worked = [(world.events[e].shift.day, h) for e, h in world.logged[person.id].items()]
    before = [(d, h) for d, h in worked if d < day]
    window = sum((h for d, h in before if d >= since), Decimal(0))
    if COUNT_BOOKED_HOURS:
        logged = world.logged[person.id]
        for other_id, status in world.invited.get(person.id, {}).items():
            other = world.events[other_id]
            if (
                status == "accepted"
                and other_id not in logged
                and other_id != event_id
                and other.shift.day >= since
            ):
                window += other.shift.expected_hours
    last = max((d for d, _ in before), default=date.min)
    shuffle = hashlib.md5(f"{event_id}-{person.id}".encode(), usedforsecurity=False).hexdigest()
    return (not person.always_needed, window, last, shuffle, person.id)


@PROPERTY
@given(data=st.data())
def test_nobody_better_placed_is_passed_over(data: st.DataObject) -> None:
    """Least hours in 90 days first, then longest since last worked, then the tie-break:
    nobody left out could have covered a pick's place and stands before it."""
    for world, event_id in examples(data):
        for count in (1, 3):
            _, choices, _ = preview(event_id=event_id, count=count)
            people = world.people
            passed_over = left_out_before(
                world,
                event_id,
                choices,
                ranks_ahead(world, people, event_id),
            )
            assert passed_over == []


@PROPERTY
@given(data=st.data())
def test_the_same_input_gives_the_same_picks(data: st.DataObject) -> None:
    for _, event_id in examples(data):
        for count in COUNTS:
            first = pick_candidates(event_id=event_id, count=count, today=TODAY)
            assert first == pick_candidates(event_id=event_id, count=count, today=TODAY)
            assert [p.rank for p in first] == list(range(1, len(first) + 1))


@PROPERTY
@given(data=st.data())
def test_fills_the_count_when_enough_candidates_exist(data: st.DataObject) -> None:
    for world, event_id in examples(data):
        available = sum(eligible(world, p, event_id) for p in world.people.values())
        for count in (1, 3, 8):
            picks = pick_candidates(event_id=event_id, count=count, today=TODAY)
            assert len(picks) == min(count, available)
            assert len({p.employee_id for p in picks}) == len(picks)


@PROPERTY
@given(data=st.data())
def test_covers_the_roles_in_proportion(data: st.DataObject) -> None:
    """Each role gets its exact share of `count` rounded down or up, as long as it has the
    candidates (places still unfilled per role decide the shares)."""
    for world, event_id in examples(data):
        active = [s.area for s in world.events[event_id].areas if s.active]
        required: dict[str, int] = {}
        for area in active:
            for role, n in area.requirements.items():
                required[role] = required.get(role, 0) + n
        holding: dict[str, int] = {}
        for employee_id, status in world.invitations[event_id].items():
            if status in ("asked", "waitlisted", "accepted"):
                role = world.people[employee_id].role_key
                holding[role] = holding.get(role, 0) + 1
        unfilled = {role: max(0, n - holding.get(role, 0)) for role, n in required.items()}
        spilled = sum(max(0, n - required.get(role, 0)) for role, n in holding.items())
        open_places = max(0, sum(a.capacity - sum(a.requirements.values()) for a in active) - spilled)
        total = sum(unfilled.values()) + open_places
        if not active or total == 0:
            continue
        for count in (3, 8):
            _, choices, _ = preview(event_id=event_id, count=count)
            for role, n in unfilled.items():
                got = sum(1 for ch in choices if ch.cover == "role" and ch.candidate.role_key == role)
                exact = Decimal(count * n) / total
                supply = sum(
                    1
                    for p in world.people.values()
                    if p.role_key == role
                    and eligible(world, p, event_id)
                    and any(role in a.requirements and a.id in fits(world, p, event_id) for a in active)
                )
                assert got < exact + 1 and (got > exact - 1 or got == supply), (role, got, exact, supply)
