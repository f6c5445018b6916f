"""/events over the API: the lifecycle with versions, lists, and strict input."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.events.models import Event
from crewcall.testing.api import Api, error_fields

pytestmark = pytest.mark.django_db

NEW_EVENT = {
    "title": "Summer gala",
    "location": "Harbour hall",
    "event_date": "2030-07-05",
    "start_time": "18:00",
    "end_time": "02:00",
    "ends_next_day": True,
    "hourly_rate": "16.50",
    "employees_needed": 3,
    "employees_to_ask": 5,
    "reply_deadline": "2030-07-01T12:00:00+02:00",
}


def match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def test_an_event_goes_through_its_lifecycle(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("events", NEW_EVENT)
    assert r.status_code == 201, r.content
    event = r.json()
    assert r["ETag"] == '"1"' and r["Location"] == f"/api/v1/events/{event['id']}"
    assert (event["status"], event["hourly_rate"], event["end_time"]) == ("draft", "16.50", "02:00:00")
    assert event["summary"] == {
        "work_areas": 0,
        "capacity": 0,
        "assigned": 0,
        "invitations": {s: 0 for s in event["summary"]["invitations"]},
    }
    path = f"events/{event['id']}"
    r = api.patch(path, {"title": "Summer gala 2030", "end_time": None, "ends_next_day": False}, **match(1))
    assert r.status_code == 200, r.content
    assert (r.json()["title"], r.json()["end_time"], r["ETag"]) == ("Summer gala 2030", None, '"2"')
    r = api.post(f"{path}/transition", {"to_status": "recruiting"}, **match(2))
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "recruiting" and r["ETag"] == '"3"'
    r = api.post(f"{path}/cancel", **match(3))
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"
    assert Event.objects.get(pk=event["id"]).status == "cancelled"


def test_writes_need_the_version_read(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    event = agency.event(status="draft")
    path = f"events/{event.pk}"
    for method, url, body in [
        ("patch", path, {"title": "X"}),
        ("post", f"{path}/transition", {"to_status": "recruiting"}),
        ("post", f"{path}/cancel", None),
        ("delete", path, None),
    ]:
        r = api.call(method, url, body)
        assert r.status_code == 428, (method, url, r.content)
        assert "header:If-Match" in error_fields(r)
        # One strong ETag of ours, nothing else: a weak one never matches (RFC 9110).
        for malformed in (f'W/"{event.version}"', "*", f'"{event.version}", "1"', "7"):
            r = api.call(method, url, body, **{"If-Match": malformed})
            assert r.status_code == 422, (method, url, malformed, r.content)
            assert error_fields(r) == {"header:If-Match"}
    r = api.patch(path, {"title": "Edited"}, **match(event.version))
    assert r.status_code == 200
    stale = match(event.version)
    for method, url, body in [
        ("patch", path, {"title": "Lost"}),
        ("post", f"{path}/transition", {"to_status": "recruiting"}),
        ("post", f"{path}/cancel", None),
        ("delete", path, None),
    ]:
        r = api.call(method, url, body, **stale)
        assert r.status_code == 412, (method, url, r.content)
        assert r.json()["current"]["title"] == "Edited"
        assert r["ETag"] == f'"{event.version + 1}"'
    event.refresh_from_db()
    assert (event.title, event.status) == ("Edited", "draft")


def test_illegal_transitions_are_refused(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    event = agency.event(status="draft")
    r = api.post(f"events/{event.pk}/transition", {"to_status": "completed"}, **match(event.version))
    assert r.status_code == 422 and "status" in error_fields(r), r.content
    r = api.post(f"events/{event.pk}/transition", {"to_status": "finished"}, **match(event.version))
    assert r.status_code == 422 and error_fields(r) == {"to_status"}
    event.refresh_from_db()
    assert event.status == "draft"


def test_only_a_draft_without_history_is_deleted(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    draft = agency.event(status="draft")
    agency.area(draft, "Bar")
    live = agency.event("Live")
    r = api.delete(f"events/{live.pk}", **match(live.version))
    assert r.status_code == 422 and "status" in error_fields(r)
    r = api.delete(f"events/{draft.pk}", **match(draft.version))
    assert r.status_code == 204, r.content
    assert not Event.objects.filter(pk=draft.pk).exists()
    assert api.get(f"events/{draft.pk}").status_code == 404


def test_the_list_filters_sorts_and_pages(agency: Agency, carol: Any, api_as: Any) -> None:
    for day, title, status in [(3, "Cfest", "draft"), (1, "Abend", "recruiting"), (2, "Ball", "recruiting")]:
        agency.event(title, status=status, event_date=date(2030, 5, day), location="Hall " + title)
    agency.event("Elsewhere", status="draft", event_date=date(2031, 1, 1))
    from crewcall.events.services import event_create

    event_create(
        actor=agency.actor,
        title="Pattern",
        start_time=time(9),
        hourly_rate=Decimal(1),
        employees_needed=1,
        is_template=True,
    )
    api = api_as(carol)

    def titles(query: str) -> list[str]:
        r = api.get(f"events?{query}")
        assert r.status_code == 200, r.content
        return [e["title"] for e in r.json()["items"]]

    assert titles("") == ["Abend", "Ball", "Cfest", "Elsewhere"]
    assert titles("status=recruiting") == ["Abend", "Ball"]
    assert titles("date_from=2030-05-02&date_to=2030-05-31") == ["Ball", "Cfest"]
    assert titles("q=hall%20c") == ["Cfest"]
    assert titles("sort=-title") == ["Elsewhere", "Cfest", "Ball", "Abend"]
    first = api.get("events?limit=3").json()
    assert [e["title"] for e in first["items"]] == ["Abend", "Ball", "Cfest"] and first["next"]
    rest = api.get(f"events?limit=3&after={first['next']}").json()
    assert [e["title"] for e in rest["items"]] == ["Elsewhere"] and rest["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2030-13-01", "date_from"),
        ("date_to=yesterday", "date_to"),
        ("date_from=2030-05-02&date_to=2030-05-01", "date_to"),
        ("status=open", "status"),
        ("sort=location", "sort"),
        ("limit=0", "limit"),
        ("q=%00", "q"),
        ("after=bm9wZQ", "after"),
    ],
)
def test_bad_list_parameters_are_named(carol: Any, api_as: Any, query: str, field: str) -> None:
    r = api_as(carol).get(f"events?{query}")
    assert r.status_code == 422, r.content
    assert error_fields(r) == {field}, r.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hourly_rate": "abc"}, "hourly_rate"),
        ({"hourly_rate": 16.5}, "hourly_rate"),
        ({"hourly_rate": "1.234"}, "hourly_rate"),
        ({"employees_needed": -1}, "employees_needed"),
        ({"employees_needed": 10**12}, "employees_needed"),
        ({"employees_needed": "3"}, "employees_needed"),
        ({"surprise": 1}, "surprise"),
        ({"title": "Gala\u0000"}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"end_time": "25:00"}, "end_time"),
        ({"start_time": "18:00+02:00"}, "start_time"),
        ({"event_date": "2030-02-30"}, "event_date"),
        ({"event_date": "20300705"}, "event_date"),  # Python reads these; the API does not
        ({"event_date": "2030-W27-5"}, "event_date"),
        ({"event_date": "0001-01-01"}, "event_date"),
        ({"event_date": "9999-12-31"}, "event_date"),
        ({"reply_deadline": "2030-07-01T12:00:00+23:59"}, "reply_deadline"),
        ({"reply_deadline": "2030-W27-1T12:00:00+02:00"}, "reply_deadline"),
        ({"reply_deadline": "2030-07-01T12:00:00"}, "reply_deadline"),
        ({"reply_deadline": "9999-12-31T23:00:00-12:00"}, "reply_deadline"),
        ({"status": "staffed"}, "status"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    bob: Any, api_as: Any, change: dict[str, Any], field: str
) -> None:
    r = api_as(bob).post("events", {**NEW_EVENT, **change})
    assert r.status_code == 422, r.content
    assert r["Content-Type"] == "application/problem+json"
    assert error_fields(r) == {field}, r.json()
    assert not Event.objects.exists()


def test_database_rules_answer_with_the_field(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("events", {**NEW_EVENT, "employees_needed": 5, "employees_to_ask": 2})
    assert r.status_code == 409 and error_fields(r) == {"employees_to_ask"}, r.content
    event = agency.event(status="draft")
    r = api.patch(f"events/{event.pk}", {"end_time": "17:00"}, **match(event.version))
    assert r.status_code == 409 and error_fields(r) == {"end_time"}, r.content
    r = api.patch(f"events/{event.pk}", {"title": None}, **match(event.version))
    assert r.status_code == 422 and error_fields(r) == {"title"}


def test_roles_and_missing_objects(agency: Agency, carol: Any, oscar: Any, api_as: Any) -> None:
    event = agency.event()
    viewer = api_as(carol)
    assert viewer.get(f"events/{event.pk}").status_code == 200
    assert viewer.post("events", NEW_EVENT).status_code == 403
    assert viewer.post(f"events/{event.pk}/cancel", **match(event.version)).status_code == 403
    assert api_as(oscar).get("events").status_code == 403
    for raw in ("99999999999999999999", "0", "abc"):
        assert viewer.get(f"events/{raw}").status_code in (404, 422), raw
    from crewcall.events.services import event_create

    template = event_create(
        actor=agency.actor,
        title="T",
        start_time=time(9),
        hourly_rate=Decimal(1),
        employees_needed=1,
        is_template=True,
    )
    assert viewer.get(f"events/{template.pk}").status_code == 404


def test_the_detail_summarises_work_areas_placements_and_invitations(
    agency: Agency, carol: Any, api_as: Any
) -> None:
    from crewcall.staffing.placement import assignment_create
    from crewcall.staffing.services import invitation_create

    event = agency.event(employees_needed=3, employees_to_ask=4)
    bar = agency.area(event, "Bar", capacity=3)
    agency.area(event, "Door", capacity=2)
    placed = agency.accepted(event, agency.employee("Ada"))
    assignment_create(
        actor=agency.actor, invitation_id=placed.pk, work_area_id=bar.pk, role_id=agency.bartender.pk
    )
    invitation_create(actor=agency.actor, event_id=event.pk, employee_id=agency.employee("Ben").pk)
    other = agency.event("Other")
    agency.area(other, "Bar", capacity=9)
    summary = api_as(carol).get(f"events/{event.pk}").json()["summary"]
    assert (summary["work_areas"], summary["capacity"], summary["assigned"]) == (2, 5, 1)
    assert (summary["invitations"]["accepted"], summary["invitations"]["asked"]) == (1, 1)
    assert sum(summary["invitations"].values()) == 2


def test_the_list_costs_the_same_queries_for_3_rows_as_for_60(
    agency: Agency, carol: Any, api_as: Any
) -> None:
    api = api_as(carol)

    def queries() -> int:
        api.get("events?limit=1")  # warm up anything cached per process
        with CaptureQueriesContext(connection) as captured:
            r = api.get("events?limit=200")
        assert r.status_code == 200
        return len(captured)

    for i in range(3):
        agency.event(f"E{i}", status="draft")
    few = queries()
    for i in range(3, 60):
        agency.event(f"E{i}", status="draft")
    assert len(api.get("events?limit=200").json()["items"]) == 60
    assert queries() == few


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_address_is_a_problem_404_for_every_method(bob: Any, api_as: Any, method: str) -> None:
    for api in (api_as(bob), Api()):
        r = api.call(method, "no-such-thing/1", {"a": 1} if method != "get" else None)
        assert r.status_code == 404, (method, r.content)
        assert r["Content-Type"] == "application/problem+json"


def test_an_event_out_of_range_is_refused_by_the_database_too(agency: Agency) -> None:
    """Pages and jobs write through the same service: the bound is the database's."""
    from crewcall.core.errors import RuleViolation
    from crewcall.events.services import event_create

    with pytest.raises(RuleViolation) as refused:
        event_create(
            actor=agency.actor, title="Far", event_date=date(9999, 12, 31),
            start_time=time(18), hourly_rate=Decimal("15"), employees_needed=1,
        )  # fmt: skip
    assert refused.value.constraint == "events_event__event_date__in_range"
    assert refused.value.errors == {"event_date": ["Years 1900 to 2999 only."]}
