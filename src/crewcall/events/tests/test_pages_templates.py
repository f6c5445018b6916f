"""The template pages: list, new with field errors, edit with a stale version, archive."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.events.models import Event
from crewcall.events.services import event_create, event_update
from crewcall.testing.conflicts import conflict_post

pytestmark = pytest.mark.django_db


def make(agency, title: str = "Brunch") -> Event:
    return event_create(
        actor=agency.actor, title=title, start_time=time(10), end_time=time(14),
        hourly_rate=Decimal("14.00"), employees_needed=2, is_template=True,
    )  # fmt: skip


def form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Buffet", "start_time": "11:00", "end_time": "15:00", "hourly_rate": "15.00",
        "employees_needed": "3", "employees_to_ask": "",
    }  # fmt: skip
    data.update(changes)
    return data


def test_a_template_is_created_and_listed(client, bob) -> None:
    client.force_login(bob)
    assert client.post("/events/templates/new", form())["Location"] == "/events/templates/"
    tpl = Event.objects.get(is_template=True)
    assert (tpl.title, tpl.employees_to_ask, tpl.event_date) == ("Buffet", 3, None)
    page = client.get("/events/templates/").content.decode()
    assert "Buffet" in page and f"/events/new?template={tpl.pk}" in page


def test_bad_template_input_is_shown_by_field(client, bob) -> None:
    client.force_login(bob)
    response = client.post("/events/templates/new", form(end_time="09:00", hourly_rate="-1"))
    errors = response.context["form"].errors
    assert "end_time" in errors or "hourly_rate" in errors
    response = client.post("/events/templates/new", form(hourly_rate="abc", employees_needed="x"))
    assert set(response.context["form"].errors) == {"hourly_rate", "employees_needed"}
    assert not Event.objects.exists()


def _stale_edit(client, bob, agency) -> tuple[Any, Event]:
    """Bob renames the template and needs 3; meanwhile someone renamed it and set the location."""
    tpl = make(agency)
    client.force_login(bob)
    page = client.get(f"/events/templates/{tpl.pk}/edit").content.decode()
    assert f'name="version" value="{tpl.version}"' in page
    event_update(actor=agency.actor, event_id=tpl.pk, expected_version=tpl.version,
                 changes={"title": "Brunch XL", "location": "Garden"})  # fmt: skip
    stale = form(version=tpl.version, title="Brunch S", start_time="10:00", end_time="14:00",
                 hourly_rate="14.00", employees_needed="3")  # fmt: skip
    response = client.post(f"/events/templates/{tpl.pk}/edit", stale)
    assert response.status_code == 200
    tpl.refresh_from_db()
    return response, tpl


def test_a_stale_template_edit_shows_both_sides_and_writes_nothing(client, bob, agency) -> None:
    response, tpl = _stale_edit(client, bob, agency)
    rows = {row.name: row for row in response.context["conflict"].rows}
    assert (rows["title"].yours, rows["title"].theirs) == ("Brunch S", "Brunch XL")
    assert (rows["location"].yours, rows["location"].theirs) == ("—", "Garden")
    assert [row.name for row in response.context["conflict"].differing] == [
        "title", "location", "employees_needed", "employees_to_ask"
    ]  # fmt: skip
    assert (tpl.title, tpl.employees_needed) == ("Brunch XL", 2)
    page = response.content.decode()
    assert 'id="template-form"' not in page and "Work areas" in page
    assert f'class="take-theirs" href="/events/templates/{tpl.pk}/edit"' in page


def test_keep_mine_and_take_theirs_on_a_template(client, bob, agency) -> None:
    response, tpl = _stale_edit(client, bob, agency)
    # Take theirs: the edit form again, with what is stored; nothing written.
    page = client.get(f"/events/templates/{tpl.pk}/edit").content.decode()
    assert 'value="Brunch XL"' in page and Event.objects.get(pk=tpl.pk).version == tpl.version
    saved = client.post(f"/events/templates/{tpl.pk}/edit", conflict_post(response, "mine"))
    assert saved["Location"] == "/events/templates/"
    tpl.refresh_from_db()
    assert (tpl.title, tpl.location, tpl.employees_needed, tpl.employees_to_ask) == ("Brunch S", "", 3, 3)


def test_a_template_merge_takes_each_field_from_the_side_chosen(client, bob, agency) -> None:
    response, tpl = _stale_edit(client, bob, agency)
    data = conflict_post(response, "merge", title="theirs", location="theirs", employees_needed="mine",
                         employees_to_ask="mine")  # fmt: skip
    assert client.post(f"/events/templates/{tpl.pk}/edit", data).status_code == 302
    tpl.refresh_from_db()
    assert (tpl.title, tpl.location, tpl.employees_needed) == ("Brunch XL", "Garden", 3)


def test_a_template_merge_meeting_another_change_shows_the_conflict_again(client, bob, agency) -> None:
    response, tpl = _stale_edit(client, bob, agency)
    data = conflict_post(response, "merge", title="theirs")
    event_update(actor=agency.actor, event_id=tpl.pk, expected_version=tpl.version,
                 changes={"location": "Roof"})  # fmt: skip
    again = client.post(f"/events/templates/{tpl.pk}/edit", data)
    rows = {row.name: row for row in again.context["conflict"].rows}
    assert (rows["location"].yours, rows["location"].theirs) == ("—", "Roof")
    assert not rows["title"].differs
    tpl.refresh_from_db()
    assert (tpl.location, tpl.employees_needed) == ("Roof", 2)  # nothing written


def test_archive_hides_the_template_from_the_list(client, bob, carol, agency) -> None:
    tpl = make(agency)
    client.force_login(carol)
    assert client.post(f"/events/templates/{tpl.pk}/archive", {"version": tpl.version}).status_code == 403
    assert "Archive" not in client.get("/events/templates/").content.decode()
    client.force_login(bob)
    client.post(f"/events/templates/{tpl.pk}/archive", {"version": tpl.version})
    tpl.refresh_from_db()
    assert tpl.archived_at is not None
    assert "Brunch" not in client.get("/events/templates/").content.decode()
    assert "Brunch" in client.get("/events/templates/?archived=1").content.decode()


def test_the_template_list_runs_the_same_queries_for_2_and_30(client, bob, agency) -> None:
    client.force_login(bob)
    client.get("/events/templates/")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            client.get("/events/templates/")
        return len(queries)

    for n in range(2):
        agency.area(make(agency, f"T{n}"), "Bar", 2)
    small = count()
    for n in range(2, 30):
        agency.area(make(agency, f"T{n}"), "Bar", 2)
    assert count() == small
