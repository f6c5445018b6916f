from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.people.services import employee_archive
from crewcall.web.selectors import dashboard_summary


def test_summary_counts_employees_and_events_in_three_queries(
    agency: Any, django_assert_num_queries: Any
) -> None:
    today = timezone.localdate()
    agency.employee("Anna")
    agency.employee("Ben")
    carl = agency.employee("Carl")
    employee_archive(actor=agency.actor, employee_id=carl.pk, expected_version=carl.version)
    agency.event("Gala", status="recruiting", event_date=today + timedelta(days=2))
    agency.event("Wedding", status="draft", event_date=today)
    agency.event("Summer fair", status="draft", event_date=today + timedelta(days=20))
    agency.event("Gala pattern", status="draft", is_template=True, event_date=today)

    with django_assert_num_queries(3):
        summary = dashboard_summary(today=today)

    assert summary["employees_active"] == 2
    counts = {row["status"]: row["count"] for row in summary["events_by_status"]}
    assert counts == {"draft": 2, "recruiting": 1, "staffed": 0, "completed": 0, "cancelled": 0}
    assert summary["events_total"] == 3
    assert [(e["title"], e["status_label"]) for e in summary["upcoming"]] == [
        ("Wedding", "Draft"),
        ("Gala", "Recruiting"),
    ]


def test_dashboard_asks_a_visitor_to_sign_in(client: Client, db: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_dashboard_shows_the_next_events_to_a_dispatcher(client: Client, agency: Any, bob: User) -> None:
    agency.event("Gala", status="recruiting", event_date=timezone.localdate() + timedelta(days=1))
    client.force_login(bob)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Gala" in body
    assert "Active employees" in body
    assert 'class="status status-recruiting"' in body


def test_an_empty_dashboard_points_to_the_demo(client: Client, bob: User) -> None:
    client.force_login(bob)
    body = client.get("/").content.decode()
    assert "No events yet" in body
    assert "crewcall demo" in body
