"""What events, templates and work areas look like over the API (out) and
what may be sent (in, strict)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints, WithJsonSchema

from crewcall.core.api.inputs import (
    Input,
    IsoDate,
    IsoDateTime,
    IsoTime,
    Key,
    bounded_int,
    money,
    text,
    whole_number,
)

EventStatusName = Literal["draft", "recruiting", "staffed", "completed", "cancelled"]
PriorityName = Literal["low", "medium", "high", "critical"]


# Input times and moments are core's (wall-clock times without an offset; moments with
# an offset, years 1900 to 2999). Answers give times as HH:MM:SS (JSON Schema's "time"
# format would demand an offset).
_TIME_OUT = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"
LocalTime = IsoTime
WallTime = Annotated[dt.time, WithJsonSchema({"type": "string", "pattern": _TIME_OUT})]
Moment = IsoDateTime
Rate = money(max_digits=8, decimal_places=2, le="999999.99")
# (The bounds before the conversion, or pydantic leaves them out of the JSON Schema.)
Headcount = Annotated[int, Field(ge=1, le=10_000), whole_number]
ColorTheme = Annotated[str, StringConstraints(pattern=r"^[a-z]{3,20}$")]
# Keys that are not role keys are refused: said in the schema too (patternProperties alone
# would leave any other key open).
RoleRequirements = Annotated[
    dict[Key, Headcount], Field(max_length=50, json_schema_extra={"additionalProperties": False})
]
SkillKeys = Annotated[list[Key], Field(max_length=50)]


# ── out ─────────────────────────────────────────────────────────────────────


class TemplateOut(Schema):
    id: int
    version: int
    title: str
    location: str
    start_time: WallTime
    end_time: WallTime | None
    ends_next_day: bool
    description: str
    specialties: str
    hourly_rate: Decimal
    employees_needed: int
    employees_to_ask: int
    archived_at: dt.datetime | None
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class EventOut(Schema):
    id: int
    version: int
    title: str
    location: str
    event_date: dt.date
    start_time: WallTime
    end_time: WallTime | None
    ends_next_day: bool
    description: str
    specialties: str
    hourly_rate: Decimal
    employees_needed: int
    employees_to_ask: int
    status: str
    reply_deadline: dt.datetime | None
    template_id: int | None
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class EventSummaryOut(Schema):
    work_areas: int
    capacity: int
    assigned: int
    invitations: dict[str, int] = Field(description="Invitations of this event by status")


class EventDetailOut(EventOut):
    summary: EventSummaryOut

    @staticmethod
    def resolve_summary(obj: Any) -> dict[str, Any]:
        return {
            "work_areas": obj.work_area_count or 0,
            "capacity": obj.capacity_total or 0,
            "assigned": obj.assigned_count or 0,
            "invitations": obj.invitation_counts,
        }


class WorkAreaOut(Schema):
    id: int
    version: int
    event_id: int
    name: str
    location: str
    description: str
    max_capacity: int
    is_active: bool
    priority: str
    role_requirements: dict[str, int]
    required_skills: list[str]
    color_theme: str
    position_order: int
    assigned: int = Field(description="People placed here now (counted from the placements)")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_required_skills(obj: Any) -> list[str]:
        return sorted(skill.key for skill in obj.required_skills.all())


# ── in ──────────────────────────────────────────────────────────────────────


class TemplateIn(Input):
    title: text(200, blank=False)  # type: ignore[valid-type]
    location: text(200) = ""  # type: ignore[valid-type]
    start_time: LocalTime
    end_time: LocalTime | None = None
    ends_next_day: bool = False
    description: text(10_000) = ""  # type: ignore[valid-type]
    specialties: text(5_000) = ""  # type: ignore[valid-type]
    hourly_rate: Rate  # type: ignore[valid-type]
    employees_needed: Headcount
    employees_to_ask: Headcount | None = Field(None, description="Defaults to employees_needed")


class EventIn(TemplateIn):
    event_date: IsoDate
    reply_deadline: Moment | None = None


class TemplatePatch(Input):
    title: text(200, blank=False) = None  # type: ignore[valid-type]
    location: text(200) = None  # type: ignore[valid-type]
    start_time: LocalTime = None  # type: ignore[assignment]
    end_time: LocalTime | None = None
    ends_next_day: bool = None  # type: ignore[assignment]
    description: text(10_000) = None  # type: ignore[valid-type]
    specialties: text(5_000) = None  # type: ignore[valid-type]
    hourly_rate: Rate = None  # type: ignore[valid-type]
    employees_needed: Headcount = None  # type: ignore[assignment]
    employees_to_ask: Headcount = None  # type: ignore[assignment]


class EventPatch(TemplatePatch):
    event_date: IsoDate = None  # type: ignore[assignment]
    reply_deadline: Moment | None = None


class TransitionIn(Input):
    to_status: EventStatusName


class FromTemplateIn(Input):
    event_date: IsoDate
    title: text(200, blank=False) | None = Field(None, description="Defaults to the template's title")  # type: ignore[valid-type]


class WeeklyCopiesIn(Input):
    count: bounded_int(1, 52)  # type: ignore[valid-type]


class WorkAreaIn(Input):
    name: text(100, blank=False)  # type: ignore[valid-type]
    location: text(200) = ""  # type: ignore[valid-type]
    description: text(5_000) = ""  # type: ignore[valid-type]
    max_capacity: Headcount
    is_active: bool = True
    priority: PriorityName = "medium"
    role_requirements: RoleRequirements = Field(default_factory=dict)
    required_skills: SkillKeys = Field(default_factory=list)
    color_theme: ColorTheme = "blue"
    position_order: bounded_int(0, 100_000) = 0  # type: ignore[valid-type]


class WorkAreaPatch(Input):
    name: text(100, blank=False) = None  # type: ignore[valid-type]
    location: text(200) = None  # type: ignore[valid-type]
    description: text(5_000) = None  # type: ignore[valid-type]
    max_capacity: Headcount = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    priority: PriorityName = None  # type: ignore[assignment]
    role_requirements: RoleRequirements = None  # type: ignore[assignment]
    required_skills: SkillKeys = None  # type: ignore[assignment]
    color_theme: ColorTheme = None  # type: ignore[assignment]
    position_order: bounded_int(0, 100_000) = None  # type: ignore[valid-type]
