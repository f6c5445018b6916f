"""The work log over the API: entries of an event, one entry, recording, changing with
If-Match (changed hours drop the approval) and approving."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.staffing.models import WorkLog

pytestmark = pytest.mark.django_db

PAST = timezone.localdate() - dt.timedelta(days=3)


def at(hour: int, minute: int = 0, day: dt.date = PAST) -> str:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute))).isoformat()


def shift(employee: Any, start: int = 18, end: int = 23, pause: int = 30) -> dict[str, Any]:
    return {"employee_id": employee.pk, "started_at": at(start), "ended_at": at(end), "break_minutes": pause}


def test_an_entry_is_recorded_changed_and_approved(agency: Agency, bob: Any, carol: Any, api_as: Any) -> None:
    event = agency.event(event_date=PAST)
    emil = agency.employee(name="Emil")
    agency.accepted(event, emil)
    api = api_as(bob)
    assert api_as(carol).post(f"events/{event.pk}/work-log", shift(emil)).status_code == 403
    r = api.post(f"events/{event.pk}/work-log", shift(emil))
    assert r.status_code == 201, r.content
    entry = r.json()
    assert entry["hours"] == "4.50" and entry["employee_name"] == "Emil" and entry["approved"] is False
    assert r["ETag"] == '"1"' and r["Location"] == f"/api/v1/work-log/{entry['id']}"
    path = f"work-log/{entry['id']}"

    assert api.post(f"{path}/approve").status_code == 428
    r = api.post(f"{path}/approve", **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    assert r.json()["approved"] is True and r.json()["approved_by_id"] == bob.pk and r["ETag"] == '"2"'

    # A note keeps the approval; approved hours are locked until reopened.
    r = api.patch(path, {"note": "left early"}, **{"If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["approved"] is True and r.json()["note"] == "left early"
    assert r.json()["hours"] == "4.50"
    assert api.patch(path, {"break_minutes": 0}).status_code == 428
    r = api.patch(path, {"break_minutes": 0}, **{"If-Match": '"2"'})
    assert r.status_code == 412 and r.json()["current"]["note"] == "left early" and r["ETag"] == '"3"'
    r = api.patch(path, {"break_minutes": 0}, **{"If-Match": '"3"'})
    assert r.status_code == 409 and r.json()["errors"] == [
        {
            "field": "approved_at",
            "message": "These hours are approved and locked; reopen them to change them.",
        }
    ]
    assert api.post(f"{path}/reopen").status_code == 428
    r = api.post(f"{path}/reopen", **{"If-Match": '"3"'})
    assert r.status_code == 200 and r.json()["approved"] is False and r.json()["approved_by_id"] is None
    assert api.post(f"{path}/reopen", **{"If-Match": '"4"'}).status_code == 409  # nothing to reopen
    assert api_as(carol).post(f"{path}/reopen", **{"If-Match": '"4"'}).status_code == 403
    r = api.patch(path, {"break_minutes": 0}, **{"If-Match": '"4"'})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["hours"] == "5.00" and body["approved"] is False and body["approved_by_id"] is None
    assert body["started_at"] == entry["started_at"] and body["note"] == "left early"
    r = api.get(path)
    assert r.status_code == 200 and r["ETag"] == f'"{body["version"]}"'


def test_bad_entries_are_refused_naming_the_field(agency: Agency, bob: Any, api_as: Any) -> None:
    event = agency.event(event_date=PAST)
    emil = agency.employee(name="Emil")
    agency.accepted(event, emil)
    api = api_as(bob)
    cases = [
        ({**shift(emil), "started_at": PAST.isoformat() + "T18:00:00"}, "started_at"),  # no offset
        ({**shift(emil), "ended_at": 1700000000}, "ended_at"),
        ({**shift(emil), "break_minutes": 1441}, "break_minutes"),
        ({**shift(emil), "break_minutes": -1}, "break_minutes"),
        ({**shift(emil), "break_minutes": "30"}, "break_minutes"),
        ({**shift(emil), "started_at": "9999-12-31T23:00:00-05:00"}, "started_at"),
        ({**shift(emil), "ended_at": "0001-01-01T00:00:00+05:00"}, "ended_at"),
        ({**shift(emil), "employee_id": 2**63}, "employee_id"),
        ({**shift(emil), "employee_id": 999999}, "employee_id"),
        ({**shift(emil), "note": "\u0000"}, "note"),
        ({**shift(emil), "hours": "9"}, "hours"),
        (shift(emil, start=23, end=18), "ended_at"),
        (shift(emil, pause=600), "break_minutes"),
    ]
    for body, field in cases:
        r = api.post(f"events/{event.pk}/work-log", body)
        assert r.status_code == 422, (body, r.content)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.json())
    assert api.post("events/999999/work-log", shift(emil)).status_code == 404
    assert api.post(f"events/{event.pk}/work-log", shift(emil)).status_code == 201
    r = api.post(f"events/{event.pk}/work-log", shift(emil))
    assert r.status_code == 409, r.content  # one entry per employee and event
    entry = WorkLog.objects.get()
    r = api.patch(f"work-log/{entry.pk}", {"started_at": None}, **{"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "started_at"
    assert api.get("work-log/999999").status_code == 404
    assert api.patch("work-log/999999", {"note": "x"}, **{"If-Match": '"1"'}).status_code == 404


def test_the_list_filters_pages_and_costs_the_same_queries(agency: Agency, bob: Any, api_as: Any) -> None:
    small = agency.event(title="Small", event_date=PAST)
    large = agency.event(title="Large", event_date=PAST, employees_needed=12, employees_to_ask=12)
    people = [agency.employee(name=f"E{i:02}") for i in range(12)]
    agency.accepted(small, people[0])
    for person in people:
        agency.accepted(large, person)
    api = api_as(bob)
    api.post(f"events/{small.pk}/work-log", shift(people[0]))
    ids = [api.post(f"events/{large.pk}/work-log", shift(p, start=12 + i % 6)).json()["id"]
           for i, p in enumerate(people)]  # fmt: skip
    api.post(f"work-log/{ids[3]}/approve", **{"If-Match": '"1"'})

    seen: list[int] = []
    url = f"events/{large.pk}/work-log?limit=5"
    while url:
        body = api.get(url).json()
        seen += [e["id"] for e in body["items"]]
        url = body["next"] and f"events/{large.pk}/work-log?limit=5&after={body['next']}"
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    starts = [WorkLog.objects.get(pk=i).started_at for i in seen]
    assert starts == sorted(starts)  # started_at order by default
    approved = api.get(f"events/{large.pk}/work-log?approved=true").json()["items"]
    assert [e["id"] for e in approved] == [ids[3]]
    assert len(api.get(f"events/{large.pk}/work-log?approved=false").json()["items"]) == 11
    mine = api.get(f"events/{large.pk}/work-log?employee_id={people[5].pk}").json()["items"]
    assert [e["employee_id"] for e in mine] == [people[5].pk]
    assert api.get(f"events/{large.pk}/work-log?sort=hours").status_code == 422
    assert api.get("events/999999/work-log").status_code == 404

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx.captured_queries)

    assert queries(f"events/{small.pk}/work-log") == queries(f"events/{large.pk}/work-log")
