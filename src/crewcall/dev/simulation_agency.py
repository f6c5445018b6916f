"""The agency and the season the fairness simulation runs on (staffing/simulation.py).

The agency of dev/agency.py, scaled: 200 people in its seven roles with the skills their
role usually brings, its four employment types under its caps, a few always-needed
regulars, absences, and 150 events over a summer season made from five kinds of event,
several on one day at weekends. Everything comes from one random.Random(seed), so a seed
gives the same agency every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from crewcall.dev import agency
from crewcall.staffing.picker.reference import AreaSpec, EventSpec, Person, World
from crewcall.staffing.picker.rules import Area, Shift
from crewcall.staffing.simulation import Agency, Behaviour, PlannedEvent

# Sommelier is left out: no event of the season asks for it, and drawing it would change
# every seed's published figures (docs/fairness.md).
SKILLS = tuple(key for key in agency.SKILLS if key != "sommelier")
SKILL_ID = {key: n for n, key in enumerate(SKILLS, start=1)}
LIMITS: dict[str, tuple[Decimal | None, Decimal | None]] = {
    kind: (None if hours is None else Decimal(hours), None if earnings is None else Decimal(earnings))
    for kind, (hours, earnings) in agency.LIMITS.items()
}
ALWAYS_NEEDED = 6

# (name, capacity, role requirements, required skills)
AreaPlan = tuple[str, int, dict[str, int], tuple[str, ...]]


@dataclass(frozen=True)
class Kind:
    title: str
    start: time
    end: time | None
    rate: str
    weekend: bool  # mostly on Fridays and Saturdays
    areas: tuple[AreaPlan, ...]


KINDS = (
    Kind("Wedding", time(15), time(1), "16.50", True, (
        ("Service", 8, {"waiter": 7, "lead": 1}, ()),
        ("Wine service", 1, {"waiter": 1}, ("wine",)),
        ("Bar", 3, {"bartender": 3}, ()),
        ("Kitchen", 3, {"cook": 2, "runner": 1}, ()),
    )),
    Kind("Corporate dinner", time(18), time(23, 30), "17.00", False, (
        ("Service", 6, {"waiter": 5, "lead": 1}, ()),
        ("Bar", 2, {"bartender": 2}, ()),
        ("Entrance", 2, {"host": 2}, ("english",)),
    )),
    Kind("Festival bar", time(14), time(1), "15.00", True, (
        ("Main bar", 8, {"bartender": 6, "runner": 2}, ()),
        ("Cocktail bar", 3, {"bartender": 3}, ("cocktails",)),
        ("Coffee truck", 2, {"barista": 2}, ("coffee",)),
        ("Storage", 2, {"runner": 2}, ("forklift",)),
    )),
    Kind("Conference catering", time(7, 30), time(17), "15.50", False, (
        ("Coffee station", 3, {"barista": 3}, ()),
        ("Lunch buffet", 6, {"waiter": 4, "cook": 2}, ()),
        ("Registration", 2, {"host": 2}, ("english",)),
    )),
    Kind("Gallery opening", time(19), None, "16.00", False, (
        ("Bar", 3, {"bartender": 2}, ()),
        ("Floor", 4, {"waiter": 3}, ()),
    )),
)  # fmt: skip


def _people(rng: random.Random, world: World, count: int) -> dict[int, Behaviour]:
    behaviour: dict[int, Behaviour] = {}
    plans = []
    for pk in range(1, count + 1):
        role = agency.weighted_choice(rng, agency.ROLE_WEIGHTS)
        chances = agency.ROLE_SKILLS[role].items()
        skills = frozenset(SKILL_ID[s] for s, chance in chances if s in SKILL_ID and rng.random() < chance)
        plans.append((pk, role, skills, agency.weighted_choice(rng, agency.EMPLOYMENT_WEIGHTS)))
        # Most say yes more often than not; some are students who rarely can.
        behaviour[pk] = Behaviour(acceptance=min(0.95, max(0.1, rng.betavariate(4, 2))))
    core = [p for p in plans if agency.may_be_always_needed(role=p[1], employment_type=p[3])]
    always = {p[0] for p in rng.sample(core, min(ALWAYS_NEEDED, len(core)))}
    for pk, role, skills, kind in plans:
        world.add_person(
            Person(
                id=pk,
                name=f"Person {pk:03d}",
                role_key=role,
                employment_type=kind,
                skills=skills,
                always_needed=pk in always,
            )
        )
        if pk in always:
            behaviour[pk] = Behaviour(acceptance=0.9)  # regulars rarely say no
    return behaviour


def _absences(rng: random.Random, world: World, first: date, last: date) -> None:
    days = (last - first).days
    for pk in sorted(world.people):
        if rng.random() >= 0.3:
            continue
        start = first + timedelta(days=rng.randrange(days))
        for _ in range(rng.randint(1, 2)):
            end = start + timedelta(days=rng.randint(2, 14))
            world.absent(pk, start, end)
            start = end + timedelta(days=rng.randint(14, 40))


def _events(rng: random.Random, world: World, first: date, last: date, count: int) -> list[PlannedEvent]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    planned: list[PlannedEvent] = []
    area_id = 0
    for pk in range(1, count + 1):
        kind = rng.choice(KINDS)
        # Weekend kinds fall on Friday or Saturday three times in four.
        pool = [d for d in days if d.weekday() in (4, 5)] if kind.weekend and rng.random() < 0.75 else days
        day = rng.choice(pool)
        areas = []
        for position, (name, capacity, requirements, skills) in enumerate(kind.areas):
            area_id += 1
            area = Area(
                id=area_id,
                name=name,
                capacity=capacity,
                requirements=dict(requirements),
                skills=frozenset(SKILL_ID[s] for s in skills),
            )
            areas.append(AreaSpec(area=area, position=position))
        needed = sum(sum(a.area.requirements.values()) for a in areas)
        night = kind.end is not None and kind.end <= kind.start
        spec = EventSpec(
            id=pk,
            shift=Shift(day=day, start=kind.start, end=kind.end, next_day=night),
            rate=Decimal(kind.rate),
            employees_needed=needed,
            employees_to_ask=round(needed * 1.3),  # ask a third more: some say no
            areas=tuple(areas),
        )
        world.add_event(spec)
        ask_on = day - timedelta(days=rng.randint(10, 21))  # the first wave, two or three weeks ahead
        planned.append(PlannedEvent(spec=spec, ask_on=ask_on, kind=kind.title))
    return planned


def build_agency(*, seed: int, employees: int = 200, events: int = 150) -> Agency:
    rng = random.Random(seed)  # noqa: S311 - a simulation, not security
    # A summer season of 92 days: about the 90-day window the picker compares hours over.
    first = date(2031, 6, 1)
    last = date(2031, 8, 31)
    world = World(roles={key: agency.ROLES[key] for key in agency.ROLE_WEIGHTS}, limits=dict(LIMITS))
    behaviour = _people(rng, world, employees)
    _absences(rng, world, first, last)
    planned = _events(rng, world, first, last, events)
    return Agency(world=world, behaviour=behaviour, events=planned, season=(first, last))
