"""The history page of one object: who changed what, when, through which door, field by
field; the same reading as the API (and the API's tests stay green on the shared code)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from crewcall.conftest import Agency
from crewcall.core.context import request_context
from crewcall.people import services as people

pytestmark = [pytest.mark.django_db]


def test_a_viewer_reads_who_changed_what(client: Client, agency: Agency, carol: Any) -> None:
    emil = agency.employee("Emil")
    people.employee_update(actor=agency.actor, employee_id=emil.pk, expected_version=emil.version,
                           changes={"notes": "speaks <b>French</b>"})  # fmt: skip
    client.force_login(carol)
    response = client.get(f"/history/employee/{emil.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "History of employee" in body and "Emil" in body
    assert "<td>Changed</td>" in body and "<td>Created</td>" in body
    assert "bob" in body
    # field by field, before → after, with the text escaped
    assert "<strong>Notes</strong>:" in body
    assert (
        '<span class="before">“”</span> → <span class="after">speaks &lt;b&gt;French&lt;/b&gt;</span>' in body
    )
    newest, oldest = response.context["entries"]
    assert newest["label"] == "update" and oldest["label"] == "insert" and oldest["first"]


def test_the_source_and_request_id_are_shown(client: Client, agency: Agency, carol: Any) -> None:
    emil = agency.employee("Emil")
    with request_context(source="api", request_id="req-page-0001"):
        people.employee_update(actor=agency.actor, employee_id=emil.pk, expected_version=emil.version,
                               changes={"notes": "x"})  # fmt: skip
    client.force_login(carol)
    response = client.get(f"/history/employee/{emil.pk}/")
    assert response.context["entries"][0]["context"]["source"] == "api"
    body = response.content.decode()
    assert "<code>req-page-0001</code>" in body
    assert '<span class="source">API</span>' in body


def test_users_history_needs_an_admin(client: Client, alice: Any, bob: Any, carol: Any) -> None:
    client.force_login(carol)
    assert client.get(f"/history/user/{bob.pk}/").status_code == 403
    client.force_login(alice)
    assert client.get(f"/history/user/{bob.pk}/").status_code == 200


def test_unknown_kinds_and_objects_are_not_found(client: Client, agency: Agency, carol: Any) -> None:
    client.force_login(carol)
    assert client.get("/history/spaceship/1/").status_code == 404
    assert client.get("/history/employee/999999/").status_code == 404


def test_pages_through_a_long_history(client: Client, agency: Agency, carol: Any) -> None:
    emil = agency.employee("Emil")
    for i in range(55):
        emil = people.employee_update(actor=agency.actor, employee_id=emil.pk, expected_version=emil.version,
                                      changes={"notes": f"note-{i:02d}"})  # fmt: skip
    client.force_login(carol)
    first = client.get(f"/history/employee/{emil.pk}/")
    assert len(first.context["entries"]) == 50 and first.context["more"]
    second = client.get(f"/history/employee/{emil.pk}/", {"after": first.context["more"]})
    assert [e["label"] for e in second.context["entries"]][-1] == "insert"
    assert len(second.context["entries"]) == 6
    # the oldest entry of a page still knows what changed since the one before it
    assert second.context["entries"][0]["fields"] == [
        {"name": "Notes", "before": "note-03", "after": "note-04"}
    ]
    assert client.get(f"/history/employee/{emil.pk}/?after=garbage").status_code == 200


def test_history_speaks_in_words_not_columns(client: Client, agency: Agency, carol: Any) -> None:
    emil = agency.employee("Emil")
    people.employee_update(actor=agency.actor, employee_id=emil.pk, expected_version=emil.version,
                           changes={"primary_role": agency.waiter, "employment_type": "mini_job"})  # fmt: skip
    event = agency.event("Gala")
    client.force_login(carol)
    for language, words in (
        ("en", ["<strong>Primary role</strong>", '<span class="before">Bartender</span> → <span class="after">Waiter</span>',
                "<strong>Employment type</strong>", "Mini job", "<td>Changed</td>"]),
        ("de", ["<strong>Hauptrolle</strong>", "<strong>Anstellungsart</strong>", "Minijob", "<td>Geändert</td>"]),
    ):  # fmt: skip
        body = client.get(
            f"/history/employee/{emil.pk}/", headers={"Accept-Language": language}
        ).content.decode()
        for word in words:
            assert word in body, (language, word)
        assert "primary_role_id" not in body and ">update<" not in body and ">insert<" not in body
    body = client.get(f"/history/event/{event.pk}/").content.decode()
    assert "<strong>Status</strong>" in body and '<span class="after">Recruiting</span>' in body
    assert "<strong>Date</strong>" in body and "<strong>Hourly rate</strong>" in body


def test_every_object_page_links_to_its_history_and_none_to_the_api(
    client: Client, agency: Agency, alice: Any, bob: Any
) -> None:
    from crewcall.events.services import event_create

    event = agency.event("Gala")
    area = agency.area(event)
    emil = agency.employee("Emil")
    template = event_create(
        actor=bob, title="Weekly", start_time=event.start_time, hourly_rate=event.hourly_rate,
        employees_needed=1, is_template=True,
    )  # fmt: skip
    client.force_login(bob)
    pages = {
        f"/events/{event.pk}/": f"/history/event/{event.pk}/",
        f"/employees/{emil.pk}/": f"/history/employee/{emil.pk}/",
        f"/events/{event.pk}/work-areas/{area.pk}/edit": f"/history/work-area/{area.pk}/",
        f"/events/templates/{template.pk}/edit": f"/history/event/{template.pk}/",
    }
    for page, history in pages.items():
        response = client.get(page)
        html = response.content.decode()
        assert response.status_code == 200, page
        assert f'href="{history}"' in html and "/api/v1/history" not in html, page
        assert client.get(history).status_code == 200, history
    client.force_login(alice)  # accounts are an admin's
    html = client.get(f"/users/{bob.pk}/").content.decode()
    assert f'href="/history/user/{bob.pk}/"' in html and "/api/v1/history" not in html
