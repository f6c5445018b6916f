"""The fair picker's rules that need no database (docs/fairness.md).

Both ways of finding candidates end here: the SQL picker (`picker.query`, fast on a large
pool) and the in-memory reference (`picker.reference`, used by the season simulation).
They differ only in how they find the eligible candidates and their figures; splitting the
places across roles, choosing and ranking is this module (the wording of the reasons is
`picker.reasons`), and tests prove both produce identical picks on the same data.

Times are the agency's local wall-clock times (naive datetimes on purpose): an event's
window, its expected hours and the overlap of two events are read off the clock on the
wall, as the dispatcher planned them, not shifted by a change to summer time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from crewcall.staffing.models import InvitationStatus

ANY = "*"  # the share of places open to any fitting role
WINDOW_DAYS = 90  # hours worked are compared over this many days before the event
OPEN_END_HOURS = Decimal("6.00")  # an event with an open end is expected to last this long
# An invitation still holding a place:
OPEN_STATUSES = (InvitationStatus.ASKED, InvitationStatus.WAITLISTED, InvitationStatus.ACCEPTED)
# Someone who is (or was) working that event:
BOOKED_STATUSES = (InvitationStatus.ACCEPTED, InvitationStatus.COMPLETED)
CENT = Decimal("0.01")
MAX_AREA_NAMES = 3


@dataclass(frozen=True)
class Pick:
    employee_id: int
    employee_name: str
    role_key: str  # the role this pick covers (the employee's primary role)
    reason: str  # plain words: why this person is asked now
    rank: int  # 1-based order


@dataclass(frozen=True)
class Area:
    """An active work area, as far as the picker cares."""

    id: int
    name: str
    capacity: int
    requirements: Mapping[str, int]  # role key -> places reserved for it
    skills: frozenset[int] = frozenset()  # skill ids everyone working here must have

    def fits(self, role_key: str, skills: frozenset[int]) -> bool:
        """A role fits a listed requirement, or any role when none is listed; the
        employee must have every skill the area requires."""
        role_ok = not self.requirements or role_key in self.requirements
        return role_ok and self.skills <= skills


@dataclass(frozen=True)
class Candidate:
    """An eligible employee with the figures the order is made of."""

    employee_id: int
    name: str
    role_key: str
    always_needed: bool
    # work-log hours in the WINDOW_DAYS before the event (+ booked, see query.COUNT_BOOKED_HOURS)
    window_hours: Decimal
    last_worked: date | None  # event date of the last work-log entry before the event
    area_ids: tuple[int, ...]  # the active areas the employee fits, in display order


def tiebreak(event_id: int, employee_id: int) -> int:
    """Deterministic for one event, different from event to event: among equals, the
    same person is not always first. The first 15 hex digits of md5("<event>-<employee>")
    as a number (60 bits: a non-negative bigint in SQL, cheap to sort). md5 only shuffles
    here; it protects nothing."""
    digest = hashlib.md5(f"{event_id}-{employee_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:15], 16)


OrderKey = Callable[[Candidate], Any]


def fair_order(event_id: int) -> OrderKey:
    """Always-needed first, then least hours in the window, then longest since last
    worked (never = longest), then the per-event tie-break; the SQL orders the same way."""

    def key(c: Candidate) -> tuple[bool, Decimal, date, int, int]:
        return (
            not c.always_needed,
            c.window_hours,
            c.last_worked or date.min,
            tiebreak(event_id, c.employee_id),
            c.employee_id,
        )

    return key


@dataclass(frozen=True)
class Shift:
    """When an event happens, on the wall clock."""

    day: date
    start: time
    end: time | None
    next_day: bool

    @property
    def begins(self) -> datetime:
        return datetime.combine(self.day, self.start)

    @property
    def ends(self) -> datetime:
        """An open end runs until the end of the day; a night shift ends the next day."""
        if self.end is None:
            return datetime.combine(self.day + timedelta(days=1), time(0))
        return datetime.combine(self.day + timedelta(days=1 if self.next_day else 0), self.end)

    def overlaps(self, other: Shift) -> bool:
        return self.begins < other.ends and other.begins < self.ends

    @property
    def expected_hours(self) -> Decimal:
        """The planned duration in hours, to the cent of an hour like the work log; an
        open end counts as OPEN_END_HOURS (not until midnight: that would block caps)."""
        if self.end is None:
            return OPEN_END_HOURS
        micros = _micros(self.end) - _micros(self.start) + (86_400_000_000 if self.next_day else 0)
        return (Decimal(micros) / Decimal(3_600_000_000)).quantize(CENT, rounding=ROUND_HALF_UP)


def _micros(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def month_bounds(day: date) -> tuple[date, date]:
    """First day of the month and first day of the next (a half-open range)."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


@dataclass(frozen=True)
class Situation:
    """What an event needs right now: its active areas and who already holds a place."""

    event_id: int
    shift: Shift
    employees_to_ask: int
    areas: tuple[Area, ...]  # active areas, in display order
    open_by_role: Mapping[str, int]  # open invitations by the invitee's primary role
    role_names: Mapping[str, str]
    required: dict[str, int] = field(init=False)
    remaining: dict[str, int] = field(init=False)
    unlisted: int = field(init=False)  # places not reserved for a listed role
    unlisted_remaining: int = field(init=False)

    def __post_init__(self) -> None:
        required: dict[str, int] = {}
        for area in self.areas:
            for role, n in area.requirements.items():
                required[role] = required.get(role, 0) + n
        unlisted = sum(a.capacity - sum(a.requirements.values()) for a in self.areas)
        # An open invitation fills a place of its role first; beyond that (or for a role
        # nobody listed) it takes one of the places open to any role.
        overflow = 0
        remaining: dict[str, int] = {}
        for role, n in self.open_by_role.items():
            overflow += max(0, n - required.get(role, 0))
        for role, n in required.items():
            remaining[role] = max(0, n - self.open_by_role.get(role, 0))
        object.__setattr__(self, "required", required)
        object.__setattr__(self, "remaining", remaining)
        object.__setattr__(self, "unlisted", unlisted)
        object.__setattr__(self, "unlisted_remaining", max(0, unlisted - overflow))

    @property
    def open_count(self) -> int:
        return sum(self.open_by_role.values())

    def default_count(self) -> int:
        """employees_to_ask minus the invitations still open, never negative."""
        return max(0, self.employees_to_ask - self.open_count)

    def weights(self) -> dict[str, int]:
        """How `count` is split: by the places still unfilled per role (and open to any
        role); when every place is held already, by the places in all (asking extra to
        cover declines keeps the same mix); with no active areas, everything is open."""
        if not self.areas:
            return {ANY: 1}
        unfilled = {**self.remaining, ANY: self.unlisted_remaining}
        if any(unfilled.values()):
            return {k: v for k, v in unfilled.items() if v}
        total = {**self.required, ANY: self.unlisted}
        return {k: v for k, v in total.items() if v}

    def listed_areas(self, role_key: str, area_ids: Sequence[int]) -> list[Area]:
        wanted = set(area_ids)
        return [a for a in self.areas if a.id in wanted and role_key in a.requirements]


def split(count: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Largest-remainder apportionment of `count` over `weights`, in whole places: every
    share is the exact proportion rounded down or up, and the shares add up to `count`.
    Ties go to the larger weight, then to listed roles by key, the open share last."""
    total = sum(weights.values())
    if count <= 0 or total <= 0:
        return dict.fromkeys(weights, 0)
    shares = {k: count * w // total for k, w in weights.items()}
    rest = {k: count * w % total for k, w in weights.items()}
    left = count - sum(shares.values())
    for k in sorted(weights, key=lambda k: (-rest[k], -weights[k], k == ANY, k))[:left]:
        shares[k] += 1
    return shares


Cover = Literal["role", "open", "stand_in", "no_areas"]


@dataclass(frozen=True)
class Choice:
    """One chosen candidate and what the choice covers (the detail behind a Pick)."""

    candidate: Candidate
    cover: Cover
    areas: tuple[Area, ...]


def choose(
    situation: Situation,
    candidates: Sequence[Candidate],
    count: int,
    *,
    key: OrderKey | None = None,
) -> list[Choice]:
    """Split `count` across the roles in proportion, take the best candidates per role,
    then fill up from the best remaining of any fitting role; best first."""
    if count <= 0:
        return []
    order = key or fair_order(situation.event_id)
    ranked = sorted(candidates, key=order)
    by_id = {a.id: a for a in situation.areas}
    quotas = split(count, situation.weights())
    chosen: list[Choice] = []
    taken: set[int] = set()
    for role in sorted(k for k in quotas if k != ANY):
        # A role's places go to people of that role who fit an area that lists it.
        wanted = quotas[role]
        for c in ranked:
            if wanted <= 0:
                break
            listed = situation.listed_areas(role, c.area_ids) if c.role_key == role else []
            if listed:
                chosen.append(Choice(c, "role", tuple(listed)))
                taken.add(c.employee_id)
                wanted -= 1
    open_places = quotas.get(ANY, 0)
    for c in ranked:
        if len(chosen) >= count:
            break
        if c.employee_id in taken:
            continue
        areas = tuple(by_id[i] for i in c.area_ids if i in by_id)
        cover: Cover = "no_areas" if not situation.areas else "open" if open_places > 0 else "stand_in"
        open_places -= 1
        chosen.append(Choice(c, cover, areas))
        taken.add(c.employee_id)
    return sorted(chosen, key=lambda ch: order(ch.candidate))
