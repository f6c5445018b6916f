"""What invitations, asking, placements and the work log look like over the API (out) and what may
be sent (in, strict)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field, WithJsonSchema

from crewcall.core.api.inputs import Id, Input, IsoDateTime, Key, bounded_int, moment_pattern, text

InvitationStatusName = Literal[
    "asked", "accepted", "waitlisted", "declined", "expired", "cancelled", "completed"
]  # fmt: skip
# What a dispatcher may set by hand (an invitation is only ever *asked* by asking).
SettableStatus = Literal["accepted", "waitlisted", "declined", "expired", "cancelled", "completed"]


def _plausible(value: dt.datetime) -> dt.datetime:
    # Far-off years overflow when moved to UTC or the local zone (a 500, not a 422):
    # hours are recorded for real shifts, so refuse anything outside a sane window here.
    if not 2000 <= value.year <= 2100:
        raise ValueError("Give a date and time between the years 2000 and 2100.")
    return value


ShiftMoment = Annotated[
    IsoDateTime,
    AfterValidator(_plausible),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": moment_pattern(year="(20[0-9]{2}|2100)")}
    ),
]


class InvitationOut(Schema):
    id: int
    version: int
    event_id: int
    employee_id: int
    employee_name: str = Field(validation_alias="employee.name")
    employee_role: str = Field(validation_alias="employee.primary_role.key")
    status: str
    asked_at: dt.datetime
    responded_at: dt.datetime | None
    response_method: str | None
    wave: int
    pick_reason: str = Field(description="Why the picker chose this person (empty when invited by hand)")
    created_at: dt.datetime
    updated_at: dt.datetime


class InvitationStatusIn(Input):
    status: SettableStatus
    note: text(200) = ""  # type: ignore[valid-type]


class PickOut(Schema):
    rank: int
    employee_id: int
    employee_name: str
    role: str
    reason: str


class AskPreviewOut(Schema):
    event_id: int
    next_wave: int = Field(description="The wave an ask now would create")
    picks: list[PickOut] = Field(description="Who would be asked now, best first, and why")


class AskIn(Input):
    count: bounded_int(1, 500) | None = Field(  # type: ignore[valid-type]
        default=None, description="How many to ask; default: employees_to_ask minus those still open"
    )
    wave: bounded_int(1, 10_000) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="The wave to ask (the next one by default); asking for a wave that exists "
        "changes nothing and answers it again with 200",
    )


class AskOut(Schema):
    event_id: int
    wave: int
    created: bool = Field(description="False when this wave had been asked before")
    invitations: list[InvitationOut]


class NudgeOut(Schema):
    event_id: int
    nudged: int = Field(description="Reminders queued now (at most one per person per day)")


class WorkLogOut(Schema):
    id: int
    version: int
    event_id: int
    employee_id: int
    employee_name: str = Field(validation_alias="employee.name")
    started_at: dt.datetime
    ended_at: dt.datetime
    break_minutes: int
    hours: Decimal = Field(description="Worked hours (end - start - break), computed by the database")
    note: str
    approved: bool
    approved_by_id: int | None
    approved_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_approved(obj: object) -> bool:
        return obj.approved_at is not None  # type: ignore[attr-defined]


class WorkLogIn(Input):
    employee_id: Id
    started_at: ShiftMoment
    ended_at: ShiftMoment
    break_minutes: bounded_int(0, 1440) = 0  # type: ignore[valid-type]
    note: text(200) = ""  # type: ignore[valid-type]


class WorkLogPatch(Input):
    started_at: ShiftMoment = None  # type: ignore[assignment]
    ended_at: ShiftMoment = None  # type: ignore[assignment]
    break_minutes: bounded_int(0, 1440) = None  # type: ignore[valid-type]
    note: text(200) = None  # type: ignore[valid-type]


class AssignmentOut(Schema):
    id: int
    version: int
    event_id: int
    employee_id: int
    employee_name: str = Field(validation_alias="employee.name")
    invitation_id: int
    work_area_id: int
    role: str = Field(validation_alias="role.key")
    assigned_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class AssignmentIn(Input):
    invitation_id: Id | None = Field(None, description="The accepted invitation, or give employee_id")
    employee_id: Id | None = Field(None, description="The accepted employee, or give invitation_id")
    work_area_id: Id
    role: Key


class AssignmentPatch(Input):
    work_area_id: Id = None  # type: ignore[assignment]
    role: Key = None  # type: ignore[assignment]
