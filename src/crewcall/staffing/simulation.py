"""The fairness simulation: one season, the picker against asking at random and by favourites.

Each strategy staffs the same agency (an `Agency`, built by the caller: crewcall.dev's
simulation_agency for `crewcall simulate_season`) day by day: a first wave goes
out 10-21 days before each event, people answer (yes with their own probability, the
same answer for the same person and event under every strategy), the first to answer yes
take the places and later yeses go to the waiting list (as staffing.answers does: first
come, first served; the order replies come back in is the person's own, the same under
every strategy, not the ranking), more waves follow while places stay empty, and the
day after an event its hours are logged (planned duration minus the legal break). The
strategies differ only in the order candidates are taken in; eligibility (absences,
overlapping events, roles and skills, monthly caps) and the split across roles are the
picker's own, through the in-memory finder that a test proves identical to the SQL picker:

- picker: the fair order (always-needed, least hours in 90 days, longest since last
  worked, per-event tie-break), counting hours as the shipped picker does
  (query.COUNT_BOOKED_HOURS);
- picker_alt: the same with the other setting of COUNT_BOOKED_HOURS (a what-if: with
  or without the hours of shifts accepted but not worked yet);
- random: always-needed first, then a fresh random order per event;
- favourites: always-needed first, then the same fixed list every time.

Fairness is the Gini coefficient of season hours among comparable employees: the same
employment type and role, not always-needed (they are asked first by design). Each group
gets its own Gini; the figure is their average weighted by group size. Cap violations are
counted afterwards, independently, from the logged hours: (employee, month) pairs over
the hours or earnings cap of their employment type.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crewcall.staffing.models import InvitationStatus
from crewcall.staffing.picker import reference
from crewcall.staffing.picker.query import COUNT_BOOKED_HOURS
from crewcall.staffing.picker.rules import OrderKey, fair_order

STRATEGIES = ("picker", "picker_alt", "random", "favourites")
MAX_WAVES = 4
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Behaviour:
    """How a person answers: the chance they say yes when asked."""

    acceptance: float


@dataclass(frozen=True)
class PlannedEvent:
    spec: reference.EventSpec
    ask_on: date  # the first wave goes out this day
    kind: str


@dataclass
class Agency:
    """What a season is run on: the people and events, how each person answers, the season."""

    world: reference.World
    behaviour: dict[int, Behaviour]
    events: list[PlannedEvent]
    season: tuple[date, date]


def gini(values: Iterable[float]) -> float:
    """0 when everyone has the same, towards 1 when one has everything."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    ranked = sum(i * x for i, x in enumerate(xs, start=1))
    return (2 * ranked) / (n * total) - (n + 1) / n


def comparable_gini(hours: dict[int, float], world: reference.World) -> tuple[float, int]:
    """Average Gini over groups of the same employment type and role (always-needed
    left out), weighted by group size; and the number of groups."""
    groups: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for person in world.people.values():
        if not person.always_needed:
            groups[(person.employment_type, person.role_key)].append(hours.get(person.id, 0.0))
    sized = [members for members in groups.values() if len(members) >= 2]
    people = sum(len(m) for m in sized)
    if not people:
        return 0.0, 0
    return sum(gini(m) * len(m) for m in sized) / people, len(sized)


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for these parts (same on every run)."""
    digest = hashlib.blake2b("-".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def counts_booked(strategy: str) -> bool:
    return COUNT_BOOKED_HOURS if strategy == "picker" else not COUNT_BOOKED_HOURS


def order_for(strategy: str, event_id: int, seed: int) -> OrderKey:
    if strategy in ("picker", "picker_alt"):
        return fair_order(event_id)
    if strategy == "random":
        return lambda c: (not c.always_needed, _unit(seed, "random", event_id, c.employee_id))
    if strategy == "favourites":
        return lambda c: (not c.always_needed, _unit(seed, "favourite", c.employee_id))
    raise ValueError(f"unknown strategy {strategy!r}")


def break_hours(hours: Decimal) -> Decimal:
    """The German working-time act: 30 minutes beyond six hours, 45 beyond nine."""
    if hours > 9:
        return Decimal("0.75")
    return Decimal("0.50") if hours > 6 else Decimal(0)


@dataclass
class Outcome:
    strategy: str
    hours: dict[int, float]
    places: int
    filled: int
    invitations: int
    waves: int
    cap_violations: int
    gini: float
    groups: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "gini": round(self.gini, 4),
            "groups": self.groups,
            "places": self.places,
            "filled": self.filled,
            "invitations": self.invitations,
            "waves": self.waves,
            "cap_violations": self.cap_violations,
        }


def cap_violations(world: reference.World) -> int:
    """(employee, month) pairs whose logged hours or earnings exceed their type's caps."""
    hours: defaultdict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
    earnings: defaultdict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
    for employee_id, logged in world.logged.items():
        for event_id, worked in logged.items():
            event = world.events[event_id]
            key = (employee_id, event.shift.day.year, event.shift.day.month)
            hours[key] += worked
            earnings[key] += worked * event.rate
    over = 0
    for key in hours:
        hours_cap, earnings_cap = world.limits.get(world.people[key[0]].employment_type, (None, None))
        over += (hours_cap is not None and hours[key] > hours_cap) or (
            earnings_cap is not None and earnings[key] > earnings_cap
        )
    return over


class Season:
    """One strategy's run through the season, on its own copy of the agency."""

    def __init__(self, agency: Agency, strategy: str, seed: int) -> None:
        self.agency = agency
        self.world = agency.world
        self.strategy = strategy
        self.seed = seed
        self.invitations = 0
        self.waves = 0
        self.day = min(p.ask_on for p in agency.events)
        # Only the picker's what-if differs here; the baselines order without hours.
        self.count_booked = counts_booked(strategy) if strategy.startswith("picker") else COUNT_BOOKED_HOURS

    def says_yes(self, event_id: int, employee_id: int) -> bool:
        # The same person gives the same answer to the same event under every strategy.
        chance = self.agency.behaviour[employee_id].acceptance
        return _unit(self.seed, "answer", event_id, employee_id) < chance

    def replies_at(self, event_id: int, employee_id: int) -> float:
        # A wave's invitations go out together; who answers first is up to the people, not
        # the ranking. The same person replies at the same point for the same event under
        # every strategy.
        return _unit(self.seed, "reply", event_id, employee_id)

    def recruit(self, event_id: int, today: date) -> None:
        world = self.world
        needed = world.events[event_id].employees_needed
        order = order_for(self.strategy, event_id, self.seed)
        for _ in range(MAX_WAVES):
            accepted = sum(s == InvitationStatus.ACCEPTED for s in world.invitations[event_id].values())
            if accepted >= needed:
                return
            picks = reference.pick(
                world, event_id=event_id, today=today, key=order, count_booked=self.count_booked
            )
            if not picks:
                return
            self.waves += 1
            self.invitations += len(picks)
            # Answers arrive in the order people reply; the first yeses take the places
            # (staffing.answers: first come, first served), later ones wait.
            for pick in sorted(picks, key=lambda p: self.replies_at(event_id, p.employee_id)):
                yes = self.says_yes(event_id, pick.employee_id)
                if yes and accepted < needed:
                    status, accepted = InvitationStatus.ACCEPTED, accepted + 1
                else:
                    status = InvitationStatus.WAITLISTED if yes else InvitationStatus.DECLINED
                world.set_status(event_id, pick.employee_id, status)

    def complete(self, event_id: int) -> None:
        event = self.world.events[event_id]
        planned = event.shift.expected_hours
        worked = (planned - break_hours(planned)).quantize(CENT, rounding=ROUND_HALF_UP)
        for employee_id, status in list(self.world.invitations[event_id].items()):
            if status == InvitationStatus.ACCEPTED:
                self.world.set_status(event_id, employee_id, InvitationStatus.COMPLETED)
                self.world.log(event_id, employee_id, worked)

    def advance(self, *, until: date | None = None) -> date:
        """Live the season day by day (up to, not including, `until`): each morning, log
        yesterday's events, then ask for the events whose asking starts today. Returns the
        first day not lived yet."""
        end = self.agency.season[1] + timedelta(days=2)
        if until is not None:
            end = min(end, until)
        by_ask: defaultdict[date, list[int]] = defaultdict(list)
        by_day: defaultdict[date, list[int]] = defaultdict(list)
        for planned in self.agency.events:
            by_ask[planned.ask_on].append(planned.spec.id)
            by_day[planned.spec.shift.day].append(planned.spec.id)
        while self.day < end:
            for event_id in by_day.get(self.day - timedelta(days=1), []):
                self.complete(event_id)
            for event_id in sorted(by_ask.get(self.day, [])):
                self.recruit(event_id, today=self.day)
            self.day += timedelta(days=1)
        return self.day

    def run(self) -> Outcome:
        self.advance()
        hours: defaultdict[int, float] = defaultdict(float)
        for employee_id, logged in self.world.logged.items():
            hours[employee_id] = float(sum(logged.values()))
        places = sum(p.spec.employees_needed for p in self.agency.events)
        filled = sum(len(logged) for logged in self.world.logged.values())
        value, groups = comparable_gini(hours, self.world)
        return Outcome(
            strategy=self.strategy,
            hours=dict(hours),
            places=places,
            filled=filled,
            invitations=self.invitations,
            waves=self.waves,
            cap_violations=cap_violations(self.world),
            gini=value,
            groups=groups,
        )


def simulate_season(
    *, build: Callable[..., Agency], seed: int = 2026, strategies: Iterable[str] = STRATEGIES
) -> dict[str, Outcome]:
    """Every strategy on its own fresh copy of the same agency, `build(seed=seed)`."""
    return {name: Season(build(seed=seed), name, seed).run() for name in strategies}


TARGET_VS_RANDOM = 0.20
TARGET_VS_FAVOURITES = 0.10


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def describe(strategy: str) -> str:
    if strategy.startswith("picker"):
        hours = "work log + booked shifts" if counts_booked(strategy) else "work log only"
        return f"picker ({hours}{', as shipped' if strategy == 'picker' else ', what-if'})"
    return strategy


def report(outcomes: dict[str, Outcome], *, seed: int) -> dict[str, Any]:
    """The --json object: each strategy's Gini, the cap violations, the details."""
    random_gini, favourites_gini = outcomes["random"].gini, outcomes["favourites"].gini

    def versus(name: str) -> dict[str, Any]:
        vs_random = _ratio(outcomes[name].gini, random_gini)
        vs_favourites = _ratio(outcomes[name].gini, favourites_gini)
        met = (
            vs_random is not None
            and vs_favourites is not None
            and vs_random <= TARGET_VS_RANDOM
            and vs_favourites <= TARGET_VS_FAVOURITES
            and outcomes[name].cap_violations == 0
        )
        return {"vs_random": vs_random, "vs_favourites": vs_favourites, "target_met": met}

    return {
        "picker": round(outcomes["picker"].gini, 4),
        "random": round(random_gini, 4),
        "favourites": round(favourites_gini, 4),
        "cap_violations": {name: o.cap_violations for name, o in outcomes.items()},
        "picker_alt": round(outcomes["picker_alt"].gini, 4),
        "counts_booked_hours": {"picker": counts_booked("picker"), "picker_alt": counts_booked("picker_alt")},
        "target": {"vs_random": TARGET_VS_RANDOM, "vs_favourites": TARGET_VS_FAVOURITES},
        "picker_vs": versus("picker"),
        "picker_alt_vs": versus("picker_alt"),
        "seed": seed,
        "details": {name: {"label": describe(name), **o.as_dict()} for name, o in outcomes.items()},
    }


__all__ = [
    "Agency",
    "Behaviour",
    "Outcome",
    "PlannedEvent",
    "comparable_gini",
    "describe",
    "gini",
    "report",
    "simulate_season",
]
