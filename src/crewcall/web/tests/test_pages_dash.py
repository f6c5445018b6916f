"""The dashboard's charts: fill rate of the upcoming events and the hours histogram with
its Gini coefficient, as SVG built on the server (valid XML, accessible, no inline style)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.staffing import services as staffing
from crewcall.staffing.simulation import gini
from crewcall.web import charts
from crewcall.web.selectors import dashboard, dashboard_charts

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def worked(agency: Agency, event: Any, employee: Any, hours: int) -> None:
    agency.accepted(event, employee)
    start = timezone.make_aware(dt.datetime.combine(event.event_date, dt.time(8, 0)))
    staffing.work_log_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk,
                             started_at=start, ended_at=start + dt.timedelta(hours=hours))  # fmt: skip


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own markup
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None
    assert "style" not in svg
    return root


def test_fill_rate_chart_shows_accepted_of_needed(agency: Agency) -> None:
    today = timezone.localdate()
    gala = agency.event("Gala <&> Ball", event_date=today + dt.timedelta(days=1), employees_needed=2)
    agency.event("Fair", event_date=today + dt.timedelta(days=3), employees_needed=4)
    agency.event("Later", event_date=today + dt.timedelta(days=30))
    agency.accepted(gala, agency.employee("Anna"))

    data = dashboard_charts(today=today)

    assert [(r.accepted, r.needed, r.rate) for r in data["fill_rows"]] == [(1, 2, 50), (0, 4, 0)]
    root = parse(str(data["fill_chart"]))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any("Gala <&> Ball" in t for t in texts)  # escaped in the markup, intact once parsed
    assert "1 / 2" in texts and "0 / 4" in texts
    assert "Gala <&> Ball: 1 / 2 (50 %)" in root.get("aria-label", "")
    widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
    assert widths == [charts.BAR_W, charts.BAR_W / 2, charts.BAR_W, 0.0]


def test_hours_histogram_states_the_gini_coefficient(agency: Agency) -> None:
    past = timezone.localdate() - dt.timedelta(days=5)
    event = agency.event("Gala", event_date=past, employees_needed=3)
    anna, ben = agency.employee("Anna"), agency.employee("Ben")
    agency.employee("Carl")  # active, no hours: part of the unfairness
    worked(agency, event, anna, 8)
    worked(agency, event, ben, 2)

    data = dashboard_charts()

    expected = gini([8.0, 2.0, 0.0])
    assert data["hours_gini"] == pytest.approx(expected)
    root = parse(str(data["hours_chart"]))
    title = root.find(f"{SVG}title")
    assert title is not None and f"Gini {expected:.2f}" in (title.text or "")
    assert sum(b.count for b in data["hours_bins"]) == 3
    assert f"Gini {expected:.2f}" in root.get("aria-label", "")


def test_histogram_bins_are_round_and_hold_the_top() -> None:
    bins = charts.histogram([0, 3, 19.5, 40])
    assert [(b.low, b.high) for b in bins][:2] == [(0, 5), (5, 10)]
    assert bins[-1].low <= 40 < bins[-1].high
    assert sum(b.count for b in bins) == 4
    assert charts.histogram([]) == []
    assert [b.count for b in charts.histogram([0, 0])] == [2]


def test_empty_charts_still_parse(db: Any) -> None:
    data = dashboard_charts()
    parse(str(data["fill_chart"]))
    parse(str(data["hours_chart"]))


def _season(agency: Agency, n: int) -> None:
    today = timezone.localdate()
    past = agency.event(
        "Past", event_date=today - dt.timedelta(days=3), employees_needed=n, employees_to_ask=n
    )
    for i in range(n):
        event = agency.event(f"E{i}", event_date=today + dt.timedelta(days=1 + i % 10))
        person = agency.employee(f"P{i}")
        agency.accepted(event, person)
        worked(agency, past, person, 1 + i)


def test_dashboard_reads_in_a_fixed_number_of_queries(agency: Agency, django_assert_num_queries: Any) -> None:
    _season(agency, 1)
    with django_assert_num_queries(5):
        small = dashboard()
    _season(agency, 12)
    with django_assert_num_queries(5):
        large = dashboard()
    assert len(large["fill_rows"]) > len(small["fill_rows"])


def test_dashboard_page_shows_both_charts(client: Client, agency: Agency, carol: Any) -> None:
    _season(agency, 3)
    client.force_login(carol)
    body = client.get("/").content.decode()
    assert 'class="chart chart-fill"' in body and 'class="chart chart-hours"' in body
    assert "Gini coefficient" in body
    assert ' style="' not in body
