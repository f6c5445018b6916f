"""The picker against the database: two queries, whatever the size of the pool.

1. the situation: the event, its active areas with required skills, open invitations by
   role, the role catalogue;
2. the candidates: every rule of docs/fairness.md as SQL, keeping only the best `count` per
   role (no role can take more, and the best remaining overall are among them).

Reads only. Called inside the "ask" service's transaction it sees that transaction's
snapshot; as a preview outside one, each query reads committed data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from crewcall.core.errors import NotFound, ValidationFailed
from crewcall.staffing.picker import sql
from crewcall.staffing.picker.reasons import to_picks
from crewcall.staffing.picker.rules import (
    BOOKED_STATUSES,
    OPEN_END_HOURS,
    OPEN_STATUSES,
    WINDOW_DAYS,
    Area,
    Candidate,
    Choice,
    Pick,
    Shift,
    Situation,
    choose,
    month_bounds,
)

# "Least worked in the window" counts the work log AND the planned hours of shifts already
# accepted but not yet worked: asking runs two or three weeks ahead of the work log, and
# counting the log alone keeps asking the same low-hours people until their hours are
# entered (the season simulation, seeds 1-10: Gini 0.117 → 0.044, docs/fairness.md). Eligibility is
# unchanged; only the order. Both settings are tested against the reference.
COUNT_BOOKED_HOURS = True


@dataclass(frozen=True)
class Loaded:
    situation: Situation
    rate: Decimal  # the event's hourly rate
    role_ids: dict[str, int]  # role key -> id


def load_situation(event_id: int) -> Loaded:
    """The event's needs, its hourly rate and the role catalogue (one query)."""
    with connection.cursor() as cur:
        cur.execute(sql.SITUATION, {"event_id": event_id, "open_statuses": list(OPEN_STATUSES)})
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"event {event_id} does not exist.")
    day, start, end, next_day, rate, to_ask, areas_json, open_json, roles_json = row
    if day is None:
        raise ValidationFailed.single("event", "A template has no date; nobody is asked for it.")
    areas = tuple(
        Area(
            id=a["id"],
            name=a["name"],
            capacity=a["capacity"],
            requirements={str(k): int(v) for k, v in a["requirements"].items()},
            skills=frozenset(a["skills"]),
        )
        for a in json.loads(areas_json)
    )
    roles = json.loads(roles_json)
    situation = Situation(
        event_id=event_id,
        shift=Shift(day=day, start=start, end=end, next_day=next_day),
        employees_to_ask=to_ask,
        areas=areas,
        open_by_role={str(k): int(v) for k, v in json.loads(open_json).items()},
        role_names={key: name for key, (_, name) in roles.items()},
    )
    return Loaded(situation, rate, {key: pk for key, (pk, _) in roles.items()})


def candidates_query(loaded: Loaded, *, limit: int, count_booked: bool) -> tuple[str, dict[str, Any]]:
    """The candidate query and its parameters (the benchmark EXPLAINs the same)."""
    situation, role_ids = loaded.situation, loaded.role_ids
    shift = situation.shift
    month_start, month_end = month_bounds(shift.day)
    # Cheapest areas first: the fit test stops at the first area that fits.
    ordered = sorted(situation.areas, key=lambda a: (bool(a.skills), bool(a.requirements)))
    areas = [
        {"id": a.id, "roles": sorted(role_ids[k] for k in a.requirements), "skills": sorted(a.skills)}
        for a in ordered
    ]
    # An area open to any role without skills fits everyone; one open to any role with
    # skills still lets every role through the role filter.
    everyone_fits = not ordered or any(not a.requirements and not a.skills for a in ordered)
    any_role = not ordered or any(not a.requirements for a in ordered)
    roles = None if any_role else sorted({role_ids[k] for a in ordered for k in a.requirements})
    params: dict[str, Any] = {
        "event_id": situation.event_id,
        "day": shift.day,
        "begins": _wall(shift.begins),
        "ends": _wall(shift.ends),
        "hours": shift.expected_hours,
        "rate": loaded.rate,
        "month_start": month_start,
        "month_end": month_end,
        "window_start": shift.day - timedelta(days=WINDOW_DAYS),
        "areas": json.dumps(areas),
        "everyone_fits": everyone_fits,
        "role_ids": roles,
        "limit": limit,
        "booked_statuses": list(BOOKED_STATUSES),
        "open_end_hours": OPEN_END_HOURS,
        "count_booked": count_booked,
    }
    return sql.CANDIDATES, params


def load_candidates(loaded: Loaded, *, limit: int, count_booked: bool | None = None) -> list[Candidate]:
    """The best `limit` eligible candidates of each role, and of each role among those
    who fit an area listing it (one query): enough for rules.choose to pick as it would
    from all of them. count_booked None means COUNT_BOOKED_HOURS."""
    booked = COUNT_BOOKED_HOURS if count_booked is None else count_booked
    with connection.cursor() as cur:
        cur.execute(*candidates_query(loaded, limit=limit, count_booked=booked))
        rows = cur.fetchall()
    situation = loaded.situation
    position = {a.id: n for n, a in enumerate(situation.areas)}
    return [
        Candidate(
            employee_id=pk,
            name=name,
            role_key=role_key,
            always_needed=always,
            window_hours=hours,
            last_worked=last,
            area_ids=tuple(sorted((i for i in area_ids if i in position), key=position.__getitem__)),
        )
        for pk, name, role_key, always, hours, last, area_ids in rows
    ]


def _wall(moment: datetime) -> str:
    """A wall-clock time as text, cast to `timestamp` (without time zone) in the SQL:
    event windows are compared on the wall clock, never shifted into UTC."""
    return moment.isoformat(sep=" ")


def preview(
    *, event_id: int, count: int | None = None, count_booked: bool | None = None
) -> tuple[Situation, list[Choice], int]:
    """The situation, the choices behind the picks, and the count that was asked for."""
    loaded = load_situation(event_id)
    situation = loaded.situation
    wanted = situation.default_count() if count is None else count
    if wanted < 0:
        raise ValidationFailed.single("count", "The number of people to ask cannot be negative.")
    if wanted == 0:
        return situation, [], 0
    candidates = load_candidates(loaded, limit=wanted, count_booked=count_booked)
    return situation, choose(situation, candidates, wanted), wanted


def pick_candidates(*, event_id: int, count: int | None = None, today: date | None = None) -> list[Pick]:
    """Who to ask next for this event and why (a preview: reads only, no writes).
    count None → event.employees_to_ask minus invitations still open (asked, waitlisted,
    accepted) — never negative."""
    booked = COUNT_BOOKED_HOURS
    situation, choices, wanted = preview(event_id=event_id, count=count, count_booked=booked)
    return to_picks(situation, choices, wanted, today=today or timezone.localdate(), with_booked=booked)
