"""What people look like over the API (out) and what may be sent (in, strict)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field

from crewcall.core.api.inputs import Id, Input, IsoDate, Key, text
from crewcall.core.api.outputs import Output, keys_of

EmploymentTypeName = Literal["full_time", "part_time", "mini_job", "freelance"]
LanguageName = Literal["de", "en"]
AbsenceKindName = Literal["vacation", "sick", "blocked"]


class EmployeeOut(Output):
    id: int
    version: int
    name: str
    phone_number: str | None
    primary_role: str
    skills: list[str]
    employment_type: str
    is_always_needed: bool
    is_active: bool
    notes: str
    preferred_language: str
    user_id: int | None
    anonymised_at: dt.datetime | None
    link_version: int = Field(description="Moves on when the personal link is replaced")
    created_at: dt.datetime
    updated_at: dt.datetime

    _primary_role = keys_of("primary_role")
    _skills = keys_of("skills")


class EmployeeStatsOut(Output):
    total_hours_worked: Decimal
    last_worked_date: dt.date | None
    events_worked: int


class EmployeeDetailOut(EmployeeOut):
    stats: EmployeeStatsOut | None


class EmployeeLinkOut(Schema):
    employee_id: int
    link_version: int
    last_day: dt.date | None = Field(
        description="The last day the link opens the page (null: until replaced)"
    )
    url: str = Field(description="The employee's personal page; the calendar feed is `<url>calendar.ics`")


class EmployeeIn(Input):
    name: text(120, blank=False)  # type: ignore[valid-type]
    phone_number: text(32, blank=False)  # type: ignore[valid-type]
    primary_role: Key
    employment_type: EmploymentTypeName
    skills: list[Key] = Field(default_factory=list, max_length=50)
    is_always_needed: bool = False
    notes: text(5000) = ""  # type: ignore[valid-type]
    preferred_language: LanguageName = "de"


class EmployeePatch(Input):
    name: text(120, blank=False) = None  # type: ignore[valid-type]
    phone_number: text(32, blank=False) = None  # type: ignore[valid-type]
    primary_role: Key = None  # type: ignore[assignment]
    employment_type: EmploymentTypeName = None  # type: ignore[assignment]
    skills: list[Key] = Field(default=None, max_length=50)  # type: ignore[arg-type]
    is_always_needed: bool = None  # type: ignore[assignment]
    notes: text(5000) = None  # type: ignore[valid-type]
    preferred_language: LanguageName = None  # type: ignore[assignment]
    user_id: Id | None = None


class AbsenceOut(Schema):
    id: int
    version: int
    employee_id: int
    kind: str
    starts_on: dt.date
    ends_on: dt.date
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


class AbsenceIn(Input):
    kind: AbsenceKindName
    starts_on: IsoDate
    ends_on: IsoDate
    note: text(200) = ""  # type: ignore[valid-type]


class AbsencePatch(Input):
    kind: AbsenceKindName = None  # type: ignore[assignment]
    starts_on: IsoDate = None  # type: ignore[assignment]
    ends_on: IsoDate = None  # type: ignore[assignment]
    note: text(200) = None  # type: ignore[valid-type]
