"""Invitations over the API: the list, one invitation, the ask preview and asking, manual
status changes with If-Match, nudges."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.messaging.models import OutboundMessage
from crewcall.staffing.event_lifecycle import event_cancel
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create

pytestmark = pytest.mark.django_db


def staff(agency: Agency, n: int) -> list[Any]:
    return [agency.employee(name=f"E{i:02}") for i in range(n)]


def all_pages(api: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url, pages = path, 0
    while True:
        r = api.get(url)
        assert r.status_code == 200, r.content
        body = r.json()
        items += body["items"]
        pages += 1
        if body["next"] is None:
            return items
        assert pages < 50
        url = f"{path}&after={body['next']}"


def test_the_preview_asks_nobody_and_shows_who_asking_would_ask(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    staff(agency, 6)
    event = agency.event(employees_needed=2, employees_to_ask=4)
    api = api_as(bob)
    before = (Invitation.objects.count(), OutboundMessage.objects.count(), event.version)
    r = api.get(f"events/{event.pk}/ask-preview")
    assert r.status_code == 200, r.content
    preview = r.json()
    event.refresh_from_db()
    assert (Invitation.objects.count(), OutboundMessage.objects.count(), event.version) == before
    assert preview["next_wave"] == 1 and [p["rank"] for p in preview["picks"]] == [1, 2, 3, 4]
    assert all(p["reason"] and p["role"] == "bartender" for p in preview["picks"])

    r = api.post(f"events/{event.pk}/ask", {})
    assert r.status_code == 201, r.content
    asked = r.json()
    assert asked["wave"] == 1 and asked["created"] is True
    assert [i["employee_id"] for i in asked["invitations"]] == [p["employee_id"] for p in preview["picks"]]
    assert {i["pick_reason"] for i in asked["invitations"]} == {p["reason"] for p in preview["picks"]}
    assert Invitation.objects.filter(event=event).count() == 4

    # A retry naming the wave changes nothing and answers it again.
    r = api.post(f"events/{event.pk}/ask", {"wave": 1})
    assert r.status_code == 200 and r.json()["created"] is False
    assert {i["id"] for i in r.json()["invitations"]} == {i["id"] for i in asked["invitations"]}
    assert Invitation.objects.filter(event=event).count() == 4
    assert api.get(f"events/{event.pk}/ask-preview").json()["next_wave"] == 2


def test_ask_with_a_count_and_what_asking_refuses(agency: Agency, bob: Any, carol: Any, api_as: Any) -> None:
    staff(agency, 5)
    event = agency.event(employees_needed=1, employees_to_ask=1)
    api = api_as(bob)
    r = api.get(f"events/{event.pk}/ask-preview?count=3")
    assert r.status_code == 200 and len(r.json()["picks"]) == 3
    r = api.post(f"events/{event.pk}/ask", {"count": 2})
    assert r.status_code == 201 and len(r.json()["invitations"]) == 2
    # No body: the default number, which is nobody now (two open for one to ask): 200, nothing new.
    r = api.client.generic(
        "POST", f"/api/v1/events/{event.pk}/ask", b"", content_type="", headers=api.headers
    )
    assert r.status_code == 200 and r.json()["invitations"] == [], r.content
    assert Invitation.objects.filter(event=event).count() == 2
    for body, field in (({"count": 0}, "count"), ({"count": 501}, "count"), ({"count": "2"}, "count"),
                        ({"cuont": 2}, "cuont"), ({"wave": 7}, "wave")):  # fmt: skip
        r = api.post(f"events/{event.pk}/ask", body)
        assert r.status_code == 422, (body, r.content)
        assert field in {e["field"] for e in r.json()["errors"]}, r.json()
    assert api.get(f"events/{event.pk}/ask-preview?count=501").status_code == 422
    assert api.post("events/999999/ask", {}).status_code == 404
    assert api.get("events/999999/ask-preview").status_code == 404
    assert api.post("events/999999/nudge").status_code == 404
    assert api_as(carol).post(f"events/{event.pk}/ask", {}).status_code == 403
    cancelled = agency.event(title="Off")
    event_cancel(actor=bob, event_id=cancelled.pk, expected_version=cancelled.version)
    for r in (api.get(f"events/{cancelled.pk}/ask-preview"), api.post(f"events/{cancelled.pk}/ask", {})):
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status", r.content


def test_the_list_filters_sorts_and_pages_without_gaps(agency: Agency, bob: Any, api_as: Any) -> None:
    people = staff(agency, 7)
    event = agency.event(employees_needed=3, employees_to_ask=7)
    other = agency.event(title="Other")
    agency.accepted(other, people[0])  # another event's invitation never shows
    api = api_as(bob)
    asked = api.post(f"events/{event.pk}/ask", {}).json()["invitations"]
    first = asked[0]
    r = api.post(f"invitations/{first['id']}/status", {"status": "declined"}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content

    everything = all_pages(api, f"events/{event.pk}/invitations?limit=3&sort=id")
    assert [i["id"] for i in everything] == sorted(i["id"] for i in asked)
    newest_first = all_pages(api, f"events/{event.pk}/invitations?limit=2&sort=-id")
    assert [i["id"] for i in newest_first] == sorted((i["id"] for i in asked), reverse=True)
    by_answer = all_pages(api, f"events/{event.pk}/invitations?limit=2&sort=responded_at")
    assert len(asked) == 6  # the one booked for the other event that day is not asked
    assert by_answer[0]["id"] == first["id"] and len(by_answer) == 6  # NULLs (not answered) last
    declined = api.get(f"events/{event.pk}/invitations?status=declined").json()["items"]
    assert [i["id"] for i in declined] == [first["id"]]
    assert declined[0]["employee_name"].startswith("E") and declined[0]["employee_role"] == "bartender"
    assert declined[0]["response_method"] == "manual" and declined[0]["pick_reason"]

    for query, field in (("status=maybe", "status"), ("sort=name", "sort"), ("limit=0", "limit"),
                         ("limit=201", "limit"), ("after=garbage", "after")):  # fmt: skip
        r = api.get(f"events/{event.pk}/invitations?{query}")
        assert r.status_code == 422, (query, r.content)
        assert {e["field"] for e in r.json()["errors"]} == {field}, r.json()
    assert api.get("events/999999/invitations").status_code == 404


def test_a_manual_status_change_needs_the_version_read(
    agency: Agency, bob: Any, carol: Any, api_as: Any
) -> None:
    staff(agency, 3)
    event = agency.event(employees_needed=1, employees_to_ask=3)
    api = api_as(bob)
    invitation = api.post(f"events/{event.pk}/ask", {}).json()["invitations"][0]
    path = f"invitations/{invitation['id']}"
    r = api.get(path)
    assert r.status_code == 200 and r["ETag"] == '"1"' and r.json()["status"] == "asked"

    r = api.post(f"{path}/status", {"status": "accepted"})
    assert r.status_code == 428 and r.json()["errors"][0]["field"] == "header:If-Match"
    assert (
        api_as(carol).post(f"{path}/status", {"status": "accepted"}, **{"If-Match": '"1"'}).status_code == 403
    )
    r = api.post(f"{path}/status", {"status": "accepted", "note": "called her"}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "accepted" and body["response_method"] == "manual" and body["responded_at"]
    assert r["ETag"] == f'"{body["version"]}"' and body["version"] == 2
    event.refresh_from_db()
    assert event.status == "staffed"  # one acceptance of one needed

    r = api.post(f"{path}/status", {"status": "declined"}, **{"If-Match": '"1"'})
    assert r.status_code == 412 and r.json()["current"]["status"] == "accepted" and r["ETag"] == '"2"'
    r = api.post(f"{path}/status", {"status": "waitlisted"}, **{"If-Match": '"2"'})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    for bad in (
        {"status": "asked"},
        {"status": "accepted", "note": "x" * 201},
        {"status": "accepted", "note": "\u0000"},
    ):
        r = api.post(f"{path}/status", bad, **{"If-Match": '"2"'})
        assert r.status_code == 422, (bad, r.content)
    assert (
        api.post("invitations/999999/status", {"status": "accepted"}, **{"If-Match": '"1"'}).status_code
        == 404
    )
    assert api.get("invitations/999999").status_code == 404


def test_a_nudge_reminds_those_who_have_not_answered_once_a_day(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    staff(agency, 4)
    event = agency.event(employees_needed=2, employees_to_ask=4)
    api = api_as(bob)
    asked = api.post(f"events/{event.pk}/ask", {}).json()["invitations"]
    api.post(f"invitations/{asked[0]['id']}/status", {"status": "declined"}, **{"If-Match": '"1"'})
    r = api.post(f"events/{event.pk}/nudge")
    assert r.status_code == 200 and r.json() == {"event_id": event.pk, "nudged": 3}
    assert OutboundMessage.objects.filter(event=event, kind="nudge").count() == 3
    assert api.post(f"events/{event.pk}/nudge").json()["nudged"] == 0


def test_the_list_costs_the_same_queries_for_few_and_many(agency: Agency, bob: Any, api_as: Any) -> None:
    few, many = agency.event(title="Few"), agency.event(title="Many")
    people = staff(agency, 25)
    for person in people[:2]:
        agency.accepted(few, person)
    for person in people:
        invitation_create(actor=bob, event_id=many.pk, employee_id=person.pk)
    api = api_as(bob)
    api.get("invitations/1")  # the token's first use is recorded once; not part of the count

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = api.get(path)
        assert r.status_code == 200, r.content
        return len(ctx.captured_queries)

    assert queries(f"events/{few.pk}/invitations") == queries(f"events/{many.pk}/invitations")
    assert len(api.get(f"events/{many.pk}/invitations").json()["items"]) == 25
