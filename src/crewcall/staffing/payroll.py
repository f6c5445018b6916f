"""Payroll: what each work-log entry of a period is worth, as CSV rows and per-employee
totals. Reads only.

A period is the days of the events (event_date, both ends included), at most 366 days.
Amount = hours x the event's hourly rate, rounded to the cent half up, per entry; an
employee's total is the sum of their entries' amounts (so the CSV and the summary always
agree to the cent). One query streams every entry of the period, whatever its size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.core.errors import ValidationFailed
from crewcall.staffing.models import WorkLog

MAX_PERIOD_DAYS = 366
CENT = Decimal("0.01")
CHUNK = 2000

CSV_HEADER = (
    "employee_id", "employee_name", "employment_type", "event_id", "event_title", "event_date",
    "started_at", "ended_at", "break_minutes", "hours", "hourly_rate", "amount", "approved",
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One work-log entry with what it is worth."""

    work_log_id: int
    employee_id: int
    employee_name: str
    employment_type: str
    event_id: int
    event_title: str
    event_date: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime
    break_minutes: int
    hours: Decimal
    hourly_rate: Decimal
    approved: bool

    @property
    def amount(self) -> Decimal:
        return amount_of(self.hours, self.hourly_rate)


@dataclass
class EmployeeTotal:
    employee_id: int
    employee_name: str
    employment_type: str
    entries: int = 0
    unapproved_entries: int = 0
    hours: Decimal = Decimal("0.00")
    amount: Decimal = Decimal("0.00")


@dataclass
class Summary:
    date_from: dt.date
    date_to: dt.date
    employees: list[EmployeeTotal] = field(default_factory=list)
    entries: int = 0
    hours: Decimal = Decimal("0.00")
    amount: Decimal = Decimal("0.00")


def amount_of(hours: Decimal, rate: Decimal) -> Decimal:
    return (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def check_period(date_from: dt.date, date_to: dt.date) -> None:
    if date_to < date_from:
        raise ValidationFailed.single("to", _("The period cannot end before it starts."))
    if (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed.single(
            "to", _("A period covers at most %(count)s days.") % {"count": MAX_PERIOD_DAYS}
        )


_COLUMNS = (
    "pk", "employee_id", "employee__name", "employee__employment_type", "event_id", "event__title",
    "event__event_date", "started_at", "ended_at", "break_minutes", "hours", "event__hourly_rate",
    "approved_at",
)  # fmt: skip


def entries(date_from: dt.date, date_to: dt.date) -> Iterator[Entry]:
    """Every entry of the period, by event date, event, employee name (one query, read in
    chunks so a year of entries never sits in memory as model objects)."""
    check_period(date_from, date_to)
    rows = (
        WorkLog.objects.filter(event__event_date__gte=date_from, event__event_date__lte=date_to)
        .order_by("event__event_date", "event__start_time", "event_id", "employee__name", "id")
        .values_list(*_COLUMNS)
    )
    for row in rows.iterator(chunk_size=CHUNK):
        (pk, employee_id, name, employment_type, event_id, title, day, started, ended, pause, hours,
         rate, approved_at) = row  # fmt: skip
        yield Entry(
            work_log_id=pk, employee_id=employee_id, employee_name=name, employment_type=employment_type,
            event_id=event_id, event_title=title, event_date=day, started_at=started, ended_at=ended,
            break_minutes=pause, hours=hours, hourly_rate=rate, approved=approved_at is not None,
        )  # fmt: skip


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is quoted
    with a leading apostrophe: names and titles come from people, the file goes to Excel."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat()


def csv_rows(items: Iterable[Entry]) -> Iterator[list[str]]:
    yield list(CSV_HEADER)
    for e in items:
        yield [
            str(e.employee_id), _cell(e.employee_name), e.employment_type, str(e.event_id),
            _cell(e.event_title), e.event_date.isoformat(), _local(e.started_at), _local(e.ended_at),
            str(e.break_minutes), f"{e.hours:.2f}", f"{e.hourly_rate:.2f}", f"{e.amount:.2f}",
            "yes" if e.approved else "no",
        ]  # fmt: skip


def payroll_csv(date_from: dt.date, date_to: dt.date) -> str:
    """The period as CSV text: a header, then one row per work-log entry."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(csv_rows(entries(date_from, date_to)))
    return out.getvalue()


def payroll_summary(date_from: dt.date, date_to: dt.date) -> Summary:
    """Per employee (by name): entries, hours and amount of the period, and the totals."""
    summary = Summary(date_from=date_from, date_to=date_to)
    totals: dict[int, EmployeeTotal] = {}
    for e in entries(date_from, date_to):
        total = totals.get(e.employee_id)
        if total is None:
            total = totals[e.employee_id] = EmployeeTotal(e.employee_id, e.employee_name, e.employment_type)
        amount = e.amount
        total.entries += 1
        total.unapproved_entries += not e.approved
        total.hours += e.hours
        total.amount += amount
        summary.entries += 1
        summary.hours += e.hours
        summary.amount += amount
    summary.employees = sorted(totals.values(), key=lambda t: (t.employee_name.lower(), t.employee_id))
    return summary
