"""An employee's iCal feed behind a signed link: their booked shifts, nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.people.services import employee_anonymise, employee_archive
from crewcall.staffing.event_lifecycle import event_cancel
from crewcall.staffing.models import Invitation
from crewcall.staffing.placement import assignment_create
from crewcall.staffing.services import invitation_create, invitation_set_status
from crewcall.web.personal import employee_calendar_ics, employee_link_token

pytestmark = pytest.mark.django_db


def feed(employee_id: int, client: Client | None = None) -> Any:
    url = reverse("employee-calendar", args=[employee_link_token(employee_id)])
    return (client or Client()).get(url)


def events_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"X-PUBLISHED-TTL:PT1H" in response.content
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}


def answer(agency: Agency, event: Any, employee: Any, status: str) -> Invitation:
    invitation = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
    if status == "asked":
        return invitation
    return invitation_set_status(
        actor=agency.actor, invitation_id=invitation.pk, expected_version=invitation.version, status=status
    )


def test_the_feed_has_the_accepted_shift_with_its_place_and_not_the_rest(agency: Agency) -> None:
    emil, other = agency.employee("Emil"), agency.employee("Olga")
    day = timezone.localdate() + dt.timedelta(days=10)
    gala = agency.event("Gala", event_date=day, location="Castle", description="Black tie")
    bar = agency.area(gala, "Bar", location="Hall 2")
    accepted = agency.accepted(gala, emil)
    assignment_create(
        actor=agency.actor, work_area_id=bar.pk, role_id=agency.bartender.pk, invitation_id=accepted.pk
    )
    answer(agency, agency.event("Brunch"), emil, "declined")
    answer(agency, agency.event("Ball"), emil, "asked")
    answer(agency, agency.event("Waitlisted"), emil, "waitlisted")
    agency.accepted(agency.event("Olga only"), other)

    shifts = events_of(feed(emil.pk))
    assert set(shifts) == {"Gala"}
    gala_entry = shifts["Gala"]
    zone = ZoneInfo(settings.TIME_ZONE)
    assert gala_entry["dtstart"].params["TZID"] == settings.TIME_ZONE
    assert gala_entry.decoded("dtstart") == dt.datetime.combine(day, dt.time(18, 0), tzinfo=zone)
    assert gala_entry.decoded("dtend") == dt.datetime.combine(day, dt.time(23, 0), tzinfo=zone)
    assert str(gala_entry["location"]) == "Castle" and str(gala_entry["status"]) == "CONFIRMED"
    description = str(gala_entry["description"])
    assert "Bar (Hall 2)" in description and "Bartender" in description and "Black tie" in description
    assert str(gala_entry["uid"]) == str(events_of(feed(emil.pk))["Gala"]["uid"])  # stable
    assert str(gala_entry["uid"]).startswith(f"invitation-{accepted.pk}@")


def test_times_past_midnight_open_ends_and_the_window(agency: Agency) -> None:
    emil = agency.employee("Emil")
    today = timezone.localdate()
    night = agency.event("Night", event_date=today + dt.timedelta(days=3),
                         start_time=dt.time(22, 0), end_time=dt.time(3, 0), ends_next_day=True)  # fmt: skip
    open_end = agency.event("Open", event_date=today + dt.timedelta(days=4), end_time=None)
    recent = agency.event("Recent", event_date=today - dt.timedelta(days=40))
    old = agency.event("Old", event_date=today - dt.timedelta(days=120))
    for event in (night, open_end, recent, old):
        agency.accepted(event, emil)

    shifts = events_of(feed(emil.pk))
    assert set(shifts) == {"Night", "Open", "Recent"}
    assert shifts["Night"].decoded("dtend").date() == today + dt.timedelta(days=4)
    assert "dtend" not in shifts["Open"]
    assert str(shifts["Open"]["description"]) == "Ende offen"  # in Emil's language, German


def test_a_shift_called_off_after_accepting_stays_as_cancelled(agency: Agency) -> None:
    emil, asked_only = agency.employee("Emil"), agency.employee("Asked")
    fest = agency.event("Sommerfest")
    agency.accepted(fest, emil)
    answer(agency, fest, asked_only, "asked")
    fest.refresh_from_db()
    event_cancel(actor=agency.actor, event_id=fest.pk, expected_version=fest.version)

    entry = events_of(feed(emil.pk))
    assert len(entry) == 1
    (cancelled,) = entry.values()
    assert str(cancelled["status"]) == "CANCELLED" and "Sommerfest" in str(cancelled["summary"])
    assert events_of(feed(asked_only.pk)) == {}


def test_forged_and_altered_links_are_not_found(agency: Agency) -> None:
    emil = agency.employee("Emil")
    token = employee_link_token(emil.pk)
    raw_id, signature = token.split(":", 1)
    for bad in (
        f"{emil.pk + 1}:{signature}",
        f"{raw_id}:{signature[:-1]}A" if not signature.endswith("A") else f"{raw_id}:{signature[:-1]}B",
        "garbage",
        f"{raw_id}",
        "x" * 500,
        "99999999999999999999999:abc",
    ):
        assert Client().get(f"/r/{bad}/calendar.ics").status_code == 404, bad
    assert Client().post(reverse("employee-calendar", args=[token])).status_code == 405
    assert feed(emil.pk).status_code == 200


def test_archived_and_anonymised_employees_links_stop_working(agency: Agency) -> None:
    archived, erased = agency.employee("Arch"), agency.employee("Erased")
    urls = {}
    for employee in (archived, erased):
        agency.accepted(agency.event(f"Shift of {employee.name}"), employee)
        urls[employee.pk] = reverse("employee-calendar", args=[employee_link_token(employee.pk)])
        assert Client().get(urls[employee.pk]).status_code == 200
    employee_archive(actor=agency.actor, employee_id=archived.pk, expected_version=archived.version)
    erased.refresh_from_db()
    employee_anonymise(actor=agency.actor, employee_id=erased.pk, expected_version=erased.version)
    assert Client().get(urls[archived.pk]).status_code == 404
    assert Client().get(urls[erased.pk]).status_code == 404


def test_the_feed_costs_the_same_queries_for_one_shift_or_many(agency: Agency) -> None:
    one, many = agency.employee("One"), agency.employee("Many")
    agency.accepted(agency.event("Solo"), one)
    for i in range(6):
        event = agency.event(f"Shift {i}")
        invitation = agency.accepted(event, many)
        area = agency.area(event, "Bar", location="Hall 2")
        assignment_create(
            actor=agency.actor, work_area_id=area.pk, role_id=agency.bartender.pk, invitation_id=invitation.pk
        )
    counted = []
    for employee in (one, many):
        with CaptureQueriesContext(connection) as queries:
            employee_calendar_ics(employee)
        counted.append(len(queries))
    assert counted[0] == counted[1] <= 2, counted
