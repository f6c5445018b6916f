"""The dispatcher's event pages through Django's test client: lists, forms, field errors,
stale saves, status actions and who may do what."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crewcall.events.models import Event, WorkArea
from crewcall.events.services import event_create, event_update
from crewcall.testing.conflicts import conflict_post

pytestmark = pytest.mark.django_db

DAY = timezone.localdate() + timedelta(days=14)


def blank_post(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": "blank",
        "blank-title": "Hochzeit Meier",
        "blank-event_date": DAY.isoformat(),
        "blank-start_time": "17:00",
        "blank-end_time": "23:30",
        "blank-location": "Schloss",
        "blank-hourly_rate": "16.00",
        "blank-employees_needed": "3",
        "blank-employees_to_ask": "5",
    }
    data.update({f"blank-{k}": v for k, v in changes.items()})
    return data


def edit_post(event: Event, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "version": event.version,
        "title": event.title,
        "event_date": event.event_date.isoformat() if event.event_date else "",
        "start_time": event.start_time.strftime("%H:%M"),
        "end_time": event.end_time.strftime("%H:%M") if event.end_time else "",
        "location": event.location,
        "hourly_rate": str(event.hourly_rate),
        "employees_needed": event.employees_needed,
        "employees_to_ask": event.employees_to_ask,
    }
    data.update(changes)
    return data


def template(agency, title: str = "Gala template") -> Event:
    tpl = event_create(
        actor=agency.actor, title=title, start_time=time(18), end_time=time(23),
        hourly_rate=Decimal("15.00"), employees_needed=4, employees_to_ask=6, is_template=True,
    )  # fmt: skip
    agency.area(tpl, "Bar", 3, role_requirements={"bartender": 2})
    agency.area(tpl, "Kitchen", 2)
    return tpl


# ── list ───────────────────────────────────────────────────────────────────


def test_the_list_shows_upcoming_events_by_date_with_counts(client, bob, agency) -> None:
    later = agency.event("Later", event_date=DAY + timedelta(days=3))
    sooner = agency.event("Sooner", event_date=DAY)
    agency.event("Gone", status="draft", event_date=timezone.localdate() - timedelta(days=3))
    agency.accepted(sooner, agency.employee("Ann"))
    client.force_login(bob)
    page = client.get("/events/").content.decode()
    assert page.index("Sooner") < page.index("Later")
    assert "Gone" not in page
    assert 'data-live="events_event staffing_invitation events_assignment"' in page
    assert f'href="/events/{later.pk}/"' in page
    assert "status-recruiting" in page
    past = client.get("/events/?when=past").content.decode()
    assert "Gone" in past and "Sooner" not in past


def test_the_list_filters_by_status_and_answers_htmx_with_the_fragment(client, carol, agency) -> None:
    agency.event("Open one")
    agency.event("Draft one", status="draft")
    client.force_login(carol)
    page = client.get("/events/?status=draft", headers={"HX-Request": "true"}).content.decode()
    assert "Draft one" in page and "Open one" not in page
    assert "<html" not in page and 'id="events-live"' in page
    assert "New event" not in client.get("/events/").content.decode()  # a viewer gets no buttons


def test_a_reversed_date_range_is_a_field_error(client, bob) -> None:
    client.force_login(bob)
    page = client.get(f"/events/?date_from={DAY}&date_to={DAY - timedelta(days=1)}").content.decode()
    assert "Must be on or after the start of the range." in page


def test_the_list_runs_the_same_queries_for_3_and_40_events(client, bob, agency) -> None:
    client.force_login(bob)
    client.get("/events/")  # warm up (session, user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/events/").status_code == 200
        return len(queries)

    for n in range(3):
        agency.accepted(agency.event(f"E{n}"), agency.employee(f"P{n}"))
    small = count()
    for n in range(3, 40):
        agency.event(f"E{n}", event_date=DAY + timedelta(days=n))
    assert count() == small


# ── new ────────────────────────────────────────────────────────────────────


def test_a_blank_event_is_created_as_a_draft(client, bob) -> None:
    client.force_login(bob)
    response = client.post("/events/new", blank_post())
    event = Event.objects.get(title="Hochzeit Meier")
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    assert (event.status, event.employees_to_ask, event.created_by) == ("draft", 5, bob)


def test_a_german_reader_writes_the_rate_with_a_comma(client, bob) -> None:
    client.force_login(bob)
    german = {"Accept-Language": "de"}
    response = client.post("/events/new", blank_post(hourly_rate="5,50"), headers=german)
    event = Event.objects.get(title="Hochzeit Meier")
    assert response.status_code == 302 and event.hourly_rate == Decimal("5.50")
    form = client.get(f"/events/{event.pk}/edit", headers=german).content.decode()
    assert 'value="5,50"' in form
    assert client.post("/events/new", blank_post(title="Zwei", hourly_rate="5.50")).status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end_time": "16:00"}, "end_time", "The end must be after the start"),
        ({"hourly_rate": "0"}, "hourly_rate", "a rate of 0 pays nothing"),
        ({"hourly_rate": "abc"}, "hourly_rate", "Enter a number."),
        ({"employees_needed": "0"}, "employees_needed", "This must be at least 1."),
        ({"employees_to_ask": "1"}, "employees_to_ask", "Ask at least as many people"),
        ({"title": "   "}, "title", "This field is required."),
        ({"event_date": "2026-13-45"}, "event_date", "Enter a valid date."),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_written(
    client, bob, changes, field, message
) -> None:
    client.force_login(bob)
    response = client.post("/events/new", blank_post(**changes))
    assert response.status_code == 200
    errors = response.context["blank"].errors
    assert any(message in text for text in errors[field]), errors
    assert f'id="id_blank-{field}_errors"' in response.content.decode()
    assert not Event.objects.exists()


def test_an_event_from_a_template_copies_its_work_areas(client, bob, agency) -> None:
    tpl = template(agency)
    client.force_login(bob)
    page = client.get(f"/events/new?template={tpl.pk}").content.decode()
    assert f'<option value="{tpl.pk}" selected>' in page
    response = client.post(
        "/events/new", {"kind": "template", "tpl-template": tpl.pk, "tpl-event_date": DAY.isoformat()}
    )
    event = Event.objects.get(is_template=False)
    assert response["Location"] == f"/events/{event.pk}/"
    assert (event.title, event.template_id, event.event_date) == ("Gala template", tpl.pk, DAY)
    areas = WorkArea.objects.filter(event=event).order_by("name")
    assert [(a.name, a.max_capacity, a.role_requirements) for a in areas] == [
        ("Bar", 3, {"bartender": 2}),
        ("Kitchen", 2, {}),
    ]
    detail = client.get(f"/events/{event.pk}/").content.decode()
    assert "Bar" in detail and "2 \N{MULTIPLICATION SIGN} bartender" in detail


def test_an_archived_template_cannot_be_chosen(client, bob, agency) -> None:
    tpl = template(agency)
    client.force_login(bob)
    client.post(f"/events/templates/{tpl.pk}/archive", {"version": tpl.version})
    response = client.post(
        "/events/new", {"kind": "template", "tpl-template": tpl.pk, "tpl-event_date": DAY.isoformat()}
    )
    assert response.status_code == 200 and response.context["from_template"].errors["template"]
    assert not Event.objects.filter(is_template=False).exists()


# ── detail, edit, conflicts ────────────────────────────────────────────────


def test_the_detail_shows_fields_work_areas_and_invitation_counts(client, carol, agency) -> None:
    event = agency.event("Sommerfest", location="Park")
    agency.area(event, "Bar", 4, role_requirements={"bartender": 2})
    agency.accepted(event, agency.employee("Ann"))
    client.force_login(carol)
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "Sommerfest" in page and "Park" in page and "2 \N{MULTIPLICATION SIGN} bartender" in page
    assert (
        '<li data-status="accepted"><span class="count-label">Accepted</span> <span class="count-value">1'
        in page
    )
    assert "Edit" not in page and "Cancel event" not in page  # read only for a viewer


def test_an_edit_saves_with_the_version_read(client, bob, agency) -> None:
    event = agency.event("Old title")
    client.force_login(bob)
    page = client.get(f"/events/{event.pk}/edit").content.decode()
    assert f'name="version" value="{event.version}"' in page
    response = client.post(f"/events/{event.pk}/edit", edit_post(event, title="New title"))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "New title"


def _stale_edit(client, bob, agency) -> tuple[Any, Event]:
    """Bob changes title and rate from the version he read; meanwhile someone changed the
    location and the rate. The conflict view shows both and writes nothing."""
    event = agency.event("Original", location="Hall A")
    stale = edit_post(event, title="Mine", hourly_rate="17.00")
    event_update(
        actor=agency.actor,
        event_id=event.pk,
        expected_version=event.version,
        changes={"location": "Theirs Hall", "hourly_rate": Decimal("18.00")},
    )
    client.force_login(bob)
    response = client.post(f"/events/{event.pk}/edit", stale)
    assert response.status_code == 200
    event.refresh_from_db()
    return response, event


def test_a_stale_save_shows_both_versions_and_writes_nothing(client, bob, agency) -> None:
    response, event = _stale_edit(client, bob, agency)
    page = response.content.decode()
    assert "Someone else saved a change meanwhile" in page and 'id="edit-form"' not in page
    rows = {row.name: row for row in response.context["conflict"].rows}
    assert (rows["title"].yours, rows["title"].theirs) == ("Mine", "Original")
    assert (rows["location"].yours, rows["location"].theirs) == ("Hall A", "Theirs Hall")
    assert (rows["hourly_rate"].yours, rows["hourly_rate"].theirs) == ("17.00", "18.00")
    assert [row.name for row in response.context["conflict"].differing] == [
        "title",
        "location",
        "hourly_rate",
    ]
    assert (event.title, event.location, event.hourly_rate) == ("Original", "Theirs Hall", Decimal("18.00"))
    assert f'name="version" value="{event.version}"' in page  # the version the view shows


def test_keep_mine_overwrites_theirs(client, bob, agency) -> None:
    response, event = _stale_edit(client, bob, agency)
    saved = client.post(f"/events/{event.pk}/edit", conflict_post(response, "mine"))
    assert saved.status_code == 302 and saved["Location"] == f"/events/{event.pk}/"
    event.refresh_from_db()
    assert (event.title, event.location, event.hourly_rate) == ("Mine", "Hall A", Decimal("17.00"))


def test_take_theirs_leads_to_the_event_as_stored(client, bob, agency) -> None:
    response, event = _stale_edit(client, bob, agency)
    assert f'class="take-theirs" href="/events/{event.pk}/"' in response.content.decode()
    assert "Theirs Hall" in client.get(f"/events/{event.pk}/").content.decode()
    stored = Event.objects.get(pk=event.pk)
    assert (stored.version, stored.title) == (event.version, "Original")


def test_a_merge_takes_each_field_from_the_side_chosen(client, bob, agency) -> None:
    response, event = _stale_edit(client, bob, agency)
    data = conflict_post(response, "merge", title="mine", location="theirs", hourly_rate="theirs")
    assert client.post(f"/events/{event.pk}/edit", data).status_code == 302
    event.refresh_from_db()
    assert (event.title, event.location, event.hourly_rate) == ("Mine", "Theirs Hall", Decimal("18.00"))
    assert (event.start_time, event.employees_needed) == (time(18), 2)  # the fields that did not differ


def test_a_merge_meeting_another_change_shows_the_conflict_again(client, bob, agency) -> None:
    response, event = _stale_edit(client, bob, agency)
    data = conflict_post(response, "merge", title="mine", location="theirs", hourly_rate="mine")
    event_update(actor=agency.actor, event_id=event.pk, expected_version=event.version,
                 changes={"title": "Third"})  # fmt: skip
    again = client.post(f"/events/{event.pk}/edit", data)
    assert again.status_code == 200
    rows = {row.name: row for row in again.context["conflict"].rows}
    assert (rows["title"].yours, rows["title"].theirs) == ("Mine", "Third")
    assert not rows["location"].differs and rows["hourly_rate"].yours == "17.00"
    event.refresh_from_db()
    assert (event.title, event.hourly_rate) == ("Third", Decimal("18.00"))  # nothing written
    assert (
        client.post(f"/events/{event.pk}/edit", conflict_post(again, "merge", title="theirs")).status_code
        == 302
    )
    event.refresh_from_db()
    assert (event.title, event.location, event.hourly_rate) == ("Third", "Theirs Hall", Decimal("17.00"))


def test_an_edit_with_end_before_start_shows_the_error(client, bob, agency) -> None:
    event = agency.event("Gala")
    client.force_login(bob)
    response = client.post(f"/events/{event.pk}/edit", edit_post(event, end_time="10:00"))
    assert "The end must be after the start" in " ".join(response.context["form"].errors["end_time"])
    event.refresh_from_db()
    assert event.end_time == time(23)


# ── status actions, weekly copies ──────────────────────────────────────────


def test_open_for_recruiting_cancel_and_delete(client, bob, agency) -> None:
    draft = agency.event("Draft", status="draft")
    client.force_login(bob)
    assert "Open for recruiting" in client.get(f"/events/{draft.pk}/").content.decode()
    client.post(f"/events/{draft.pk}/status", {"version": draft.version, "to_status": "recruiting"})
    draft.refresh_from_db()
    assert draft.status == "recruiting"
    # A stale button changes nothing and says why.
    response = client.post(f"/events/{draft.pk}/cancel", {"version": draft.version - 1}, follow=True)
    assert "Someone else changed this event" in response.content.decode()
    assert "cancel the event" in client.get(f"/events/{draft.pk}/cancel").content.decode()
    client.post(f"/events/{draft.pk}/cancel", {"version": draft.version})
    draft.refresh_from_db()
    assert draft.status == "cancelled"

    other = agency.event("Other draft", status="draft")
    response = client.post(f"/events/{other.pk}/delete", {"version": other.version})
    assert response["Location"] == "/events/" and not Event.objects.filter(pk=other.pk).exists()
    refused = client.post(f"/events/{draft.pk}/delete", {"version": draft.version}, follow=True)
    assert "Only a draft can be deleted" in refused.content.decode()


def test_weekly_copies_make_n_events_with_work_areas(client, bob, agency) -> None:
    event = agency.event("Weekly", event_date=DAY)
    agency.area(event, "Bar", 2)
    client.force_login(bob)
    response = client.post(f"/events/{event.pk}/weekly-copies", {"count": 3})
    copies = list(Event.objects.filter(title="Weekly").exclude(pk=event.pk).order_by("event_date"))
    assert [c.event_date for c in copies] == [DAY + timedelta(weeks=n) for n in (1, 2, 3)]
    assert all(c.work_areas.count() == 1 for c in copies)
    assert "3 copies made" in response.content.decode()
    bad = client.post(f"/events/{event.pk}/weekly-copies", {"count": 53})
    assert bad.context["form"].errors["count"]
    assert Event.objects.filter(title="Weekly").count() == 4


# ── roles ──────────────────────────────────────────────────────────────────


def test_a_viewer_reads_but_cannot_write(client, carol, agency) -> None:
    event = agency.event("Gala", status="draft")
    client.force_login(carol)
    assert client.get("/events/").status_code == 200
    assert client.get(f"/events/{event.pk}/").status_code == 200
    assert client.get("/events/templates/").status_code == 200
    for url, data in [
        ("/events/new", blank_post()),
        (f"/events/{event.pk}/edit", edit_post(event, title="X")),
        (f"/events/{event.pk}/status", {"version": event.version, "to_status": "recruiting"}),
        (f"/events/{event.pk}/cancel", {"version": event.version}),
        (f"/events/{event.pk}/delete", {"version": event.version}),
        (f"/events/{event.pk}/weekly-copies", {"count": 2}),
        ("/events/templates/new", {"title": "T"}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert client.get("/events/new").status_code == 403
    event.refresh_from_db()
    assert (event.title, event.status, Event.objects.count()) == ("Gala", "draft", 1)


def test_signed_out_goes_to_sign_in_and_an_employee_account_is_refused(client, oscar) -> None:
    assert client.get("/events/").status_code == 302
    client.force_login(oscar)
    assert client.get("/events/").status_code == 403


def test_a_template_id_is_not_an_event_page(client, bob, agency) -> None:
    tpl = template(agency)
    client.force_login(bob)
    assert client.get(f"/events/{tpl.pk}/").status_code == 404
    assert client.get(f"/events/{tpl.pk}/edit").status_code == 404
