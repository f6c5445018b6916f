"""Payroll over the API: the CSV export and the per-employee summary of a period."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.staffing import services

pytestmark = pytest.mark.django_db

DAY = timezone.localdate() - dt.timedelta(days=5)


def worked(agency: Agency, event: Any, employee: Any, *, hours: int = 5, pause: int = 30) -> Any:
    agency.accepted(event, employee)
    start = timezone.make_aware(dt.datetime.combine(event.event_date, dt.time(12, 0)))
    return services.work_log_create(
        actor=agency.actor, event_id=event.pk, employee_id=employee.pk, started_at=start,
        ended_at=start + dt.timedelta(hours=hours), break_minutes=pause,
    )  # fmt: skip


def period(first: dt.date, last: dt.date) -> str:
    return f"from={first.isoformat()}&to={last.isoformat()}"


def rows_of(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def season(agency: Agency) -> dict[str, Any]:
    emil = agency.employee(name="Emil", employment_type="part_time")
    mia = agency.employee(name="=HYPERLINK(1)", employment_type="mini_job")
    gala = agency.event(title="Gala", event_date=DAY, hourly_rate=Decimal("15.50"))
    fair = agency.event(title="Fair", event_date=DAY + dt.timedelta(days=1), hourly_rate=Decimal("12.25"))
    before = agency.event(title="Earlier", event_date=DAY - dt.timedelta(days=20))
    gala_emil = worked(agency, gala, emil)  # 4.5 h x 15.50 = 69.75
    services.work_log_approve(
        actor=agency.actor, work_log_id=gala_emil.pk, expected_version=gala_emil.version
    )
    worked(agency, fair, emil)  # 4.5 h x 12.25 = 55.125 -> 55.13 (half up)
    worked(agency, fair, mia, hours=3, pause=0)  # 3 h x 12.25 = 36.75
    worked(agency, before, emil)  # outside the period
    return {"emil": emil, "mia": mia, "gala": gala, "fair": fair}


def test_the_csv_has_one_row_per_entry_with_its_amount(season: dict[str, Any], bob: Any, api_as: Any) -> None:
    r = api_as(bob).get(f"payroll.csv?{period(DAY, DAY + dt.timedelta(days=1))}")
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    header, *rows = rows_of(r)
    assert header == [
        "employee_id", "employee_name", "employment_type", "event_id", "event_title", "event_date",
        "started_at", "ended_at", "break_minutes", "hours", "hourly_rate", "amount", "approved",
    ]  # fmt: skip
    emil, mia, gala, fair = season["emil"], season["mia"], season["gala"], season["fair"]
    picked = [(row[0], row[3], row[9], row[10], row[11], row[12]) for row in rows]
    assert picked == [
        (str(emil.pk), str(gala.pk), "4.50", "15.50", "69.75", "yes"),
        (str(mia.pk), str(fair.pk), "3.00", "12.25", "36.75", "no"),  # by name: "=" sorts first
        (str(emil.pk), str(fair.pk), "4.50", "12.25", "55.13", "no"),
    ]
    first = rows[0]
    assert first[1:3] == ["Emil", "part_time"] and first[4:6] == ["Gala", DAY.isoformat()]
    assert first[6].startswith(f"{DAY.isoformat()}T12:00:00") and first[8] == "30"
    assert rows[1][1] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


def test_the_summary_adds_up_to_the_csv(season: dict[str, Any], bob: Any, api_as: Any) -> None:
    r = api_as(bob).get(f"payroll/summary?{period(DAY, DAY + dt.timedelta(days=1))}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["entries"], body["hours"], body["amount"]) == (3, "12.00", "161.63")
    by_name = {e["employee_name"]: e for e in body["employees"]}
    emil = by_name["Emil"]
    assert (emil["entries"], emil["unapproved_entries"], emil["hours"], emil["amount"]) == (
        2,
        1,
        "9.00",
        "124.88",
    )
    assert by_name["=HYPERLINK(1)"]["employment_type"] == "mini_job"
    r = api_as(bob).get(f"payroll/summary?{period(DAY, DAY)}")
    assert r.json()["amount"] == "69.75" and len(r.json()["employees"]) == 1


def test_payroll_is_for_dispatchers_and_checks_the_period(
    agency: Agency, bob: Any, carol: Any, api_as: Any
) -> None:
    for path in ("payroll.csv", "payroll/summary"):
        assert api_as(carol).get(f"{path}?{period(DAY, DAY)}").status_code == 403
        api = api_as(bob)
        cases = [
            ("to=2025-01-01", "from"),
            ("from=2025-01-01", "to"),
            (period(DAY, DAY - dt.timedelta(days=1)), "to"),
            ("from=2024-01-01&to=2025-01-01", "to"),  # 367 days
            ("from=2025-02-30&to=2025-03-01", "from"),
            ("from=20250101&to=2025-01-02", "from"),
            ("from=0000-01-01&to=0000-01-02", "from"),
            ("from=2025-01-01&to=2025-01-0%00", "to"),
            ("from=20250101&to=2025-01-02", "from"),  # Python reads it; the API does not
        ]
        for query, field in cases:
            r = api.get(f"{path}?{query}")
            assert r.status_code == 422, (path, query, r.content)
            assert field in {e["field"] for e in r.json()["errors"]}, (query, r.json())
        assert api.get(f"{path}?from=2024-01-01&to=2024-12-31").status_code == 200  # a leap year
        assert api.get(f"{path}?from=2999-12-31&to=2999-12-31").status_code == 200  # the last day taken
        assert api.get(f"{path}?from=9999-12-31&to=9999-12-31").status_code == 422


def test_payroll_costs_the_same_queries_for_a_small_and_a_large_period(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    people = [agency.employee(name=f"E{i:02}") for i in range(8)]
    for n in range(3):
        event = agency.event(title=f"Event {n}", event_date=DAY + dt.timedelta(days=n), employees_needed=8,
                             employees_to_ask=8)  # fmt: skip
        for person in people:
            worked(agency, event, person)
    api = api_as(bob)
    api.get(f"payroll.csv?{period(DAY, DAY)}")  # the token's first use is recorded once

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx.captured_queries)

    for path in ("payroll.csv", "payroll/summary"):
        empty = queries(f"{path}?{period(DAY - dt.timedelta(days=30), DAY - dt.timedelta(days=29))}")
        assert empty == queries(f"{path}?{period(DAY, DAY + dt.timedelta(days=2))}")
    assert len(rows_of(api.get(f"payroll.csv?{period(DAY, DAY + dt.timedelta(days=2))}"))) == 1 + 24
