"""Payroll export: the hours of a period and what they are worth (dispatchers only:
this is money)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from crewcall.core.api.auth import allow
from crewcall.core.api.problems import documented
from crewcall.core.errors import ValidationFailed
from crewcall.core.validation import parse_day
from crewcall.staffing import payroll

router = Router(tags=["payroll"])

DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


class EmployeeTotalOut(Schema):
    employee_id: int
    employee_name: str
    employment_type: str
    entries: int
    unapproved_entries: int
    hours: Decimal
    amount: Decimal


class PayrollSummaryOut(Schema):
    date_from: dt.date
    date_to: dt.date
    entries: int
    hours: Decimal
    amount: Decimal
    employees: list[EmployeeTotalOut]


def _day(raw: str, name: str) -> dt.date:
    try:
        return parse_day(raw)
    except ValueError:
        raise ValidationFailed.single(
            name, "This is not a valid date (YYYY-MM-DD, years 1900 to 2999)."
        ) from None


def _period(raw_from: str, raw_to: str) -> tuple[dt.date, dt.date]:
    date_from, date_to = _day(raw_from, "from"), _day(raw_to, "to")
    payroll.check_period(date_from, date_to)
    return date_from, date_to


FROM = Query(
    ..., alias="from", min_length=10, max_length=10, pattern=DAY_PATTERN,
    description="First event date of the period (YYYY-MM-DD)",
)  # fmt: skip
TO = Query(
    ..., alias="to", min_length=10, max_length=10, pattern=DAY_PATTERN,
    description="Last event date of the period, included; a period covers at most 366 days",
)  # fmt: skip

CSV_RESPONSE = {
    "responses": {
        200: {
            "description": "One row per work-log entry of the period, with a header row",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/payroll.csv",
    response=documented({200: None}),
    auth=allow("dispatcher"),
    summary="Payroll export as CSV: every work-log entry of a period with its amount",
    openapi_extra=CSV_RESPONSE,
)
def payroll_export_csv(request: HttpRequest, date_from: str = FROM, date_to: str = TO) -> Any:
    start, end = _period(date_from, date_to)
    response = HttpResponse(payroll.payroll_csv(start, end), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payroll-{start}-{end}.csv"'
    return response


@router.get(
    "/payroll/summary",
    response=documented({200: PayrollSummaryOut}),
    auth=allow("dispatcher"),
    summary="Payroll per employee for a period: entries, hours and amount",
)
def payroll_summary(request: HttpRequest, date_from: str = FROM, date_to: str = TO) -> Any:
    start, end = _period(date_from, date_to)
    return payroll.payroll_summary(start, end)
