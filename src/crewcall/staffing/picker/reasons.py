"""The picker's reasons: why each person is asked now, in plain words.

Shown to the dispatcher before asking (the preview) and stored with the invitation after
(`pick_reason`): the role and work areas the pick covers and how many of those places are
still open, then where the person stands in the order (always needed, hours in the window,
days since they last worked).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from crewcall.staffing.picker.rules import (
    ANY,
    MAX_AREA_NAMES,
    WINDOW_DAYS,
    Area,
    Choice,
    Pick,
    Situation,
    split,
)


def _hours(h: Decimal) -> str:
    # Two places, as every list of hours shows them (9.75 h, not 9.8 h).
    return f"{h:.2f} h"


def _days_since(last: date | None, today: date) -> str:
    if last is None:
        return "never worked yet"
    days = (today - last).days
    if days < 0:
        return f"last worked on {last.isoformat()}"
    if days == 0:
        return "last worked today"
    return "last worked yesterday" if days == 1 else f"last worked {days} days ago"


def _area_names(areas: Sequence[Area]) -> str:
    names = [a.name for a in areas[:MAX_AREA_NAMES]]
    more = len(areas) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def reason(
    situation: Situation,
    choice: Choice,
    *,
    today: date,
    short_roles: Sequence[str],
    with_booked: bool = False,
) -> str:
    """Why this person is asked now, in plain words for the dispatcher."""
    c = choice.candidate
    role_name = situation.role_names.get(c.role_key, c.role_key)
    where = f"{role_name} for {_area_names(choice.areas)}" if choice.areas else role_name
    if choice.cover == "role":
        left, places = situation.remaining.get(c.role_key, 0), situation.required.get(c.role_key, 0)
        plural = role_name.lower()
        need = (
            f"{left} of {places} {plural} places to fill"
            if left
            else f"all {places} {plural} places are asked for; extra to cover declines"
        )
    elif choice.cover == "open":
        left, places = situation.unlisted_remaining, situation.unlisted
        need = (
            f"{left} of {places} places open to any role to fill"
            if left
            else f"all {places} places open to any role are asked for; extra to cover declines"
        )
    elif choice.cover == "stand_in":
        short = ", ".join(situation.role_names.get(r, r).lower() for r in short_roles) or "other roles"
        need = f"filling up: too few fitting {short} candidates are free"
    else:
        need = "the event has no active work areas, so every role fits"
    booked = " or booked" if with_booked else ""
    worked = (
        f"{_hours(c.window_hours)} worked{booked} in the last {WINDOW_DAYS} days"
        if c.window_hours
        else f"No hours worked{booked} in the last {WINDOW_DAYS} days"
    )
    first = "Always needed. " if c.always_needed else ""
    return f"{first}{where} ({need}). {worked}, {_days_since(c.last_worked, today)}."


def to_picks(
    situation: Situation, choices: Sequence[Choice], count: int, *, today: date, with_booked: bool = False
) -> list[Pick]:
    """The choices as the API's picks, ranked, each with its reason."""
    quotas = split(count, situation.weights())
    covered: dict[str, int] = {}
    for ch in choices:
        if ch.cover == "role":
            covered[ch.candidate.role_key] = covered.get(ch.candidate.role_key, 0) + 1
    short = [r for r, q in sorted(quotas.items()) if r != ANY and covered.get(r, 0) < q]
    return [
        Pick(
            employee_id=ch.candidate.employee_id,
            employee_name=ch.candidate.name,
            role_key=ch.candidate.role_key,
            reason=reason(situation, ch, today=today, short_roles=short, with_booked=with_booked),
            rank=n,
        )
        for n, ch in enumerate(choices, start=1)
    ]
